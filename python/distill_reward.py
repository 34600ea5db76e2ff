"""Rewards for TRL's and verl's GRPO, computed by `distill reward-server`.

The Go GRPO, `distill eval` and these engines judge answers with one set of
verifiers: this file only sends completions to the reward server
(POST /v1/rewards) and hands back its scores. Standard library only.

The server's URL comes from the url argument, else DISTILL_REWARD_URL, else
http://127.0.0.1:8377 (`distill reward-server`'s default address).

TRL (GRPOTrainer(reward_funcs=...)):

    from distill_reward import trl_reward_funcs
    funcs = trl_reward_funcs(["accuracy", "format"], max_tokens=args.max_completion_length)
    trainer = GRPOTrainer(..., reward_funcs=funcs)   # weights: GRPOConfig(reward_weights=[1.0, 0.2])

The dataset needs a `reference` column (the reference answer) and may have a
`task` column (which verifier judges it: math, gsm8k, choice, builtin:arith).

verl (custom_reward_function.path=.../distill_reward.py, name=compute_score):
compute_score(data_source, solution_str, ground_truth, extra_info) returns
the accuracy reward, or the weighted sum of `rewards` when
custom_reward_function.reward_kwargs sets it; extra_info's `task` and
`question` (written by `distill export verl`) pick the verifier and the
prompt's language.
"""

import json
import os
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8377"
TIMEOUT_S = 300


class RewardServerError(RuntimeError):
    """The reward server refused a request or could not be reached."""


def server_url(url=None):
    """The reward server's base URL: url, else $DISTILL_REWARD_URL, else the default."""
    return (url or os.environ.get("DISTILL_REWARD_URL") or DEFAULT_URL).rstrip("/")


def score(items, rewards=None, url=None):
    """POSTs items (dicts with prompt, completion, reference, task,
    finish_reason, completion_tokens, max_tokens) to /v1/rewards with the
    weights in rewards (name -> weight; None: the server's default, accuracy)
    and returns the server's answer: {"rewards": {name: [...]}, "total": [...]}."""
    base = server_url(url)
    body = {"items": items}
    if rewards:
        body["rewards"] = {str(k): float(v) for k, v in rewards.items()}
    req = urllib.request.Request(
        base + "/v1/rewards",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        raw = e.read().decode("utf-8", "replace")
        try:
            msg = json.loads(raw)["error"]
        except (ValueError, KeyError, TypeError):
            msg = raw.strip() or e.reason
        raise RewardServerError(f"distill reward-server {base}: {e.code}: {msg}") from None
    except urllib.error.URLError as e:
        raise RewardServerError(
            f"distill reward-server {base} unreachable ({e.reason}): start `distill reward-server` "
            "or set DISTILL_REWARD_URL"
        ) from None


def _prompt_text(p):
    """The problem of a TRL prompt: the string, or in a conversational
    dataset the last user message."""
    if isinstance(p, str):
        return p
    users = [m["content"] for m in p if m.get("role") == "user"]
    return users[-1] if users else ""


def _completion_text(c):
    """The text of a TRL completion: the string, or in a conversational
    dataset the assistant's messages, with reasoning that TRL's response
    parser split off (reasoning_content, or thinking) put back in R1's
    <think> block so that the format reward sees what the model wrote."""
    if isinstance(c, str):
        return c
    parts = []
    for m in c:
        if m.get("role") != "assistant":
            continue
        reasoning = m.get("reasoning_content") or m.get("thinking")
        if reasoning:
            parts.append("<think>\n" + reasoning + "\n</think>\n\n")
        parts.append(m.get("content") or "")
    return "".join(parts)


def trl_reward_funcs(names=("accuracy",), max_tokens=0, url=None, completion_prefix=""):
    """One function per reward name with TRL's reward signature
    f(prompts, completions, **kwargs) -> list[float], named after the reward
    so that TRL logs it as rewards/<name>. kwargs must hold the dataset's
    `reference` column, may hold `task`, and `completion_ids` gives the
    token counts. max_tokens is GRPOConfig.max_completion_length: with it, a
    completion of that many tokens counts as cut off (finish_reason length)
    and the length reward knows its budget; 0 leaves both unknown.
    completion_prefix is what the generation prompt already opened (the
    "<think>\n" of DeepSeek-R1's template), put back before scoring as the
    Go GRPO does."""

    def make(name):
        def reward_func(prompts, completions, **kwargs):
            refs = kwargs.get("reference")
            if refs is None:
                raise ValueError(
                    f"distill_reward {name}: the dataset has no `reference` column (the reference answers)"
                )
            tasks = kwargs.get("task") or [""] * len(completions)
            ids = kwargs.get("completion_ids")
            items = []
            for i, (p, c) in enumerate(zip(prompts, completions)):
                n = len(ids[i]) if ids is not None else 0
                items.append(
                    {
                        "prompt": _prompt_text(p),
                        "completion": completion_prefix + _completion_text(c),
                        "reference": "" if refs[i] is None else str(refs[i]),
                        "task": tasks[i] or "",
                        "finish_reason": "length" if max_tokens and n >= max_tokens else "stop",
                        "completion_tokens": n,
                        "max_tokens": max_tokens,
                    }
                )
            return score(items, {name: 1.0}, url)["rewards"][name]

        reward_func.__name__ = name
        reward_func.__qualname__ = name
        return reward_func

    return [make(n) for n in names]


def compute_score(data_source, solution_str, ground_truth, extra_info=None, rewards=None, url=None):
    """verl's custom_reward_function: the reward of one decoded response.
    rewards (name -> weight, from custom_reward_function.reward_kwargs)
    defaults to accuracy alone; url overrides DISTILL_REWARD_URL."""
    info = extra_info or {}
    item = {
        "prompt": str(info.get("question") or ""),
        "completion": solution_str,
        "reference": "" if ground_truth is None else str(ground_truth),
        "task": str(info.get("task") or ""),
    }
    return float(score([item], rewards, url)["total"][0])

"""Test helper for distill/reward_server_test.go: calls a running
`distill reward-server` (DISTILL_REWARD_URL) through distill_reward.py the
way TRL and verl do, and prints what came back as one JSON object."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import distill_reward  # noqa: E402

THINK_RIGHT = "<think>\n2 + 3 = 5\n</think>\n\n\\boxed{5}"
THINK_WRONG = "<think>\n2 + 3 = 6\n</think>\n\n\\boxed{6}"


def main():
    out = {}
    accuracy, fmt, length = distill_reward.trl_reward_funcs(["accuracy", "format", "length"], max_tokens=8)
    out["names"] = [f.__name__ for f in (accuracy, fmt, length)]

    # Plain-text dataset: right, wrong, unparseable reference.
    prompts = ["What is 2 + 3?"] * 3
    completions = [THINK_RIGHT, THINK_WRONG, THINK_RIGHT]
    kwargs = {
        "reference": ["5", "5", "five-ish"],
        "task": ["builtin:arith"] * 3,
        "completion_ids": [[1] * 4, [1] * 4, [1] * 8],
        "trainer_state": None,
    }
    out["trl_accuracy"] = accuracy(prompts, completions, **kwargs)
    out["trl_format"] = fmt(prompts, completions, **kwargs)
    out["trl_length"] = length(prompts, completions, **kwargs)

    # Conversational dataset, reasoning split off by TRL's response parser.
    conv_prompts = [[{"role": "user", "content": "What is 2 + 3?"}]] * 2
    conv_completions = [
        [{"role": "assistant", "reasoning_content": "2 + 3 = 5", "content": "\\boxed{5}"}],
        [{"role": "assistant", "content": "<think>\n2 + 3 = 6\n</think>\n\n\\boxed{6}"}],
    ]
    conv_kwargs = {"reference": ["5", "5"], "task": ["builtin:arith"] * 2}
    out["trl_conv_accuracy"] = accuracy(conv_prompts, conv_completions, **conv_kwargs)
    out["trl_conv_format"] = fmt(conv_prompts, conv_completions, **conv_kwargs)

    # verl's custom_reward_function.
    info = {"split": "train", "index": 0, "task": "builtin:arith", "question": "What is 2 + 3?"}
    out["verl"] = [
        distill_reward.compute_score("builtin:arith", THINK_RIGHT, "5", info),
        distill_reward.compute_score("builtin:arith", THINK_WRONG, "5", info),
        distill_reward.compute_score("builtin:arith", THINK_RIGHT, "five-ish", info),
        distill_reward.compute_score("math", "\\boxed{\\frac{1}{2}}", "0.5"),
    ]
    out["verl_weighted"] = distill_reward.compute_score(
        "builtin:arith", THINK_RIGHT, "5", info, rewards={"accuracy": 1, "format": 0.2}
    )

    # Errors carry the server's message.
    try:
        distill_reward.score([{"completion": "x"}], {"acuracy": 1})
        out["error"] = None
    except distill_reward.RewardServerError as e:
        out["error"] = str(e)
    try:
        accuracy(prompts[:1], completions[:1])
        out["missing_reference"] = None
    except ValueError as e:
        out["missing_reference"] = str(e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

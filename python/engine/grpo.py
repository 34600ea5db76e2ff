"""GRPO with TRL's GRPOTrainer, rewarded by distill's own reward functions:
the job `distill rl --engine trl` writes and launches.

    accelerate launch --config_file accelerate.yaml grpo.py --config config.yaml

Rewards come from `distill reward-server` (started by launch.sh) through
distill_reward.py, so the Go GRPO, this job and `distill eval` judge
answers with one verifier. Generation uses vLLM (colocated) where it is
installed and asked for, else transformers' generate.
"""
import importlib.util
from dataclasses import dataclass, field

from distill_engine import DistillArguments, Progress, emit, last_checkpoint, load_model, publish
from distill_reward import trl_reward_funcs
from trl import GRPOConfig, GRPOTrainer, ModelConfig, TrlParser, get_peft_config


@dataclass
class RewardArguments:
    prompts_file: str = field(default="", metadata={"help": "JSONL of prompt (chat list), reference and task"})
    rewards: list[str] = field(default_factory=lambda: ["accuracy"], metadata={"help": "distill reward names, in reward_weights' order"})


def main(dist_args, reward_args, training_args, model_args):
    from datasets import load_dataset

    if training_args.use_vllm and importlib.util.find_spec("vllm") is None:
        emit("log", message="vLLM is not installed: generating with transformers")
        training_args.use_vllm = False
    model, tokenizer = load_model(model_args, dist_args)
    ds = load_dataset("json", data_files=reward_args.prompts_file, split="train")
    # Templates that open the reasoning in the generation prompt (DeepSeek-R1's
    # "<think>\n") leave it out of the completion; the rewards see it, as the
    # Go GRPO's do.
    probe = tokenizer.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True)
    opened = "<think>\n" if probe.endswith("<think>\n") else ""
    trainer = GRPOTrainer(
        model=model,
        args=training_args,
        train_dataset=ds,
        processing_class=tokenizer,
        reward_funcs=trl_reward_funcs(reward_args.rewards, max_tokens=training_args.max_completion_length, completion_prefix=opened),
        peft_config=get_peft_config(model_args),
        callbacks=[Progress()],
    )
    resume = last_checkpoint(training_args.output_dir) if dist_args.resume else None
    trainer.train(resume_from_checkpoint=resume)
    publish(trainer, tokenizer, dist_args, model_args.use_peft)
    emit("done", out=dist_args.final_dir)


if __name__ == "__main__":
    parser = TrlParser((DistillArguments, RewardArguments, GRPOConfig, ModelConfig))
    main(*parser.parse_args_and_config())

"""Supervised fine-tuning with TRL's SFTTrainer on distill's Parquet shards:
the job `distill train --engine trl` writes and launches.

    accelerate launch --config_file accelerate.yaml sft.py --config config.yaml

config.yaml holds TRL's own keys (SFTConfig and ModelConfig, as `trl sft`
and open-r1's recipes spell them) and distill's (DistillArguments). The loss
is on the assistant turns only (assistant_only_loss with a chat template
that marks them with {% generation %}), as distill's Go trainer computes it;
shards with a text column instead of messages are language modelling, every
token trained on and the tokenizer's EOS appended, as in the Go trainer.
"""

from distill_engine import DistillArguments, Progress, dump_labels, emit, last_checkpoint, load_model, load_shards, publish, row_column
from trl import ModelConfig, SFTConfig, SFTTrainer, TrlParser, get_peft_config


def main(dist_args, training_args, model_args):
    model, tokenizer = load_model(model_args, dist_args)
    column = row_column(dist_args.data_mixture)
    ds = load_shards(dist_args.data_mixture, [column])
    if column == "text":
        training_args.assistant_only_loss = False
        training_args.dataset_text_field = "text"
    if "test" not in ds:
        training_args.eval_strategy = "no"  # the test shards hold no row
    peft_config = get_peft_config(model_args)
    trainer = SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=ds["train"],
        eval_dataset=ds.get("test") if training_args.eval_strategy != "no" else None,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[Progress()],
    )
    if dist_args.dump_labels:
        dump_labels(trainer, dist_args.dump_labels)
        return
    resume = last_checkpoint(training_args.output_dir) if dist_args.resume else None
    if dist_args.resume and resume is None:
        emit("log", message=f"no checkpoint in {training_args.output_dir}: starting from the beginning")
    trainer.train(resume_from_checkpoint=resume)
    publish(trainer, trainer.processing_class, dist_args, peft_config is not None)
    emit("done", out=dist_args.final_dir)


if __name__ == "__main__":
    parser = TrlParser((DistillArguments, SFTConfig, ModelConfig))
    main(*parser.parse_args_and_config())

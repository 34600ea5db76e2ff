package verl

import (
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// scriptVars fill run_grpo.sh.
type scriptVars struct {
	Model, RewardAddr, Rewards, LR, Beta, Temperature string
	BatchSize, MaxNewTokens, NumGenerations           int
	UseKL                                             bool
}

// microBatch is verl's per-GPU micro-batch for the actor, the rollout's
// and the reference's log-probabilities, which it requires to be set.
const microBatch = 4

var scriptTemplate = template.Must(template.New("run_grpo.sh").Parse(`#!/usr/bin/env bash
# GRPO with verl on the prompts in this directory (train.parquet, test.parquet),
# written by ` + "`distill export verl`" + `. The rewards are distill's: ` + "`distill reward-server`" + ` is
# started first and stopped at the end, and verl asks it through distill_reward.py
# (custom_reward_function).
#
#   MODEL=HF_DIR_OR_ID ./run_grpo.sh [more verl overrides, appended last]
#
# Environment: MODEL (the checkpoint to train), DISTILL (the distill binary),
# REWARD_ADDR (where the reward server listens), N_GPUS, NNODES, EPOCHS.
# The reward function's keys are those of verl's documentation up to 0.7
# (custom_reward_function.*); later releases read reward.custom_reward_function.*:
# run those with REWARD_CFG=reward.custom_reward_function.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
MODEL=${MODEL:-{{.Model}}}
: "${MODEL:?set MODEL to the checkpoint to train (an HF directory or hub id)}"
DISTILL=${DISTILL:-distill}
REWARD_ADDR=${REWARD_ADDR:-{{.RewardAddr}}}
REWARD_CFG=${REWARD_CFG:-custom_reward_function}
export DISTILL_REWARD_URL="http://$REWARD_ADDR"

"$DISTILL" reward-server --addr "$REWARD_ADDR" &
reward_pid=$!
trap 'kill "$reward_pid" 2>/dev/null || true' EXIT
until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=1)' "$DISTILL_REWARD_URL" 2>/dev/null; do
	kill -0 "$reward_pid" 2>/dev/null || { echo "run_grpo.sh: distill reward-server did not start at $REWARD_ADDR" >&2; exit 1; }
	sleep 0.2
done

python3 -m verl.trainer.main_ppo \
	algorithm.adv_estimator=grpo \
	algorithm.use_kl_in_reward=False \
	data.train_files="$here/train.parquet" \
	data.val_files="$here/test.parquet" \
	data.train_batch_size={{.BatchSize}} \
	data.max_response_length={{.MaxNewTokens}} \
	data.filter_overlong_prompts=True \
	actor_rollout_ref.model.path="$MODEL" \
	actor_rollout_ref.actor.optim.lr={{.LR}} \
	actor_rollout_ref.actor.ppo_mini_batch_size={{.BatchSize}} \
	actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=` + strconv.Itoa(microBatch) + ` \
	actor_rollout_ref.actor.use_kl_loss={{if .UseKL}}True{{else}}False{{end}} \
	actor_rollout_ref.actor.kl_loss_coef={{.Beta}} \
	actor_rollout_ref.actor.kl_loss_type=low_var_kl \
	actor_rollout_ref.rollout.name=vllm \
	actor_rollout_ref.rollout.n={{.NumGenerations}} \
	actor_rollout_ref.rollout.temperature={{.Temperature}} \
	actor_rollout_ref.rollout.tensor_model_parallel_size=1 \
	actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=` + strconv.Itoa(microBatch) + ` \
	actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=` + strconv.Itoa(microBatch) + ` \
	"$REWARD_CFG.path=$here/distill_reward.py" \
	"$REWARD_CFG.name=compute_score" \
	"++$REWARD_CFG.reward_kwargs.url='$DISTILL_REWARD_URL'" \
	"++$REWARD_CFG.reward_kwargs.rewards={{.Rewards}}" \
	'trainer.logger=[console]' \
	trainer.n_gpus_per_node="${N_GPUS:-1}" \
	trainer.nnodes="${NNODES:-1}" \
	trainer.total_epochs="${EPOCHS:-1}" \
	trainer.default_local_dir="$here/checkpoints" \
	"$@"
`))

// writeScript writes run_grpo.sh for job, with batch prompts per step.
func writeScript(w io.Writer, job Job, batch int) error {
	return scriptTemplate.Execute(w, scriptVars{
		Model:          shellQuote(job.Model),
		RewardAddr:     shellQuote(job.RewardAddr),
		Rewards:        hydraDict(job.Rewards),
		LR:             formatFloat(job.LR),
		Beta:           formatFloat(job.Beta),
		Temperature:    formatFloat(job.Temperature),
		BatchSize:      batch,
		MaxNewTokens:   job.MaxNewTokens,
		NumGenerations: job.NumGenerations,
		UseKL:          job.Beta != 0,
	})
}

// hydraDict writes weights as a Hydra dictionary, {accuracy:1,format:0.2}.
func hydraDict(ws map[string]float64) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(ws)) {
		parts = append(parts, name+":"+formatFloat(ws[name]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// shellQuote quotes s for bash inside ${VAR:-…}; an empty s stays empty.
func shellQuote(s string) string {
	if s == "" {
		return ""
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

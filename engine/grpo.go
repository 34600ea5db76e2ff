package engine

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"sort"

	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/student/rl"
)

// PromptsFile is the GRPO job's prompt set: one JSON object a line with
// prompt (a chat list), reference and task, as TRL passes dataset columns
// to reward functions.
const PromptsFile = "prompts.jsonl"

// GRPO is the TRL job of a `distill rl` run with the options o on prompts
// (each sent as rl.UserMessage(o.UserTemplate, p)). distillBin is the
// distill binary the job starts `reward-server` with, so that the engine
// is rewarded by distill's own functions. One update is one sampled batch
// of o.PromptsPerStep prompts × o.NumGenerations completions, as in the Go
// GRPO; options TRL has no key for are refused when set.
func GRPO(o rl.Options, prompts []record.Prompt, distillBin string, res Resources) (*Job, error) {
	if o.Model == "" || o.Out == "" {
		return nil, fmt.Errorf("--model and --out are required")
	}
	switch {
	case o.MaxTime > 0:
		return nil, fmt.Errorf("--max-time %w (use --max-steps)", ErrUnmapped)
	case o.SeqLen > 0:
		return nil, fmt.Errorf("--seq-len %w (TRL bounds the completion with --max-new-tokens)", ErrUnmapped)
	case o.DynamicSampling:
		return nil, fmt.Errorf("--dynamic-sampling %w (TRL's GRPOTrainer trains on every sampled group)", ErrUnmapped)
	}
	peft, err := peftKeys(o.LoRARank, o.LoRAAlpha, o.LoRATargets)
	if err != nil {
		return nil, err
	}
	modelPath, tmpl, err := resolveStudent(o.Model, "", "")
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	completions := o.PromptsPerStep * o.NumGenerations
	perUpdate := o.MicroBatch * res.Processes()
	if o.MicroBatch < 1 || completions%perUpdate != 0 {
		return nil, fmt.Errorf("--prompts-per-step %d × --num-generations %d = %d completions an update must be a multiple of --micro-batch %d × %d processes",
			o.PromptsPerStep, o.NumGenerations, completions, o.MicroBatch, res.Processes())
	}
	names := make([]string, 0, len(o.Rewards))
	for n := range o.Rewards {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		names = []string{"accuracy"}
	}
	weights := make([]float64, len(names))
	for i, n := range names {
		weights[i] = cmp.Or(o.Rewards[n], 1)
		if _, err := reward.Lookup(n); err != nil {
			return nil, fmt.Errorf("--reward: %w", err)
		}
	}
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	enc.SetEscapeHTML(false)
	for _, p := range prompts {
		row := map[string]any{
			"prompt":    []map[string]string{{"role": "user", "content": rl.UserMessage(o.UserTemplate, p)}},
			"reference": p.Answer,
			"task":      p.Task,
			"prompt_id": p.ID,
		}
		if err := enc.Encode(row); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(out, "job")
	cpu := res.GPUsPerNode == 0
	c := baseConfig(modelPath, out, dir, cpu, o.Resume)
	for k, v := range map[string]any{
		"prompts_file":   filepath.Join(dir, PromptsFile),
		"rewards":        names,
		"reward_weights": weights,

		"num_generations":             o.NumGenerations,
		"per_device_train_batch_size": o.MicroBatch,
		"gradient_accumulation_steps": completions / perUpdate,
		"max_completion_length":       o.MaxNewTokens,
		"temperature":                 o.Temperature,
		"top_p":                       o.TopP,
		"beta":                        o.Beta,
		"gradient_checkpointing":      o.GradientCheckpointing,
		"epsilon":                     o.Epsilon,
		"num_iterations":              o.NumIterations,
		"scale_rewards":               o.ScaleRewards,
		// The Go GRPO averages over every completion token of the batch.
		"loss_type":        "dapo",
		"learning_rate":    o.LR,
		"warmup_steps":     o.WarmupSteps,
		"weight_decay":     o.WeightDecay,
		"max_grad_norm":    o.MaxGradNorm,
		"max_steps":        cmp.Or(o.MaxSteps, -1),
		"num_train_epochs": 1,
		"seed":             int64(o.Seed),
		"save_steps":       o.SaveEvery,
		"save_total_limit": cmp.Or(o.KeepCheckpoints, rl.Defaults.KeepCheckpoints),
		"use_vllm":         !cpu,
		"vllm_mode":        "colocate",
	} {
		c[k] = v
	}
	maps.Copy(c, peft)
	if err := setSchedule(c, o.Schedule, o.MinLRRatio); err != nil {
		return nil, err
	}
	if o.EpsilonHigh > 0 {
		c["epsilon_high"] = o.EpsilonHigh
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return &Job{
		Kind: "grpo", Dir: dir, Out: out, Data: []string{dir}, Config: c, Template: tmpl, Res: res,
		Env:        map[string]string{"DISTILL_REWARD_URL": "http://" + addr},
		Server:     fmt.Sprintf(`"${DISTILL:-%s}" reward-server --addr %s`, distillBin, addr),
		ServerPort: port,
		Extra:      map[string][]byte{PromptsFile: lines.Bytes()},
	}, nil
}

// freePort is a loopback port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("engine job: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

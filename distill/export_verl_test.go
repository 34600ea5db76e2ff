package distill

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
)

// TestExportVerl writes a job from a builtin suite and reads it back: the
// Parquet files with pyarrow against verl's documented schema, the reward
// function byte for byte, run_grpo.sh with bash -n and for its overrides.
func TestExportVerl(t *testing.T) {
	py := repotest.Python(t)
	dir := t.TempDir()
	opts := ExportVerlOptions{RL: DefaultRLOptions(), Out: dir, TestFraction: 0.2, RewardAddr: "127.0.0.1:8399", Log: io.Discard}
	opts.RL.NumPrompts, opts.RL.Model, opts.RL.NumGenerations = 60, "Qwen/Qwen2.5-Math-1.5B", 4
	opts.RL.Rewards = map[string]float64{"accuracy": 1, "format": 0.2}
	res, err := runExportVerl(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Train+res.Test != 60 || res.Test == 0 || res.Train == 0 {
		t.Fatalf("%+v: want 60 prompts in two non-empty splits", res)
	}

	cmd := exec.Command(py, repotest.Path(t, "python/check_verl_parquet.py"), dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("check_verl_parquet.py: %v: %s", err, stderr.String())
	}
	type row struct {
		DataSource string `json:"data_source"`
		Prompt     []struct {
			Role, Content string
		} `json:"prompt"`
		Ability     string `json:"ability"`
		RewardModel struct {
			Style       string `json:"style"`
			GroundTruth string `json:"ground_truth"`
		} `json:"reward_model"`
		ExtraInfo struct {
			Split, Task, Question string
		} `json:"extra_info"`
	}
	var got map[string]struct {
		Rows  int `json:"rows"`
		First row `json:"first"`
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if got["train"].Rows != res.Train || got["test"].Rows != res.Test {
		t.Errorf("pyarrow read %d/%d rows, wrote %d/%d", got["train"].Rows, got["test"].Rows, res.Train, res.Test)
	}
	first := got["train"].First
	if first.DataSource != "builtin:arith" || first.Ability != "builtin:arith" || first.ExtraInfo.Task != "builtin:arith" ||
		!strings.HasPrefix(first.Prompt[0].Content, first.ExtraInfo.Question+"\nPlease reason step by step") {
		t.Errorf("first train row %+v: want the builtin:arith task and the r1 template around the question", first)
	}

	shim, err := os.ReadFile(filepath.Join(dir, "distill_reward.py"))
	if err != nil {
		t.Fatal(err)
	}
	if src, _ := os.ReadFile(repotest.Path(t, "python/distill_reward.py")); !bytes.Equal(shim, src) {
		t.Error("distill_reward.py differs from python/distill_reward.py")
	}

	script := filepath.Join(dir, "run_grpo.sh")
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n run_grpo.sh: %v: %s", err, out)
	}
	sh, _ := os.ReadFile(script)
	for _, want := range []string{
		"python3 -m verl.trainer.main_ppo",
		"algorithm.adv_estimator=grpo",
		`data.train_files="$here/train.parquet"`,
		`data.val_files="$here/test.parquet"`,
		`MODEL=${MODEL:-'Qwen/Qwen2.5-Math-1.5B'}`,
		`actor_rollout_ref.model.path="$MODEL"`,
		"actor_rollout_ref.rollout.n=4",
		`"$REWARD_CFG.path=$here/distill_reward.py"`,
		`"$REWARD_CFG.name=compute_score"`,
		"REWARD_CFG=${REWARD_CFG:-custom_reward_function}",
		`"++$REWARD_CFG.reward_kwargs.rewards={accuracy:1,format:0.2}"`,
		`REWARD_ADDR=${REWARD_ADDR:-'127.0.0.1:8399'}`,
		`"$DISTILL" reward-server --addr "$REWARD_ADDR" &`,
	} {
		if !strings.Contains(string(sh), want) {
			t.Errorf("run_grpo.sh lacks %s", want)
		}
	}
	if strings.Index(string(sh), "reward-server --addr") > strings.Index(string(sh), "verl.trainer.main_ppo") {
		t.Error("run_grpo.sh starts verl before the reward server")
	}
}

func TestExportVerlBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*ExportVerlOptions)
		msg  string
	}{
		{"no test split", func(o *ExportVerlOptions) { o.TestFraction = 0 }, "--test-fraction 0: want a share in (0, 1)"},
		{"unknown reward", func(o *ExportVerlOptions) { o.RL.Rewards = map[string]float64{"acuracy": 1} }, `--reward: rewards: reward "acuracy": unknown reward`},
		{"missing prompt file", func(o *ExportVerlOptions) { o.RL.Prompts = "no-such.jsonl" }, "--prompts: stat no-such.jsonl"},
		{"unknown template", func(o *ExportVerlOptions) { o.RL.Template = "r2" }, `--template: unknown template "r2"`},
		{"too few prompts for two splits", func(o *ExportVerlOptions) { o.RL.NumPrompts = 1 }, "--test-fraction: a test fraction of 0.1 puts"},
	} {
		o := ExportVerlOptions{RL: DefaultRLOptions(), Out: t.TempDir(), TestFraction: 0.1, Log: io.Discard}
		o.RL.NumPrompts = 10
		tc.edit(&o)
		_, err := runExportVerl(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", tc.name, err, tc.msg)
		}
	}
}

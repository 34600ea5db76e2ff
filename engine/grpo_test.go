package engine

import (
	"errors"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/student/rl"
	"github.com/distill-dev/distill/student/studenttest"
)

// --lora-rank, --lora-alpha and --lora-targets of `distill rl` become
// TRL's PEFT keys, which GRPO's own parser takes; a fractional alpha is
// refused as for SFT.
func TestGRPOMapsLoRA(t *testing.T) {
	o := rl.Defaults
	o.Model, o.Out = studenttest.Tiny(t, 1), t.TempDir()
	o.LoRARank, o.LoRAAlpha, o.LoRATargets = 4, 12, "q_proj,v_proj"
	res := Resources{Launcher: Local, Nodes: 1, GPUsPerNode: 0, Sharding: "deepspeed"}
	prompts := []record.Prompt{{ID: "p0", Problem: "What is 1 + 1?", Answer: "2", Task: "builtin:arith"}}
	j, err := GRPO(o, prompts, "/bin/true", res)
	if err != nil {
		t.Fatal(err)
	}
	c := j.Config
	if c["use_peft"] != true || c["lora_r"] != 4 || c["lora_alpha"] != 12 || !reflect.DeepEqual(c["lora_target_modules"], []string{"q_proj", "v_proj"}) {
		t.Errorf("PEFT keys: use_peft %v r %v alpha %v targets %v", c["use_peft"], c["lora_r"], c["lora_alpha"], c["lora_target_modules"])
	}
	if err := j.Write(); err != nil {
		t.Fatal(err)
	}
	script := `import sys; sys.path.insert(0, sys.argv[1])
from distill_engine import DistillArguments
from grpo import RewardArguments
from trl import GRPOConfig, ModelConfig, TrlParser
d, r, g, m = TrlParser((DistillArguments, RewardArguments, GRPOConfig, ModelConfig)).parse_args_and_config(["--config", sys.argv[2]])
assert m.use_peft and m.lora_r == 4 and m.lora_alpha == 12 and m.lora_target_modules == ["q_proj", "v_proj"], m`
	if out, err := exec.Command(repotest.Python(t), "-c", script, j.Dir, filepath.Join(j.Dir, ConfigFile)).CombinedOutput(); err != nil {
		t.Errorf("TrlParser on config.yaml: %v\n%s", err, out)
	}

	o.LoRAAlpha = 2.5
	if _, err := GRPO(o, prompts, "/bin/true", res); !errors.Is(err, ErrUnmapped) {
		t.Errorf("fractional --lora-alpha: err %v, want ErrUnmapped", err)
	}
	o.LoRAAlpha, o.DynamicSampling = 12, true
	if _, err := GRPO(o, prompts, "/bin/true", res); !errors.Is(err, ErrUnmapped) {
		t.Errorf("--dynamic-sampling: err %v, want ErrUnmapped", err)
	}
}

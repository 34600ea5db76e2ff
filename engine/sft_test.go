package engine

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/student/studenttest"
	"github.com/distill-dev/distill/student/train"
)

// sftKeys says, for every option of the Go trainer (by its config key),
// the TRL key it becomes, or why it needs none. A new trainer option fails
// this test until it is mapped or refused: none is dropped silently.
var sftKeys = map[string]string{
	"student": "model_name_or_path", "init": "model_name_or_path", "data": "data_mixture", "out": "final_dir",
	"epochs": "num_train_epochs", "max_steps": "max_steps", "lr": "learning_rate",
	"min_lr_ratio": "lr_scheduler_kwargs", "warmup_steps": "warmup_steps", "schedule": "lr_scheduler_type",
	"micro_batch": "per_device_train_batch_size", "grad_accum": "gradient_accumulation_steps",
	"seq_len": "max_length", "packing": "packing", "drop_long": "refused",
	"weight_decay": "weight_decay", "max_grad_norm": "max_grad_norm", "seed": "seed",
	"eval_every": "eval_steps", "save_every": "save_steps", "keep_checkpoints": "save_total_limit",
	"resume": "resume", "template": "chat_template_path",
	"lora_rank": "lora_r", "lora_alpha": "lora_alpha", "lora_targets": "lora_target_modules",
	"gradient_checkpointing":  "gradient_checkpointing",
	"max_position_embeddings": "max_position_embeddings", "rope_theta": "rope_theta",
}

func sftJob(t *testing.T, o train.Options) *Job {
	t.Helper()
	j, err := SFT(o, Resources{Launcher: Local, Nodes: 1, GPUsPerNode: 0, Sharding: "deepspeed"})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestSFTMapsEveryOption(t *testing.T) {
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "test-00000.parquet"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := train.Defaults
	o.Init, o.Data, o.Out = studenttest.Tiny(t, 1), train.Dir(dataDir), t.TempDir()
	o.LoRARank, o.LoRATargets, o.Resume = 8, "q_proj,v_proj", true
	c := sftJob(t, o).Config
	for _, key := range yamlKeys(reflect.TypeOf(train.Options{})) {
		trl, ok := sftKeys[key]
		switch {
		case !ok:
			t.Errorf("trainer option %q has no TRL mapping in sftKeys (map it in SFT or refuse it)", key)
		case trl == "refused":
		case c[trl] == nil:
			t.Errorf("option %q: TRL key %q missing from the job's config", key, trl)
		}
	}
	if c["lora_alpha"] != 16 || !reflect.DeepEqual(c["lora_target_modules"], []string{"q_proj", "v_proj"}) {
		t.Errorf("LoRA: alpha %v targets %v", c["lora_alpha"], c["lora_target_modules"])
	}
	if c["eval_strategy"] != "steps" || c["lr_scheduler_type"] != "cosine_with_min_lr" || c["assistant_only_loss"] != true {
		t.Errorf("eval %v schedule %v assistant_only_loss %v", c["eval_strategy"], c["lr_scheduler_type"], c["assistant_only_loss"])
	}
}

func TestSFTRefuses(t *testing.T) {
	base := train.Defaults
	base.Init, base.Data, base.Out = studenttest.Tiny(t, 1), train.Dir(t.TempDir()), t.TempDir()
	cases := []struct {
		name string
		edit func(*train.Options)
		want string
	}{
		{"drop-long", func(o *train.Options) { o.DropLong = true }, "--drop-long"},
		{"linear to a floor", func(o *train.Options) { o.Schedule = "linear" }, "--schedule linear"},
		{"fractional alpha", func(o *train.Options) { o.LoRARank, o.LoRAAlpha = 4, 2.5 }, "--lora-alpha"},
		{"cpu preset", func(o *train.Options) { o.Init, o.Student = "", "qwen-nano" }, "no published base"},
		{"unknown student", func(o *train.Options) { o.Init, o.Student = "", "nonsense" }, "--student"},
		{"bad targets", func(o *train.Options) { o.LoRATargets = "x_proj" }, "--lora-targets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.edit(&o)
			_, err := SFT(o, Resources{Launcher: Local, Nodes: 1, Sharding: "deepspeed"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
			if strings.HasPrefix(tc.name, "drop") && !errors.Is(err, ErrUnmapped) {
				t.Errorf("%v is not ErrUnmapped", err)
			}
		})
	}
}

// Presets stand for the bases the R1 report distils into.
func TestSFTPresetsArePublishedBases(t *testing.T) {
	for preset, want := range map[string]string{
		"qwen-1.5b": "Qwen/Qwen2.5-Math-1.5B", "qwen-7b": "Qwen/Qwen2.5-Math-7B", "qwen-14b": "Qwen/Qwen2.5-14B",
		"qwen-32b": "Qwen/Qwen2.5-32B", "llama-8b": "meta-llama/Llama-3.1-8B", "llama-70b": "meta-llama/Llama-3.3-70B-Instruct",
	} {
		o := train.Defaults
		o.Student, o.Data, o.Out = preset, train.Dir(t.TempDir()), t.TempDir()
		j := sftJob(t, o)
		if j.Config["model_name_or_path"] != want {
			t.Errorf("%s: model %v, want %s", preset, j.Config["model_name_or_path"], want)
		}
	}
}

// The written job is what its tools accept: TRL's parser reads config.yaml
// into SFTConfig and ModelConfig (no unknown key), the shell scripts parse,
// the YAML files load, and the cluster files ask for the resources given.
func TestJobFiles(t *testing.T) {
	for _, res := range []Resources{
		{Launcher: Local, Nodes: 1, GPUsPerNode: 0, Sharding: "deepspeed"},
		{Launcher: Slurm, Nodes: 4, GPUsPerNode: 8, Sharding: "deepspeed"},
		{Launcher: K8s, Nodes: 2, GPUsPerNode: 8, Sharding: "fsdp"},
	} {
		t.Run(string(res.Launcher), func(t *testing.T) {
			o := train.Defaults
			o.Init, o.Data, o.Out = studenttest.Tiny(t, 1), train.Dir(t.TempDir()), t.TempDir()
			o.LoRARank = 4
			j, err := SFT(o, res)
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Write(); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{LaunchFile, SlurmFile} {
				if out, err := exec.Command("bash", "-n", filepath.Join(j.Dir, f)).CombinedOutput(); err != nil {
					t.Errorf("bash -n %s: %v\n%s", f, err, out)
				}
			}
			read := func(name string) string {
				b, err := os.ReadFile(filepath.Join(j.Dir, name))
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			var acc map[string]any
			if err := yaml.Unmarshal([]byte(read(AccelerateFile)), &acc); err != nil {
				t.Fatal(err)
			}
			wantType := map[Launcher]string{Local: "NO", Slurm: "DEEPSPEED", K8s: "FSDP"}[res.Launcher]
			if acc["distributed_type"] != wantType || acc["num_processes"] != res.Processes() {
				t.Errorf("accelerate: %v × %v, want %s × %d", acc["distributed_type"], acc["num_processes"], wantType, res.Processes())
			}
			dec := yaml.NewDecoder(strings.NewReader(read(K8sFile)))
			for n := 0; ; n++ {
				var doc map[string]any
				if err := dec.Decode(&doc); err != nil {
					if n != 2 {
						t.Errorf("job.yaml: %d documents (%v), want a Service and a Job", n, err)
					}
					break
				}
			}
			req := read(RequirementsFile)
			for _, p := range []string{"trl==", "transformers==", "accelerate==", "torch==", "peft=="} {
				if !strings.Contains(req, p) {
					t.Errorf("requirements.txt lacks %s:\n%s", p, req)
				}
			}
			if strings.Contains(req, "deepspeed") != (res.Launcher == Slurm) {
				t.Errorf("requirements.txt and deepspeed:\n%s", req)
			}
			if res.Launcher == Slurm && !strings.Contains(read(SlurmFile), "#SBATCH --nodes=4") {
				t.Error("job.sbatch does not ask for 4 nodes")
			}
			// TRL's own parser takes every key of config.yaml (a GPU job's
			// bf16 is switched off: transformers checks it against this
			// machine).
			script := `import sys; sys.path.insert(0, sys.argv[1])
from distill_engine import DistillArguments
from trl import ModelConfig, SFTConfig, TrlParser
d, s, m = TrlParser((DistillArguments, SFTConfig, ModelConfig)).parse_args_and_config(["--config", sys.argv[2]] + sys.argv[3:])
assert s.assistant_only_loss and m.use_peft and m.lora_r == 4, (s, m)
print(s.max_length, s.learning_rate)`
			args := []string{"-c", script, j.Dir, filepath.Join(j.Dir, ConfigFile)}
			if res.GPUsPerNode > 0 {
				args = append(args, "--bf16", "false", "--use_cpu", "true")
			}
			cmd := exec.Command(repotest.Python(t), args...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("TrlParser on config.yaml: %v\n%s", err, out)
			}
		})
	}
}

// yamlKeys are the config keys of an options struct, those of its inline
// structs (the loop's shared options) included.
func yamlKeys(rt reflect.Type) []string {
	var keys []string
	for i := range rt.NumField() {
		f := rt.Field(i)
		key, opt, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case opt == "inline":
			keys = append(keys, yamlKeys(f.Type)...)
		case key != "" && key != "-":
			keys = append(keys, key)
		}
	}
	return keys
}

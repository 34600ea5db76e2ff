// Package engine hands distill's SFT and GRPO stages to an existing
// distributed engine, TRL with accelerate and DeepSpeed, for students too
// large for the Go trainer. It writes a complete, self-contained job (TRL's
// own config, an accelerate config, pinned requirements, launchers for one
// machine, Slurm and Kubernetes, and the Python that runs it), launches it
// locally when asked, and reads the engine's progress back as distill's
// metrics. It knows the mapping of distill's options to the engine's keys,
// not how the Go graph works.
//
// Of ours it may import only `dataset/reward`, `python`, `record`, `student`,
// `student/checkpoint`, `student/lora`, `student/model`, `student/rl`,
// `student/tokenizer`, `student/train` and `student/trainer`. Never
// student/graph: the engine does the computing.
package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/distill-dev/distill/python"
	"github.com/distill-dev/distill/student/tokenizer"
)

// Launcher says where a job runs.
type Launcher string

// The launchers.
const (
	Local Launcher = "local" // this machine, started and watched by distill
	Slurm Launcher = "slurm" // job.sbatch, submitted by the user
	K8s   Launcher = "k8s"   // job.yaml, applied by the user
)

// ParseLauncher checks a --launcher value.
func ParseLauncher(s string) (Launcher, error) {
	switch l := Launcher(s); l {
	case Local, Slurm, K8s:
		return l, nil
	}
	return "", fmt.Errorf("--launcher %q: want local, slurm or k8s", s)
}

// Resources are the machines a job asks for.
type Resources struct {
	Launcher    Launcher
	Nodes       int    // machines (1 for local)
	GPUsPerNode int    // 0: the CPU, one process
	Sharding    string // "deepspeed" (ZeRO-3) or "fsdp"; ignored on the CPU
}

func (r Resources) check() error {
	switch {
	case r.Nodes < 1:
		return fmt.Errorf("--nodes %d: want at least 1", r.Nodes)
	case r.GPUsPerNode < 0:
		return fmt.Errorf("--gpus-per-node %d: must not be negative", r.GPUsPerNode)
	case r.Launcher == Local && r.Nodes > 1:
		return fmt.Errorf("--nodes %d: the local launcher runs on one machine (use --launcher slurm or k8s)", r.Nodes)
	case r.GPUsPerNode == 0 && r.Nodes > 1:
		return fmt.Errorf("--nodes %d with --gpus-per-node 0: CPU jobs run on one machine", r.Nodes)
	}
	switch r.Sharding {
	case "deepspeed", "fsdp":
		return nil
	}
	return fmt.Errorf("--sharding %q: want deepspeed or fsdp", r.Sharding)
}

// Job is one engine job: what its files say and where they go.
type Job struct {
	Kind   string         // "sft" or "grpo": the script is Kind+".py"
	Dir    string         // OUT/job
	Out    string         // OUT: the final HF checkpoint
	Data   []string       // the dataset directories it reads
	Config map[string]any // config.yaml: TRL's keys and distill's, as the script's TrlParser reads them
	// Template is the chat template the student is trained with; the job
	// trains with its TrainingJinja and saves the model with its Jinja.
	Template *tokenizer.Template
	Res      Resources
	// Env is set for the engine's processes (the reward server's address).
	Env map[string]string
	// Server is a shell command each launcher keeps running in the
	// background while the engine runs (the reward server), and ServerPort
	// the loopback port it answers on before the engine starts; empty for
	// none.
	Server     string
	ServerPort int
	// Extra are more files of the job (the GRPO prompts), by name.
	Extra map[string][]byte
}

// Files under Job.Dir.
const (
	ConfigFile           = "config.yaml"
	AccelerateFile       = "accelerate.yaml"
	RequirementsFile     = "requirements.txt"
	LaunchFile           = "launch.sh"
	SlurmFile            = "job.sbatch"
	K8sFile              = "job.yaml"
	ReadmeFile           = "README.md"
	TemplateFile         = "chat_template.jinja"
	TrainingTemplateFile = "chat_template_training.jinja"
	LogFile              = "engine.log"
)

// Write writes the job's files into Dir. Every path inside them is
// absolute, so the job runs from any directory; rewriting an existing job
// (a resumed run) leaves the engine's checkpoints alone.
func (j *Job) Write() error {
	if err := j.Res.check(); err != nil {
		return err
	}
	if err := os.MkdirAll(j.Dir, 0o755); err != nil {
		return fmt.Errorf("engine job: %w", err)
	}
	cfg, err := yaml.Marshal(j.Config)
	if err != nil {
		return fmt.Errorf("engine job: %w", err)
	}
	acc, err := accelerateConfig(j.Res)
	if err != nil {
		return err
	}
	req, err := requirements(j.Res)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		ConfigFile:           append([]byte("# TRL "+j.Kind+" job written by distill; keys as TRL's TrlParser reads them.\n"), cfg...),
		AccelerateFile:       acc,
		RequirementsFile:     req,
		TemplateFile:         []byte(j.Template.Jinja),
		TrainingTemplateFile: []byte(j.Template.TrainingJinja),
	}
	for name, text := range map[string]string{LaunchFile: launchScript, SlurmFile: slurmScript, K8sFile: k8sManifest, ReadmeFile: readme} {
		b, err := render(name, text, j)
		if err != nil {
			return err
		}
		files[name] = b
	}
	for name, b := range j.Extra {
		files[name] = b
	}
	for _, name := range python.EngineScripts(j.Kind) {
		b, err := python.Files.ReadFile(name)
		if err != nil {
			return fmt.Errorf("engine job: %w", err)
		}
		files[filepath.Base(name)] = b
	}
	for name, b := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") || strings.HasSuffix(name, ".sbatch") {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(j.Dir, name), b, mode); err != nil {
			return fmt.Errorf("engine job: %w", err)
		}
	}
	return nil
}

// Processes is the number of training processes across all machines.
func (r Resources) Processes() int {
	return max(1, r.GPUsPerNode) * r.Nodes
}

package distill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/distill-dev/distill/engine"
)

// EngineOptions choose who trains a student: distill's Go trainer, or an
// existing GPU engine through a job distill writes (`train` and `rl`).
type EngineOptions struct {
	Engine      string `yaml:"engine" flag:"engine" usage:"go (distill's CPU trainer), trl (a TRL job with accelerate on GPUs) or auto (go when it fits this machine, else trl when GPUs are visible)"`
	Launcher    string `yaml:"launcher" flag:"launcher" usage:"with --engine trl: local (run it here), slurm (job.sbatch) or k8s (job.yaml)"`
	Nodes       int    `yaml:"nodes" flag:"nodes" usage:"with --engine trl: machines (slurm, k8s)"`
	GPUsPerNode int    `yaml:"gpus_per_node" flag:"gpus-per-node" usage:"with --engine trl: GPUs per machine (default: those visible here for local, 8 for slurm and k8s; 0: the CPU)"`
	Sharding    string `yaml:"sharding" flag:"sharding" usage:"with --engine trl on several GPUs: deepspeed (ZeRO-3) or fsdp"`
	DryRun      bool   `yaml:"dry_run" flag:"dry-run" usage:"with --engine trl: write the job into OUT/job and stop"`
}

var engineDefaults = EngineOptions{Engine: "go", Launcher: "local", Nodes: 1, GPUsPerNode: -1, Sharding: "deepspeed"}

// check refuses engine flags given with the Go trainer, which would
// otherwise be ignored.
func (e *EngineOptions) check() error {
	switch e.Engine {
	case "", "go": // "": options built in code without engine settings
		d := engineDefaults
		d.Engine = e.Engine
		if *e != d && *e != (EngineOptions{}) {
			return errors.New("--launcher, --nodes, --gpus-per-node, --sharding and --dry-run need --engine trl")
		}
	case "trl", "auto":
	default:
		return fmt.Errorf("--engine %q: want go, trl or auto", e.Engine)
	}
	return nil
}

func (e *EngineOptions) resources() (engine.Resources, error) {
	l, err := engine.ParseLauncher(e.Launcher)
	if err != nil {
		return engine.Resources{}, err
	}
	gpus := e.GPUsPerNode
	if gpus < 0 {
		gpus = 8
		if l == engine.Local {
			gpus = visibleGPUs()
		}
	}
	return engine.Resources{Launcher: l, Nodes: e.Nodes, GPUsPerNode: gpus, Sharding: e.Sharding}, nil
}

// visibleGPUs counts the NVIDIA GPUs this process may use.
func visibleGPUs() int {
	if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok {
		if v = strings.TrimSpace(v); v == "" || v == "-1" {
			return 0
		}
		return len(strings.Split(v, ","))
	}
	out, err := exec.Command("nvidia-smi", "-L").Output()
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "GPU ") {
			n++
		}
	}
	return n
}

// runEngine writes job and, unless it is a dry run or meant for a cluster,
// runs it here with a progress display.
func runEngine(ctx context.Context, job *engine.Job, e EngineOptions) error {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, job.Kind+" (trl): "+format+"\n", args...) }
	if err := job.Write(); err != nil {
		return err
	}
	switch {
	case e.DryRun:
		logf("job written to %s (see its README.md); --dry-run: not started", job.Dir)
		return nil
	case job.Res.Launcher == engine.Slurm:
		logf("job written to %s: submit it with sbatch %s/%s", job.Dir, job.Dir, engine.SlurmFile)
		return nil
	case job.Res.Launcher == engine.K8s:
		logf("job written to %s: start it with kubectl apply -f %s/%s", job.Dir, job.Dir, engine.K8sFile)
		return nil
	}
	var p *progress
	err := engine.Run(ctx, job, engine.RunOptions{
		Logf: logf,
		Step: func(m engine.Metric, total int) {
			if p == nil {
				p = newProgress(int64(total), job.Kind)
				p.Add(int64(m.Step() - 1))
			}
			status := fmt.Sprintf("loss %.4f lr %.2e %.0f tok/s", m["loss"], m["lr"], m["tokens_per_sec"])
			if r, ok := m["reward"]; ok {
				status = fmt.Sprintf("reward %.3f ", r) + status
			}
			if ev, ok := m["eval_loss"]; ok {
				status += fmt.Sprintf(" eval %.4f", ev)
			}
			p.SetStatus(status)
			p.Add(1)
		},
	})
	if p != nil {
		p.Finish()
	}
	if err != nil {
		return err
	}
	logf("model in %s; metrics in %s/metrics.jsonl", job.Out, job.Out)
	return nil
}

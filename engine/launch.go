package engine

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
)

// masterPort is where the first machine's rendezvous listens.
const masterPort = 29500

// image is the container the Kubernetes job starts from: PyTorch with the
// CUDA the pinned torch was built for; the job installs the rest.
const image = "pytorch/pytorch:2.11.0-cuda13.0-cudnn9-runtime"

// launchScript runs the job on one machine: what `distill train|rl
// --engine trl --launcher local` starts, and what a user starts by hand.
const launchScript = `#!/usr/bin/env bash
# {{.Kind}} job written by distill: runs it on this machine.
#   bash launch.sh                 # start
#   bash launch.sh --resume true   # continue from the last checkpoint
# PYTHON names the interpreter with requirements.txt installed.
set -euo pipefail
cd "$(dirname "$0")"
{{template "prelude" .}}
"$PYTHON" -m accelerate.commands.launch --config_file accelerate.yaml {{.Kind}}.py --config config.yaml "$@"
`

// slurmScript runs the job on Nodes machines; a requeued job continues from
// its last checkpoint.
const slurmScript = `#!/bin/bash
# {{.Kind}} job written by distill: sbatch job.sbatch
#SBATCH --job-name=distill-{{.Kind}}
#SBATCH --nodes={{.Job.Res.Nodes}}
#SBATCH --ntasks-per-node=1
#SBATCH --gres=gpu:{{.Job.Res.GPUsPerNode}}
#SBATCH --exclusive
#SBATCH --requeue
#SBATCH --output={{.Dir}}/slurm-%j.out
set -euo pipefail
cd {{.Dir}}
{{template "prelude" .}}
master=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
srun --kill-on-bad-exit=1 bash -c "\"$PYTHON\" -m accelerate.commands.launch --config_file accelerate.yaml \
  --num_machines $SLURM_NNODES --num_processes $((SLURM_NNODES * {{.Job.Res.GPUsPerNode}})) \
  --machine_rank \$SLURM_PROCID --main_process_ip $master --main_process_port {{.Port}} --rdzv_backend c10d \
  {{.Kind}}.py --config config.yaml --resume true"
`

// k8sManifest is an Indexed Job of Nodes pods behind a headless Service,
// so that pod 0 is reachable by name as the rendezvous; the volume claim
// distill-work must hold {{.Mount}} (the job, its data and its output).
const k8sManifest = `# {{.Kind}} job written by distill: kubectl apply -f job.yaml
# The PersistentVolumeClaim "distill-work" is mounted at {{.Mount}}, which
# must hold this job, its data and its output, at the same paths as here.
apiVersion: v1
kind: Service
metadata:
  name: distill-{{.Kind}}
spec:
  clusterIP: None
  selector:
    job-name: distill-{{.Kind}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: distill-{{.Kind}}
spec:
  completionMode: Indexed
  completions: {{.Job.Res.Nodes}}
  parallelism: {{.Job.Res.Nodes}}
  backoffLimitPerIndex: 3
  template:
    spec:
      subdomain: distill-{{.Kind}}
      restartPolicy: OnFailure
      containers:
        - name: engine
          image: {{.Image}}
          workingDir: {{.Dir}}
          env:
{{- range .EnvList}}
            - name: {{index . 0}}
              value: {{printf "%q" (index . 1)}}
{{- end}}
          command: ["bash", "-c"]
          args:
            - >-
              pip install -q -r requirements.txt &&
              {{- if .Job.Server}} ({{.Job.Server}} &) && sleep 2 && {{end}}
              python -m accelerate.commands.launch --config_file accelerate.yaml
              --num_machines {{.Job.Res.Nodes}} --num_processes {{.Job.Res.Processes}}
              --machine_rank $JOB_COMPLETION_INDEX
              --main_process_ip distill-{{.Kind}}-0.distill-{{.Kind}} --main_process_port {{.Port}}
              {{.Kind}}.py --config config.yaml --resume true
          resources:
            limits:
              nvidia.com/gpu: {{.Job.Res.GPUsPerNode}}
          volumeMounts:
            - name: work
              mountPath: {{.Mount}}
            - name: shm
              mountPath: /dev/shm
      volumes:
        - name: work
          persistentVolumeClaim:
            claimName: distill-work
        - name: shm
          emptyDir:
            medium: Memory
`

const readme = `# distill {{.Kind}} job

Written by distill for TRL ({{.Kind}}.py, config.yaml in TRL's own keys) with
accelerate ({{.Sharding}}). The final model goes to {{.Job.Out}} as a Hugging
Face checkpoint that distill eval, serve, rl and export read; the engine's
checkpoints go to {{index .Job.Config "output_dir"}}.

Install what it runs with (the versions distill's own checks use):

    pip install -r requirements.txt

Run it:

| where | start | continue after a stop |
|---|---|---|
| this machine | bash launch.sh | bash launch.sh --resume true |
| Slurm ({{.Job.Res.Nodes}} nodes × {{.Job.Res.GPUsPerNode}} GPUs) | sbatch job.sbatch | requeue or sbatch again: it always resumes |
| Kubernetes | kubectl apply -f job.yaml | delete and apply again: it always resumes |

distill train|rl --engine trl --launcher local runs launch.sh itself, shows
the progress and writes {{.Job.Out}}/metrics.jsonl; --resume continues.
The engine prints one "@distill {json}" line per logged update; engine.log
keeps everything it printed. chat_template_training.jinja is the model's chat
template with {% generation %} around the tokens the loss counts;
chat_template.jinja, without them, is saved with the final model.
`

// prelude is what both shell launchers do first: name the interpreter,
// export the job's environment, and start Job.Server in the background for
// the script's life, waiting (up to 30 s) until its port answers.
const prelude = `{{define "prelude"}}PYTHON="${PYTHON:-python3}"
{{- range .Exports}}
export {{.}}
{{- end}}
{{- if .Job.Server}}
{{.Job.Server}} &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/{{.Job.ServerPort}}) 2>/dev/null && break; sleep 0.1; done
{{- end}}{{end}}`

// render fills one of the texts above for j.
func render(name, text string, j *Job) ([]byte, error) {
	t, err := template.New(name).Parse(text + prelude)
	if err != nil {
		return nil, fmt.Errorf("engine job: %s: %w", name, err)
	}
	env := sortedEnv(j.Env)
	exports := make([]string, len(env))
	for i, kv := range env {
		exports[i] = kv[0] + "=" + shellQuote(kv[1])
	}
	sharding := j.Res.Sharding
	switch {
	case j.Res.GPUsPerNode == 0:
		sharding = "the CPU"
	case j.Res.Processes() == 1:
		sharding = "one GPU"
	}
	var b bytes.Buffer
	err = t.Execute(&b, map[string]any{
		"Job": j, "Kind": j.Kind, "Dir": j.Dir, "Exports": exports, "EnvList": env,
		"Port": masterPort, "Image": image, "Mount": commonDir(append([]string{j.Dir, j.Out}, j.Data...)...), "Sharding": sharding,
	})
	if err != nil {
		return nil, fmt.Errorf("engine job: %s: %w", name, err)
	}
	return b.Bytes(), nil
}

func sortedEnv(env map[string]string) [][2]string {
	out := make([][2]string, 0, len(env))
	for k, v := range env {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, k int) bool { return out[i][0] < out[k][0] })
	return out
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// commonDir is the deepest directory holding every path.
func commonDir(paths ...string) string {
	dir := filepath.Clean(paths[0])
	for _, p := range paths[1:] {
		p = filepath.Clean(p)
		for dir != "/" && p != dir && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			dir = filepath.Dir(dir)
		}
	}
	return dir
}

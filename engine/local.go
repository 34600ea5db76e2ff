package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/trainer"
)

// Metric is one line of OUT/metrics.jsonl: the Go trainer's keys (step,
// epoch, loss, eval_loss, lr, grad_norm, tokens, tokens_per_sec,
// elapsed_sec) and, for GRPO, the engine's reward and KL figures.
type Metric map[string]any

// Step returns the update number of m.
func (m Metric) Step() int {
	f, _ := m["step"].(float64)
	return int(f)
}

// RunOptions configure a local run.
type RunOptions struct {
	Python string // the interpreter with the job's requirements ("" finds one, see FindPython)
	// Step is called after each update the engine logs, with its planned
	// number of updates; nil for none.
	Step func(m Metric, total int)
	// Logf receives one-line messages; nil for none.
	Logf func(format string, args ...any)
}

// ErrEngineFailed is returned when the engine's processes exit non-zero.
var ErrEngineFailed = errors.New("engine failed")

// tailLines is how much of the engine's output a failure shows.
const tailLines = 20

// stopGrace is how long the engine has to stop after SIGTERM before the
// process group is killed.
const stopGrace = 10 * time.Second

// Run runs the job written in j.Dir on this machine with launch.sh: it
// shows the engine's progress through opts.Step, appends OUT/metrics.jsonl,
// keeps everything the engine prints in OUT/job/engine.log, and stops the
// whole process group when ctx is cancelled (the engine's last checkpoint
// stays for --resume).
func Run(ctx context.Context, j *Job, opts RunOptions) error {
	logf := func(format string, args ...any) {
		if opts.Logf != nil {
			opts.Logf(format, args...)
		}
	}
	py := opts.Python
	if py == "" {
		py = FindPython()
	}
	if strings.Contains(py, "/") {
		// launch.sh runs in the job's directory.
		if abs, err := filepath.Abs(py); err == nil {
			py = abs
		}
	}
	if err := CheckPython(ctx, py); err != nil {
		return err
	}
	// A distill killed outright (SIGKILL, a lost node) leaves its engine
	// running in its own process group; stop it before a rerun starts a
	// second one on the same checkpoints.
	pidPath := filepath.Join(j.Dir, pidFile)
	stopStale(pidPath, logf)
	logPath := filepath.Join(j.Dir, LogFile)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	defer logFile.Close()
	// Whether the engine resumes is in config.yaml (resume), as the run
	// that wrote the job asked.
	cmd := exec.Command("bash", filepath.Join(j.Dir, LaunchFile))
	cmd.Dir = j.Dir
	cmd.Env = append(os.Environ(), "PYTHON="+py, "PYTHONUNBUFFERED=1", "TOKENIZERS_PARALLELISM=false")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	logf("engine log: %s", logPath)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if err := os.WriteFile(pidPath, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return fmt.Errorf("engine: %w", err)
	}
	defer os.Remove(pidPath)
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			// The launcher, accelerate and its workers are one process
			// group: stop them all, then kill what is left.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-stopped:
			case <-time.After(stopGrace):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		case <-stopped:
		}
	}()
	readErr := make(chan error, 1)
	var tail []string
	go func() {
		readErr <- follow(pr, logFile, j.Out, opts.Step, func(line string) {
			tail = append(tail, line)
			if len(tail) > tailLines {
				tail = tail[1:]
			}
		})
	}()
	waitErr := cmd.Wait()
	close(stopped)
	pw.Close()
	rerr := <-readErr
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("engine stopped; its checkpoints are in %s (run again with --resume): %w",
			j.Config["output_dir"], ctx.Err())
	case waitErr != nil:
		return fmt.Errorf("%w (%v); its last %d lines (all in %s):\n%s", ErrEngineFailed, waitErr, len(tail), logPath, strings.Join(tail, "\n"))
	case rerr != nil:
		return rerr
	case !checkpoint.IsCheckpoint(j.Out):
		return fmt.Errorf("%w: it finished without a checkpoint in %s (see %s)", ErrEngineFailed, j.Out, logPath)
	}
	return nil
}

// marker starts the engine's progress lines (python/engine/distill_engine.py).
const marker = "@distill "

// follow reads the engine's output: "@distill {json}" lines are progress,
// every line goes to log, and the other lines to other.
func follow(r io.Reader, log io.Writer, out string, step func(Metric, int), other func(string)) error {
	var (
		metrics *trainer.MetricsLog[Metric]
		pending Metric // an update's line waits for its held-out loss
		total   int
	)
	flush := func() error {
		if pending == nil || metrics == nil {
			return nil
		}
		err := metrics.Write(pending)
		if step != nil {
			step(pending, total)
		}
		pending = nil
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	sc.Split(scanLines)
	var err error
	for sc.Scan() {
		line := sc.Bytes()
		if _, werr := log.Write(append(line, '\n')); werr != nil && err == nil {
			err = fmt.Errorf("engine log: %w", werr)
		}
		// A progress bar without a newline may precede the marker.
		i := bytes.Index(line, []byte(marker))
		if i < 0 {
			if s := strings.TrimSpace(string(line)); s != "" {
				other(s)
			}
			continue
		}
		var m Metric
		if json.Unmarshal(line[i+len(marker):], &m) != nil {
			other(string(line))
			continue
		}
		kind, _ := m["event"].(string)
		delete(m, "event")
		switch kind {
		case "begin":
			f, _ := m["max_steps"].(float64)
			total = int(f)
			// A resumed run redoes nothing before its checkpoint's step:
			// keep those lines, drop any logged after it.
			if metrics == nil {
				if metrics, err = trainer.OpenMetrics[Metric](filepath.Join(out, "metrics.jsonl"), m.Step()); err != nil {
					return fmt.Errorf("engine: %w", err)
				}
				defer metrics.Close()
			}
		case "step":
			if e := flush(); e != nil && err == nil {
				err = e
			}
			pending = m
		case "eval":
			if pending != nil && pending.Step() == m.Step() {
				pending["eval_loss"] = m["eval_loss"]
			}
		}
	}
	if e := flush(); e != nil && err == nil {
		err = e
	}
	if e := sc.Err(); e != nil && err == nil {
		err = fmt.Errorf("engine output: %w", e)
	}
	return err
}

// scanLines splits at \n and at \r, so that progress bars that redraw one
// line come through as lines.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// pidFile holds the process group of the engine a job runs, while it runs.
const pidFile = "engine.pid"

// stopStale kills the process group named in pidPath, left by a distill
// that died without stopping its engine, and waits until it is gone.
func stopStale(pidPath string, logf func(string, ...any)) {
	b, err := os.ReadFile(pidPath)
	if err != nil {
		return
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pgid <= 1 || syscall.Kill(-pgid, 0) != nil {
		os.Remove(pidPath)
		return
	}
	logf("engine: stopping the engine an interrupted run left running (process group %d)", pgid)
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(stopGrace); time.Now().Before(deadline) && syscall.Kill(-pgid, 0) == nil; {
		time.Sleep(50 * time.Millisecond)
	}
	os.Remove(pidPath)
}

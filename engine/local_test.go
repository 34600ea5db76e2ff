package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/student/studenttest"
	"github.com/distill-dev/distill/student/train"
)

// follow turns the engine's progress lines into metrics.jsonl lines with
// the Go trainer's keys, attaches a held-out loss to its update's line,
// finds markers behind progress bars, and passes everything else on.
func TestFollow(t *testing.T) {
	out := t.TempDir()
	engineOut := strings.Join([]string{
		`Loading checkpoint shards: 100%`,
		`@distill {"event":"begin","step":0,"max_steps":3}`,
		"  0%|          | 0/3 [00:00<?, ?it/s]\r 33%|███▎      | 1/3@distill {\"event\":\"step\",\"step\":1,\"epoch\":0,\"loss\":2.5,\"lr\":0.001,\"grad_norm\":1,\"tokens\":100,\"tokens_per_sec\":50,\"elapsed_sec\":2}",
		`@distill {"event":"step","step":2,"epoch":0,"loss":2.0,"lr":0.001,"grad_norm":1,"tokens":200,"tokens_per_sec":50,"elapsed_sec":4}`,
		`@distill {"event":"eval","step":2,"eval_loss":2.2}`,
		`@distill {"event":"save","step":2}`,
		`@distill {"event":"step","step":3,"epoch":1,"loss":1.5,"lr":0.0005,"grad_norm":1,"tokens":300,"tokens_per_sec":50,"elapsed_sec":6}`,
		`Traceback? no: just a warning`,
	}, "\n") + "\n"
	var log bytes.Buffer
	var other []string
	var steps []int
	err := follow(strings.NewReader(engineOut), &log, out, func(m Metric, total int) {
		if total != 3 {
			t.Errorf("total %d, want 3", total)
		}
		steps = append(steps, m.Step())
	}, func(s string) { other = append(other, s) })
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("metrics.jsonl:\n%s", b)
	}
	var m2 map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m2); err != nil {
		t.Fatal(err)
	}
	if m2["eval_loss"] != 2.2 || m2["loss"] != 2.0 || m2["event"] != nil {
		t.Errorf("step 2: %v", m2)
	}
	if len(steps) != 3 || steps[2] != 3 {
		t.Errorf("steps reported %v", steps)
	}
	if log.Len() < len(engineOut)-10 {
		t.Errorf("engine.log lost output: %d of %d bytes", log.Len(), len(engineOut))
	}
	if len(other) == 0 || other[len(other)-1] != "Traceback? no: just a warning" {
		t.Errorf("other lines %q", other)
	}
}

// runJob writes a CPU SFT job and replaces its launch.sh with script, so
// that Run's handling of the engine's process can be tested without
// training.
func runJob(t *testing.T, script string) *Job {
	t.Helper()
	o := train.Defaults
	o.Init, o.Data, o.Out = studenttest.Tiny(t, 1), train.Dir(t.TempDir()), t.TempDir()
	j := sftJob(t, o)
	if err := j.Write(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(j.Dir, LaunchFile), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return j
}

// A failing engine gives ErrEngineFailed with its last 20 lines; the whole
// output stays in engine.log.
func TestRunEngineFails(t *testing.T) {
	j := runJob(t, "for i in $(seq 1 30); do echo line $i; done; exit 3\n")
	err := Run(context.Background(), j, RunOptions{Python: repotest.Python(t)})
	if !errors.Is(err, ErrEngineFailed) {
		t.Fatalf("err = %v, want ErrEngineFailed", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "line 30") || !strings.Contains(msg, "line 11") || strings.Contains(msg, "line 10\n") {
		t.Errorf("want lines 11–30 in the error:\n%s", msg)
	}
	log, _ := os.ReadFile(filepath.Join(j.Dir, LogFile))
	if !strings.Contains(string(log), "line 1\n") {
		t.Errorf("engine.log lost the first line:\n%s", log)
	}
}

// Cancelling stops the whole process group, children included, and says
// how to resume.
func TestRunEngineStopsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	j := runJob(t, "sleep 300 & echo $! > "+pidFile+"\necho '@distill {\"event\":\"begin\",\"step\":0,\"max_steps\":5}'\nwait\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, j, RunOptions{Python: repotest.Python(t)}) }()
	var pid int
	for deadline := time.Now().Add(30 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if pid == 0 {
		t.Fatal("the job never started its child")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "--resume") {
			t.Errorf("err = %v, want context.Canceled and a word on --resume", err)
		}
	case <-time.After(stopGrace + 10*time.Second):
		t.Fatal("Run did not return after cancel")
	}
	// Killed: gone, or a zombie nobody reaped yet (state Z).
	time.Sleep(200 * time.Millisecond)
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if f := strings.Fields(string(b)); len(f) > 2 && f[2] != "Z" {
			t.Errorf("child %d of the engine still runs (state %s)", pid, f[2])
		}
	}
}

func TestCheckPython(t *testing.T) {
	err := CheckPython(context.Background(), filepath.Join(t.TempDir(), "no-python"))
	if !errors.Is(err, ErrNoPython) || !strings.Contains(err.Error(), "make setup") {
		t.Errorf("missing interpreter: %v", err)
	}
	// An interpreter without the engine's packages: a bare venv.
	bare := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command(repotest.Python(t), "-m", "venv", "--without-pip", bare).CombinedOutput(); err != nil {
		t.Fatalf("venv: %v\n%s", err, out)
	}
	err = CheckPython(context.Background(), filepath.Join(bare, "bin", "python"))
	if !errors.Is(err, ErrNoPython) || !strings.Contains(err.Error(), "lacks torch, transformers, trl") || !strings.Contains(err.Error(), "make setup") {
		t.Errorf("bare interpreter: %v", err)
	}
	if err := CheckPython(context.Background(), repotest.Python(t)); err != nil {
		t.Errorf("python/.venv: %v", err)
	}
}

// An engine left running by a distill that was killed outright is stopped,
// with its whole process group, before a rerun starts another.
func TestStopStaleEngine(t *testing.T) {
	cmd := exec.Command("bash", "-c", "sleep 60 & sleep 60; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	pidPath := filepath.Join(t.TempDir(), pidFile)
	if err := os.WriteFile(pidPath, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	stopStale(pidPath, t.Logf)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stale engine still runs")
	}
	if err := syscall.Kill(-cmd.Process.Pid, 0); err == nil {
		t.Error("a process of the stale engine's group still runs")
	}
	if _, err := os.Stat(pidPath); !os.IsNotExist(err) {
		t.Errorf("%s left behind", pidPath)
	}
}

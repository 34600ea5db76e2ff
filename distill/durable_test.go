package distill

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// durableChildEnv, when set, makes TestRenamesAreDurable run the workload
// into that directory instead of tracing it.
const durableChildEnv = "DISTILL_DURABLE_CHILD_OUT"

// Every file a small run renames into place survives a power cut: strace
// shows the temporary file fsynced before its rename and the directory
// fsynced after it, as the kernel sees them, not as the code hopes.
func TestRenamesAreDurable(t *testing.T) {
	if out := os.Getenv(durableChildEnv); out != "" {
		durableWorkload(t, out)
		return
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("strace not found (run `make setup`, which installs it)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	out, log := filepath.Join(tmp, "run"), filepath.Join(tmp, "strace.log")
	cmd := exec.Command(strace, "-f", "-qq", "-o", log,
		"-e", "trace=openat,open,fsync,fdatasync,rename,renameat,renameat2",
		exe, "-test.run=^TestRenamesAreDurable$", "-test.count=1")
	cmd.Env = append(os.Environ(), durableChildEnv+"="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("traced run: %v\n%s", err, b)
	}
	renames, err := checkDurableRenames(log, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"run.json", "results.md", "heldout.jsonl", "raw/manifest.json", "data/stats.json",
		"eval/base/results.json", "eval/base/samples.jsonl", "eval/sft/results.json",
		"sft/model.safetensors", "sft/config.json", "sft/checkpoints/step-00000002",
		"sft/checkpoints/step-00000002/trainer_state.json", "sft/cache/train.tokens", "base/tokenizer_config.json",
		"rl/model.safetensors", "rl/checkpoints/step-00000001/trainer_state.json", "report.html",
		"export/sft.gguf", "verl/train.parquet",
	} {
		if !renames[filepath.Join(out, want)] {
			t.Errorf("no rename into %s traced", want)
		}
	}
}

// durableWorkload is the traced child: a run small enough for seconds, and
// the exports of its results.
func durableWorkload(t *testing.T, out string) {
	opts := DefaultRunOptions()
	if err := loadConfig(filepath.Join("..", "configs", "smoke.yaml"), &opts); err != nil {
		t.Fatal(err)
	}
	opts.Out = out
	opts.Generate.Quiet, opts.Filter.Quiet = true, true
	opts.Generate.NumPrompts = 40
	opts.Train.MaxSteps, opts.Train.SaveEvery, opts.Train.EvalEvery, opts.Train.MicroBatch = 3, 2, 100, 4
	opts.Eval.NumPrompts, opts.Eval.Samples, opts.Eval.MaxTokens = 2, 1, 4
	opts.RL.MaxSteps, opts.RL.PromptsPerStep, opts.RL.NumGenerations, opts.RL.MaxNewTokens = 1, 2, 2, 4
	opts.Skip = []string{"rl-only"}
	if err := runRun(context.Background(), "smoke.yaml", opts); err != nil {
		t.Fatal(err)
	}
	gguf := ExportGGUFOptions{Model: filepath.Join(out, "sft"), Out: filepath.Join(out, "export", "sft.gguf"), Type: "f16", Log: io.Discard}
	if err := runExportGGUF(context.Background(), gguf); err != nil {
		t.Fatal(err)
	}
	verl := ExportVerlOptions{RL: DefaultRLOptions(), Out: filepath.Join(out, "verl"), TestFraction: 0.5, Log: io.Discard}
	verl.RL.NumPrompts = 4
	if _, err := runExportVerl(context.Background(), verl); err != nil {
		t.Fatal(err)
	}
}

var (
	straceLine = regexp.MustCompile(`^(\d+) +(\w+)\((.*)\) += (-?\d+)`)
	quoted     = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
)

// checkDurableRenames reads an strace log and checks each rename whose
// target is under root and still exists: an fd opened on the source was
// fsynced before it, and one opened on the target's directory after it.
// It returns the targets checked.
func checkDurableRenames(log, root string) (map[string]bool, error) {
	f, err := os.Open(log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type rename struct {
		from, to string
		seq      int
	}
	var (
		fds      = map[string]string{} // fd -> path it was last opened on
		synced   = map[string][]int{}  // path -> when an fd on it was fsynced
		renames  []rename
		pending  = map[string]string{} // pid -> the first half of an interrupted call
		problems []string
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for seq := 0; sc.Scan(); seq++ {
		line := sc.Text()
		// A call another thread interrupted comes in two lines.
		if i := strings.Index(line, " <unfinished ...>"); i >= 0 {
			pid, _, _ := strings.Cut(line, " ")
			pending[pid] = line[:i]
			continue
		}
		if i := strings.Index(line, "<... "); i >= 0 {
			pid, _, _ := strings.Cut(line, " ")
			_, rest, _ := strings.Cut(line[i:], " resumed>")
			line = pending[pid] + rest
			delete(pending, pid)
		}
		m := straceLine.FindStringSubmatch(line)
		if m == nil || m[4] == "-1" {
			continue
		}
		paths := quoted.FindAllStringSubmatch(m[3], -1)
		switch m[2] {
		case "open", "openat":
			fds[m[4]] = filepath.Clean(paths[0][1])
		case "fsync", "fdatasync":
			fd, _, _ := strings.Cut(m[3], ",")
			if p, ok := fds[fd]; ok {
				synced[p] = append(synced[p], seq)
			}
		case "rename", "renameat", "renameat2":
			renames = append(renames, rename{filepath.Clean(paths[0][1]), filepath.Clean(paths[1][1]), seq})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	checked := map[string]bool{}
	for _, r := range renames {
		if !strings.HasPrefix(r.to, root+string(filepath.Separator)) {
			continue
		}
		if _, err := os.Lstat(r.to); err != nil {
			continue // moved aside, then removed: nothing to keep
		}
		checked[r.to] = true
		before, after := false, false
		for _, s := range synced[r.from] {
			before = before || s < r.seq
		}
		for _, s := range synced[filepath.Dir(r.to)] {
			after = after || s > r.seq
		}
		if !before {
			problems = append(problems, fmt.Sprintf("%s renamed to %s unsynced", r.from, r.to))
		}
		if !after {
			problems = append(problems, fmt.Sprintf("directory of %s not synced after the rename", r.to))
		}
	}
	if len(problems) > 0 {
		return checked, fmt.Errorf("%d renames not durable:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	return checked, nil
}

//go:build linux

package distill

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/sampler"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/eval"
	"github.com/distill-dev/distill/student/local"
	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/rl"
	"github.com/distill-dev/distill/student/tokenizer"
	"github.com/distill-dev/distill/student/train"
	"github.com/distill-dev/distill/teacher"
)

// stageMem is what a child process running one stage measured.
type stageMem struct {
	PeakAnon int64 `json:"peak_anon"` // the process's own memory, sampled every millisecond
	HWM      int64 `json:"hwm"`       // VmHWM: also mapped files (the binary, a checkpoint being read)
	Err      string
}

// TestStageMemory runs each stage for real in a child process and compares
// its peak anonymous RSS with the estimate its memory check makes: within
// 10% (the decoding stages hold their heap to the estimate:
// memory.Breakdown.Hold). Anonymous, because the mapped binary and a checkpoint being read are
// file-backed pages the kernel can drop, which the checks leave out.
func TestStageMemory(t *testing.T) {
	if args := os.Getenv("DISTILL_MEM_ARGS"); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			t.Fatal(err)
		}
		stageMemChild(t, a)
		return
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeMemShard(t, data, 64)
	// A qwen-tiny student as train builds it, and one whose context a
	// full batch of served requests fills quickly.
	tiny, served := filepath.Join(dir, "tiny"), filepath.Join(dir, "served")
	st, err := train.NewStudent(&train.Options{Student: "qwen-tiny"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{tiny, served} {
		if d == served {
			st.Weights.Config.MaxPositionEmbeddings = servedContext
		}
		if err := st.Save(d, checkpoint.GenerationConfig{}); err != nil {
			t.Fatal(err)
		}
	}
	workers := runtime.GOMAXPROCS(0)
	trainEst := func(preset string, opt memory.Options) func(*testing.T) memory.Breakdown {
		return func(t *testing.T) memory.Breakdown {
			s, err := train.NewStudent(&train.Options{Student: preset})
			if err != nil {
				t.Fatal(err)
			}
			opt.Workers = workers
			return memory.Estimate(s.Weights.Config, 4, 256, opt)
		}
	}
	rlEst := func(beta, ckpt bool) func(*testing.T) memory.Breakdown {
		return func(t *testing.T) memory.Breakdown {
			longest := rlLongestPrompt(t, tiny, 8)
			return memory.GRPO(st.Weights.Config, memory.GRPOShape{MicroBatch: 8, SeqLen: longest + 128, Sequences: 4 * 4,
				Context: longest + 128, Sampling: true, Reference: beta, Workers: workers, GradientCheckpointing: ckpt})
		}
	}
	trainArgs := func(preset, out string, extra ...string) []string {
		return append([]string{"train", "--student", preset, "--data", data, "--out", filepath.Join(dir, out),
			"--micro-batch", "4", "--seq-len", "256", "--max-steps", "2", "--eval-every", "0", "--save-every", "0"}, extra...)
	}
	rlArgs := func(out, beta string, extra ...string) []string {
		return append([]string{"rl", "--model", tiny, "--out", filepath.Join(dir, out), "--num-prompts", "8", "--prompts-per-step", "4",
			"--num-generations", "4", "--max-new-tokens", "128", "--max-steps", "2", "--micro-batch", "8", "--beta", beta,
			"--reward", "length=1"}, extra...)
	}
	for _, tc := range []struct {
		name string
		args []string
		est  func(*testing.T) memory.Breakdown
	}{
		{"train qwen-tiny", trainArgs("qwen-tiny", "t1"), trainEst("qwen-tiny", memory.Options{})},
		{"train qwen-tiny lora", trainArgs("qwen-tiny", "t2", "--lora-rank", "16"), trainEst("qwen-tiny", memory.Options{LoRARank: 16})},
		{"train qwen-small ckpt", trainArgs("qwen-small", "t3", "--gradient-checkpointing"), trainEst("qwen-small", memory.Options{GradientCheckpointing: true})},
		{"rl beta 0", rlArgs("r1", "0"), rlEst(false, false)},
		{"rl beta 0.04", rlArgs("r2", "0.04"), rlEst(true, false)},
		{"rl gradient checkpointing", rlArgs("r3", "0", "--gradient-checkpointing"), rlEst(false, true)},
		{"eval", []string{"eval", "--model", tiny, "--out", filepath.Join(dir, "e1"), "--num-prompts", "8", "--samples", "8",
			"--batch", "64", "--max-tokens", "256", "--quiet"}, func(t *testing.T) memory.Breakdown { return evalEstimate(t, tiny, 8, 8, 64, 256) }},
		{"serve local", []string{"serve", "--teacher", "local:" + served, "--addr", "127.0.0.1:0"}, func(*testing.T) memory.Breakdown {
			return memory.Generation(st.Weights.Config, local.MaxBatch, servedContext, true)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.est(t)
			m := runStageChild(t, tc.args)
			r := float64(e.Total-m.PeakAnon) / float64(m.PeakAnon)
			t.Logf("%-22s estimate %7.1f MB, peak anon RSS %7.1f MB (%+5.1f%%), VmHWM %7.1f MB; %s", tc.name, float64(e.Total)/1e6,
				float64(m.PeakAnon)/1e6, 100*r, float64(m.HWM)/1e6, e.Parts())
			if math.Abs(r) > 0.1 {
				t.Errorf("estimate %s, measured %s: off by %+.1f%%", memory.Format(e.Total), memory.Format(m.PeakAnon), 100*r)
			}
		})
	}
}

// servedContext is the served checkpoint's context: requests for as many
// tokens fill it. Long enough that the KV caches dominate, as they do for a
// real checkpoint: about 6 MB of the server's peak is OpenBLAS's own
// workspace (C memory the estimate leaves out), -9.8% of a 192-token
// context's estimate and -7.5% of this one's.
const servedContext = 384

// rlLongestPrompt is the longest of the first n builtin:arith prompts as
// distill rl renders them for the checkpoint in dir.
func rlLongestPrompt(t *testing.T, dir string, n int) int {
	opts := DefaultRLOptions()
	opts.NumPrompts = n
	ps, err := rlLoadPrompts(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := sampler.ResolveTemplate(opts.Template, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := student.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	longest := 0
	for _, p := range ps {
		p.Problem = rl.UserMessage(tmpl.Text, p)
		ids, err := st.Template.RenderPrompt(st.Tok, []tokenizer.Message{{Role: "user", Content: p.Problem}})
		if err != nil {
			t.Fatal(err)
		}
		longest = max(longest, len(ids))
	}
	return longest
}

// evalEstimate is what distill eval's check estimates for n prompts of
// builtin:arith, k samples each.
func evalEstimate(t *testing.T, dir string, n, k, batch, maxTokens int) memory.Breakdown {
	opts := DefaultEvalOptions()
	opts.NumPrompts, opts.Samples, opts.Batch, opts.MaxTokens = n, k, batch, maxTokens
	ps, err := evalPrompts(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := sampler.ResolveTemplate(opts.Template, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = tmpl.Render(p.Problem)
	}
	st, err := student.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := (&eval.Checkpoint{Student: st, Batch: batch}).Memory(msgs, k, evalParams(opts))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func writeMemShard(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := dataset.NewShardWriter[dataset.Row](dir, "train", dataset.ShardOptions{}, func(r *dataset.Row) int { return 300 })
	for i := range n {
		row := dataset.Row{PromptID: fmt.Sprint(i), Messages: []dataset.Message{{Role: "user", Content: fmt.Sprintf("What is %d + %d?", i, 2*i)},
			{Role: "assistant", Content: dataset.R1Assistant(strings.Repeat(fmt.Sprintf("%d plus %d is %d. ", i, 2*i, 3*i), 10), fmt.Sprint(3*i))}}}
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func runStageChild(t *testing.T, args []string) stageMem {
	cmd := exec.Command(os.Args[0], "-test.run=^TestStageMemory$", "-test.count=1")
	j, _ := json.Marshal(args)
	cmd.Env = append(os.Environ(), "DISTILL_MEM_ARGS="+string(j))
	var stdout, stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A server is loaded from here once it listens, then stopped (Ctrl-C).
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		stdout.WriteString(sc.Text() + "\n")
		if m := regexp.MustCompile(`at (http://\S+/v1)`).FindStringSubmatch(sc.Text()); m != nil && args[0] == "serve" {
			serveLoad(t, m[1])
			cmd.Process.Signal(os.Interrupt)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s\n%s", args, err, stdout.String(), stderr.String())
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if j, ok := strings.CutPrefix(line, "stagemem "); ok {
			var m stageMem
			if err := json.Unmarshal([]byte(j), &m); err != nil {
				t.Fatal(err)
			}
			if m.Err != "" {
				t.Fatalf("%v: %s", args, m.Err)
			}
			return m
		}
	}
	t.Fatalf("%v: no measurement in\n%s\n%s", args, stdout.String(), stderr.String())
	return stageMem{}
}

// stageMemChild runs one stage and prints what it measured.
func stageMemChild(t *testing.T, args []string) {
	stop := make(chan struct{})
	var peak int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, repotest.ProcStatus("RssAnon"))
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	err := NewApp().RunContext(ctx, append([]string{"distill"}, args...))
	close(stop)
	wg.Wait()
	m := stageMem{PeakAnon: peak, HWM: repotest.ProcStatus("VmHWM")}
	if err != nil {
		m.Err = err.Error()
	}
	j, _ := json.Marshal(m)
	fmt.Printf("stagemem %s\n", j)
}

// serveLoad sends the served checkpoint requests that fill its batch,
// from this (the parent) process, so that the clients' memory is not
// counted as the server's.
func serveLoad(t *testing.T, base string) {
	c, err := teacher.NewOpenAI(teacher.OpenAIConfig{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range local.MaxBatch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seed := int64(i)
			if _, err := c.Complete(context.Background(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: "What is 1 + 1?"}},
				MaxTokens: servedContext, Seed: &seed, Temperature: 1}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// TestMemoryAdviceFlags: every flag a refusal suggests is one of the
// refusing command's own. The machine is given a little less than each run
// needs, so that the cheaper alternatives fit and are suggested.
func TestMemoryAdviceFlags(t *testing.T) {
	avail := memory.Available
	defer func() { memory.Available = avail }()
	cfg, err := model.LookupPreset("qwen-small")
	if err != nil {
		t.Fatal(err)
	}
	workers := runtime.GOMAXPROCS(0)
	st := &student.Student{Weights: &model.Weights{Config: cfg}, Tok: tokenizer.NewByteLevel(nil)}
	if st.Template, err = tokenizer.TemplateFor("chatml"); err != nil {
		t.Fatal(err)
	}
	ro := rl.Defaults
	ev := DefaultEvalOptions()
	ck := &eval.Checkpoint{Student: st, Batch: ev.Batch}
	msgs := []string{"What is 1 + 1?"}
	for _, tc := range []struct {
		command string
		need    func() memory.Breakdown
		check   func() error
	}{
		{"train", func() memory.Breakdown { return memory.Estimate(cfg, 8, 1024, memory.Options{Workers: workers}) },
			func() error { return train.CheckMemory(cfg, 8, 1024, memory.Options{}) }},
		{"rl", func() memory.Breakdown {
			return memory.GRPO(cfg, memory.GRPOShape{MicroBatch: ro.MicroBatch, SeqLen: 1024, Sequences: ro.PromptsPerStep * ro.NumGenerations,
				Context: 1024, Sampling: true, Reference: true, Workers: workers})
		}, func() error { return rl.CheckMemory(cfg, &ro, 1024, 1024-ro.MaxNewTokens) }},
		{"eval", func() memory.Breakdown {
			e, err := ck.Memory(msgs, ev.Samples*8, evalParams(ev))
			if err != nil {
				t.Fatal(err)
			}
			return e
		}, func() error { return ck.CheckMemory(msgs, ev.Samples*8, evalParams(ev)) }},
		{"serve", func() memory.Breakdown {
			return memory.Generation(cfg, local.MaxBatch, cfg.MaxPositionEmbeddings, true)
		},
			func() error { return local.CheckMemory(cfg) }},
	} {
		t.Run(tc.command, func(t *testing.T) {
			need := tc.need().Total
			memory.Available = func() int64 { return need * 9 / 10 }
			err := tc.check()
			if !errors.Is(err, memory.ErrDoesNotFit) {
				t.Fatalf("err %v, want ErrDoesNotFit", err)
			}
			flags := map[string]bool{}
			for _, c := range NewApp().Commands {
				if c.Name == tc.command {
					for _, f := range c.Flags {
						for _, n := range f.Names() {
							flags[n] = true
						}
					}
				}
			}
			for _, m := range regexp.MustCompile(`--([a-z][a-z0-9-]*)`).FindAllStringSubmatch(err.Error(), -1) {
				if !flags[m[1]] {
					t.Errorf("advice names --%s, which distill %s does not take: %v", m[1], tc.command, err)
				}
			}
		})
	}
}

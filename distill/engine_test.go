package distill

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/engine"
	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/studenttest"
	"github.com/distill-dev/distill/student/tokenizer"
	"github.com/distill-dev/distill/student/train"
)

// genShards generates n builtin traces with the user template into
// dir/raw and filters them into dir/data (a tenth held out), returning
// dir/data.
func genShards(t *testing.T, dir string, n int, template string) string {
	t.Helper()
	ctx := context.Background()
	g := DefaultGenerateOptions()
	g.NumPrompts, g.Out, g.Quiet, g.Template = n, filepath.Join(dir, "raw"), true, template
	if err := runGenerate(ctx, g); err != nil {
		t.Fatal(err)
	}
	f := DefaultFilterOptions()
	f.In, f.Out, f.Quiet = []string{g.Out}, filepath.Join(dir, "data"), true
	f.Select.TestFraction = 0.1
	if err := runFilter(ctx, f); err != nil {
		t.Fatal(err)
	}
	return f.Out
}

func readMetrics(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ms []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("metrics.jsonl: %v", err)
		}
		ms = append(ms, m)
	}
	return ms
}

// TestTrainEngineTRL fine-tunes, with TRL on the CPU, a small Qwen2
// checkpoint distill wrote (Qwen's real tokenizer and the qwen2.5 template)
// on distill filter's shards: the loss falls, metrics.jsonl has the Go
// trainer's keys, --resume continues from the engine's checkpoint, and the
// result opens and evaluates as a Go-trained one.
func TestTrainEngineTRL(t *testing.T) {
	t.Setenv("DISTILL_PYTHON", repotest.Python(t))
	data := genShards(t, t.TempDir(), 200, "r1")
	init := studenttest.Real(t, "qwen2", 1)
	out := filepath.Join(t.TempDir(), "sft")
	o := TrainOptions{Options: train.Defaults, EngineOptions: engineDefaults}
	o.Init, o.Data, o.Out = init, train.Dir(data), out
	o.MaxSteps, o.MicroBatch, o.GradAccum, o.SeqLen, o.LR, o.WarmupSteps, o.EvalEvery, o.SaveEvery = 24, 4, 1, 192, 3e-3, 2, 12, 12
	o.Engine, o.GPUsPerNode = "trl", 0
	if _, err := runTrain(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	ms := readMetrics(t, filepath.Join(out, "metrics.jsonl"))
	if len(ms) != 24 {
		t.Fatalf("metrics.jsonl has %d lines, want 24", len(ms))
	}
	for _, k := range []string{"step", "epoch", "loss", "lr", "grad_norm", "tokens", "tokens_per_sec", "elapsed_sec"} {
		if _, ok := ms[len(ms)-1][k]; !ok {
			t.Errorf("metrics.jsonl lacks %q: %v", k, ms[len(ms)-1])
		}
	}
	if _, ok := ms[11]["eval_loss"]; !ok {
		t.Errorf("step 12 has no eval_loss: %v", ms[11])
	}
	first, last := ms[0]["loss"].(float64), ms[len(ms)-1]["loss"].(float64)
	t.Logf("TRL SFT loss %.3f → %.3f over %d steps", first, last, len(ms))
	if last > 0.7*first {
		t.Errorf("loss %.3f → %.3f: did not fall", first, last)
	}
	// --resume continues from the engine's last checkpoint (step 24) and
	// logs only the updates after it.
	o.Resume, o.MaxSteps = true, 28
	if _, err := runTrain(context.Background(), o); err != nil {
		t.Fatalf("--resume: %v", err)
	}
	resumed := readMetrics(t, filepath.Join(out, "metrics.jsonl"))
	if len(resumed) != 28 || resumed[24]["step"] != 25.0 || resumed[23]["loss"] != ms[23]["loss"] {
		t.Errorf("after --resume metrics.jsonl has %d lines (want 28, steps 25–28 appended to the first 24)", len(resumed))
	}
	st, err := student.Open(out)
	if err != nil {
		t.Fatalf("distill cannot open the engine's checkpoint: %v", err)
	}
	if st.Template.Name != "qwen2.5" {
		t.Errorf("template %s, want qwen2.5", st.Template.Name)
	}
	e := DefaultEvalOptions()
	e.Model, e.NumPrompts, e.Samples, e.MaxTokens, e.Out = out, 4, 1, 8, filepath.Join(t.TempDir(), "eval")
	if _, err := runEval(context.Background(), e); err != nil {
		t.Fatalf("distill eval on the engine's checkpoint: %v", err)
	}
}

// TestEngineLossMaskMatchesGo checks that, on real conversations from
// distill filter's shards, the tokens TRL's prepared dataset trains on
// (labels ≠ -100) are exactly the tokens of the Go trainer's assistant
// mask, for each family's template.
func TestEngineLossMaskMatchesGo(t *testing.T) {
	py := repotest.Python(t)
	data := genShards(t, t.TempDir(), 40, "r1")
	shards, err := dataset.ListShards(data, "train")
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range []string{"qwen2", "llama"} {
		t.Run(family, func(t *testing.T) {
			init := studenttest.Real(t, family, 1)
			o := train.Defaults
			o.Init, o.Data, o.Out, o.Packing = init, train.Dir(data), filepath.Join(t.TempDir(), "out"), false
			job, err := engine.SFT(o, engine.Resources{Launcher: engine.Local, Nodes: 1, Sharding: "deepspeed"})
			if err != nil {
				t.Fatal(err)
			}
			const n = 5
			dumped := dumpLabels(t, py, job, n)
			st, err := student.Open(init)
			if err != nil {
				t.Fatal(err)
			}
			var rows [][]dataset.Message
			err = dataset.ReadMessages(context.Background(), shards[0], func(r dataset.MessagesRow) error {
				if len(rows) < n {
					rows = append(rows, r.Messages)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(dumped) != n {
				t.Fatalf("sft.py printed %d rows, want %d", len(dumped), n)
			}
			for i, got := range dumped {
				msgs := make([]tokenizer.Message, len(rows[i]))
				for k, m := range rows[i] {
					msgs[k] = tokenizer.Message{Role: m.Role, Content: m.Content}
				}
				ids, mask, err := st.Template.Render(st.Tok, msgs, false)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids, got.InputIDs) {
					t.Fatalf("row %d: TRL's ids differ from distill's\nTRL    %v\ndistill %v", i, got.InputIDs, ids)
				}
				var goPos, trlPos []int
				for k := range ids {
					if mask[k] {
						goPos = append(goPos, k)
					}
					if got.Labels[k] != -100 {
						trlPos = append(trlPos, k)
					}
				}
				if !slices.Equal(goPos, trlPos) {
					t.Errorf("row %d: TRL's loss counts positions %v, the Go trainer's %v", i, trlPos, goPos)
				}
				if i == 0 {
					t.Logf("%s row 0: %d tokens, %d in the loss, same positions in TRL and Go", family, len(ids), len(goPos))
				}
			}
		})
	}
}

// labelRow is a prepared example of TRL's, as dump_labels prints it.
type labelRow struct {
	InputIDs []int32 `json:"input_ids"`
	Labels   []int32 `json:"labels"`
}

// dumpLabels writes job and runs its sft.py in dump_labels mode, without
// shuffling: the first n examples TRL would train on, in its dataset's order.
func dumpLabels(t *testing.T, py string, job *engine.Job, n int) []labelRow {
	t.Helper()
	if err := job.Write(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join(job.Dir, "sft.py"), "--config", filepath.Join(job.Dir, engine.ConfigFile), "--dump_labels", fmt.Sprint(n), "--shuffle_dataset", "false")
	cmd.Dir = job.Dir
	outb, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("sft.py --dump_labels: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var rows []labelRow
	for _, line := range strings.Split(strings.TrimSpace(string(outb)), "\n") {
		var r labelRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("sft.py --dump_labels: %v in %q", err, line)
		}
		rows = append(rows, r)
	}
	return rows
}

// writeChats writes n plain chats (no chain of thought, nothing to verify)
// as the train shard of a dataset in dir, and returns dir.
func writeChats(t *testing.T, dir string, n int) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := dataset.NewShardWriter[dataset.Row](dir, "train", dataset.ShardOptions{}, func(r *dataset.Row) int { return 100 })
	for i := range n {
		row := dataset.Row{Messages: []dataset.Message{{Role: "user", Content: fmt.Sprintf("Say hello to %d.", i)},
			{Role: "assistant", Content: fmt.Sprintf("Hello, %d!", i)}}, Verifier: dataset.VerifierNone}
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestEngineMixtureRowsMatchGo checks that a TRL job trains on the rows the
// Go trainer trains on for the same mixture: the same count, the same
// conversations, in the mixture's order.
func TestEngineMixtureRowsMatchGo(t *testing.T) {
	py := repotest.Python(t)
	reasoning := genShards(t, t.TempDir(), 40, "r1")
	chat := writeChats(t, t.TempDir(), 12)
	init := studenttest.Real(t, "qwen2", 1)
	o := train.Defaults
	o.Init, o.Out, o.Packing, o.SeqLen, o.Seed = init, filepath.Join(t.TempDir(), "out"), false, 1024, 5
	o.Data = train.Mixture{{Path: reasoning, Weight: 0.5}, {Path: chat, MaxRows: 5}}
	job, err := engine.SFT(o, engine.Resources{Launcher: engine.Local, Nodes: 1, Sharding: "deepspeed"})
	if err != nil {
		t.Fatal(err)
	}
	got := dumpLabels(t, py, job, 1000)

	st, err := student.Open(init)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := train.PlanMixture(o.Data, o.Seed)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]int32
	err = plan.ReadRows(context.Background(), "train", func(_ string, _ int, r dataset.MessagesRow) error {
		msgs := make([]tokenizer.Message, len(r.Messages))
		for k, m := range r.Messages {
			msgs[k] = tokenizer.Message{Role: m.Role, Content: m.Content}
		}
		ids, _, err := st.Template.Render(st.Tok, msgs, false)
		want = append(want, ids)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if kept := plan.Sources[0].Kept + plan.Sources[1].Kept; len(want) != kept || plan.Sources[1].Kept != 5 || plan.Sources[0].Kept != plan.Sources[0].Rows/2 {
		t.Fatalf("the Go trainer's rows: %d, plan %+v", len(want), plan.Sources)
	}
	if len(got) != len(want) {
		t.Fatalf("TRL trains on %d rows, the Go trainer on %d", len(got), len(want))
	}
	for i := range want {
		if !slices.Equal(got[i].InputIDs, want[i]) {
			t.Fatalf("row %d: TRL's ids differ from the Go trainer's\nTRL    %v\ndistill %v", i, got[i].InputIDs, want[i])
		}
	}
	t.Logf("TRL and Go train on the same %d rows (%d of %d reasoning, %d of %d chat)", len(want),
		plan.Sources[0].Kept, plan.Sources[0].Rows, plan.Sources[1].Kept, plan.Sources[1].Rows)
}

// TestRLEngineTRL runs GRPO with TRL on the CPU for three updates, rewarded
// by `distill reward-server` (which the job starts) through the shim: metrics.jsonl has one line
// per update with the rewards TRL logged, and the result opens in distill.
func TestRLEngineTRL(t *testing.T) {
	t.Setenv("DISTILL_PYTHON", repotest.Python(t))
	bin := buildDistill(t)
	out := filepath.Join(t.TempDir(), "rl")
	o := DefaultRLOptions()
	o.Model, o.Out, o.NumPrompts = studenttest.Tiny(t, 1), out, 8
	o.PromptsPerStep, o.NumGenerations, o.MicroBatch, o.MaxNewTokens, o.MaxSteps = 2, 4, 4, 12, 3
	o.Rewards = map[string]float64{"accuracy": 1, "format": 0.5}
	o.Engine, o.GPUsPerNode = "trl", 0
	// The job starts the reward server with $DISTILL, the binary built
	// above (this test's own binary is not distill).
	t.Setenv("DISTILL", bin)
	if _, err := runRL(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	ms := readMetrics(t, filepath.Join(out, "metrics.jsonl"))
	if len(ms) != 3 {
		t.Fatalf("metrics.jsonl has %d lines, want 3", len(ms))
	}
	for _, k := range []string{"loss", "reward", "rewards/accuracy/mean", "rewards/format/mean"} {
		if _, ok := ms[2][k]; !ok {
			t.Errorf("metrics.jsonl lacks %q: %v", k, ms[2])
		}
	}
	if _, err := student.Open(out); err != nil {
		t.Fatalf("distill cannot open the engine's GRPO checkpoint: %v", err)
	}
}

// The R1 recipes load, and their train stage writes a TRL job for 8 GPUs
// (a dry run: the base checkpoint is not here, so the student is its hub
// id).
func TestRecipesWriteEngineJobs(t *testing.T) {
	for _, f := range []string{"r1-qwen.yaml", "r1-llama.yaml"} {
		t.Run(f, func(t *testing.T) {
			opts := DefaultRunOptions()
			if err := loadConfig(filepath.Join("..", "configs", f), &opts); err != nil {
				t.Fatal(err)
			}
			tr := opts.Train
			if tr.Engine != "trl" || tr.GPUsPerNode != 8 {
				t.Fatalf("train: engine %q on %d GPUs, want trl on 8", tr.Engine, tr.GPUsPerNode)
			}
			tr.Init, tr.Student = "", map[string]string{"r1-qwen.yaml": "qwen-7b", "r1-llama.yaml": "llama-8b"}[f]
			tr.Data, tr.Out, tr.DryRun = train.Dir(t.TempDir()), t.TempDir(), true
			if _, err := runTrain(context.Background(), tr); err != nil {
				t.Fatal(err)
			}
			cfg, err := os.ReadFile(filepath.Join(tr.Out, "job", engine.ConfigFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"learning_rate: 4e-05", "max_grad_norm: 0.2", "num_train_epochs: 5", "seed: 42"} {
				if !strings.Contains(string(cfg), want) {
					t.Errorf("config.yaml lacks %q:\n%s", want, cfg)
				}
			}
		})
	}
}

// TestEngineTextRowsMatchGo checks that a TRL job given distill corpus's
// text rows trains on what the Go trainer does: the text's ids and the
// tokenizer's EOS, every token in the loss.
func TestEngineTextRowsMatchGo(t *testing.T) {
	py := repotest.Python(t)
	init := studenttest.Real(t, "qwen2", 1)
	st, err := student.Open(init)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "corpus")
	if err := runCorpus(context.Background(), CorpusOptions{Out: data, Docs: 6, Seed: 2, Template: st.Template.Name}); err != nil {
		t.Fatal(err)
	}
	o := train.Defaults
	o.Init, o.Data, o.Out, o.Packing = init, train.Dir(data), filepath.Join(t.TempDir(), "out"), false
	job, err := engine.SFT(o, engine.Resources{Launcher: engine.Local, Nodes: 1, Sharding: "deepspeed"})
	if err != nil {
		t.Fatal(err)
	}
	got := dumpLabels(t, py, job, 6)
	shards, err := dataset.ListShards(data, "train")
	if err != nil {
		t.Fatal(err)
	}
	eos, _ := st.Tok.EOS()
	i := 0
	err = dataset.ReadMessages(context.Background(), shards[0], func(r dataset.MessagesRow) error {
		want := append(st.Tok.Encode(r.Text), eos)
		if i >= len(got) || !slices.Equal(got[i].InputIDs, want) || !slices.Equal(got[i].Labels, want) {
			t.Fatalf("row %d %q: TRL's ids and labels differ from distill's\nTRL    %v\n       %v\ndistill %v", i, r.Text, got[i].InputIDs, got[i].Labels, want)
		}
		i++
		return nil
	})
	if err != nil || i != 6 || len(got) != 6 {
		t.Fatalf("%d rows read, %d from TRL: %v", i, len(got), err)
	}
}

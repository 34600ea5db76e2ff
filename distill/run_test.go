package distill

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/report"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/train"
)

// The CI smoke recipe end to end: every stage runs, the run directory and
// the report are complete, and a rerun skips what is done.
func TestRunSmokeRecipe(t *testing.T) {
	opts := DefaultRunOptions()
	if err := loadConfig(filepath.Join("..", "configs", "smoke.yaml"), &opts); err != nil {
		t.Fatal(err)
	}
	opts.Out = filepath.Join(t.TempDir(), "run")
	opts.Generate.Quiet, opts.Filter.Quiet = true, true
	// As after an interruption in train: the attempt's time is recorded,
	// and the stage's seconds sum both attempts.
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(opts.Out, "run.json"), []byte(`{"stages": {"train": {"done": false, "seconds": 1000}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runRun(context.Background(), "configs/smoke.yaml", opts); err != nil {
		t.Fatal(err)
	}
	var rec report.Record
	readJSON(t, filepath.Join(opts.Out, "run.json"), &rec)
	if tr, f := rec.Stages["train"], rec.Stages["filter"]; !tr.Done || tr.Seconds <= 1000 || f.Seconds >= 1000 {
		t.Errorf("run.json: train %+v, filter %+v; want train's 1000 s of the interrupted attempt added, filter's alone", tr, f)
	}
	for _, f := range []string{
		"raw/manifest.json", "data/stats.json", "data/README.md", "base/config.json",
		"sft/model.safetensors", "sft/metrics.jsonl", "rl/model.safetensors", "rl/metrics.jsonl",
		"rl-only/model.safetensors", "results.md", "run.json", "report.html",
	} {
		if _, err := os.Stat(filepath.Join(opts.Out, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
	for _, stage := range []string{"teacher", "base", "sft", "rl", "rl-only"} {
		b, err := os.ReadFile(filepath.Join(opts.Out, "eval", stage, "results.json"))
		if err != nil {
			t.Errorf("eval of %s: %v", stage, err)
			continue
		}
		var r map[string]any
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if _, ok := r["pass@1"]; !ok {
			t.Errorf("eval/%s/results.json lacks pass@1", stage)
		}
	}
	md, _ := os.ReadFile(filepath.Join(opts.Out, "results.md"))
	for _, want := range []string{"teacher (builtin)", "student after SFT", "GRPO alone", "distill train --student qwen-nano",
		"- GRPO after SFT (sft → rl): pass@1 ", "- distillation vs GRPO alone (rl-only → sft): pass@1 "} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	t.Logf("results.md:\n%s", md)
	page, _ := os.ReadFile(filepath.Join(opts.Out, "report.html"))
	if !strings.Contains(string(page), "plots/") {
		t.Error("report.html references no plot")
	}

	// A rerun finds every stage complete.
	before, _ := os.ReadFile(filepath.Join(opts.Out, "sft", "model.safetensors"))
	if err := runRun(context.Background(), "configs/smoke.yaml", opts); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(opts.Out, "sft", "model.safetensors"))
	if string(before) != string(after) {
		t.Error("a rerun trained again instead of skipping the finished stage")
	}

	// A recipe that starts from a checkpoint (train.init) with LoRA: the
	// checkpoint is the base, used where it is, and evaluated as such.
	next := opts
	next.Out = filepath.Join(t.TempDir(), "next")
	next.Train.Student, next.Train.Init, next.Train.LoRARank = "", filepath.Join(opts.Out, "sft"), 4
	next.Skip = []string{"rl", "rl-only", "teacher"}
	if err := runRun(context.Background(), "next.yaml", next); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"sft/model.safetensors", "sft/adapter/adapter_model.safetensors", "eval/base/results.json", "eval/sft/results.json"} {
		if _, err := os.Stat(filepath.Join(next.Out, f)); err != nil {
			t.Errorf("LoRA run directory lacks %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(next.Out, "base")); err == nil {
		t.Error("the run copied its init checkpoint into base/")
	}
	md, _ = os.ReadFile(filepath.Join(next.Out, "results.md"))
	if want := "distill train --init " + next.Train.Init; !strings.Contains(string(md), want) || !strings.Contains(string(md), "--lora-rank 4") {
		t.Errorf("results.md lacks %q and --lora-rank 4:\n%s", want, md)
	}
}

// The untrained student a run evaluates as "before training" stops, in
// transformers as in distill, at its template's end of turn.
func TestRunSaveBaseStopsAtEndOfTurn(t *testing.T) {
	for _, name := range []string{"chatml", "llama3", "deepseek-r1"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "base")
			if err := runSaveBase(train.Options{Student: "qwen-nano", Template: name, MicroBatch: 1, SeqLen: 64}, dir); err != nil {
				t.Fatal(err)
			}
			st, err := student.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			gen, err := checkpoint.LoadGenerationConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			end, _ := st.Tok.TokenID(st.Template.EndOfTurn)
			if st.Template.Name != name || !slices.Contains(gen.EOSTokenID, int(end)) {
				t.Errorf("template %s, generation eos_token_id %v; want %s and %s (%d) among them", st.Template.Name, gen.EOSTokenID, name, st.Template.EndOfTurn, end)
			}
		})
	}
}

// A recipe whose lengths the student cannot hold is refused when it loads,
// before any stage runs (extending the context in train is not enough for
// the stages that run the base); so is a pretrain section that sets what
// the run decides, or in a recipe that starts from a checkpoint.
func TestRunRefusesBadRecipe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*RunOptions)
		wantErr string
	}{
		{"eval", func(o *RunOptions) { o.Eval.MaxTokens = 4096 }, "eval.max_tokens 4096"},
		{"rl", func(o *RunOptions) { o.RL.MaxNewTokens = 2048 }, "rl.max_new_tokens 2048"},
		{"train", func(o *RunOptions) { o.Train.SeqLen = 3000 }, "--seq-len 3000"},
		{"extended, base still short", func(o *RunOptions) {
			o.Train.MaxPositionEmbeddings, o.Train.RopeTheta, o.Eval.MaxTokens = 8192, 40000, 4096
		}, "eval-base"},
		{"pretrain with train.init", func(o *RunOptions) { o.Train.Init = "ckpt" }, "pretrain: the recipe starts from train.init"},
		{"pretrain's own student", func(o *RunOptions) { o.Pretrain.Student = "qwen-tiny" }, "pretrain: student, init, data, out and template are the run's"},
		{"pretrain's own corpus template", func(o *RunOptions) { o.Pretrain.Corpus.Template = "llama3" }, "pretrain: student, init, data, out and template are the run's"},
		{"pretrain with LoRA", func(o *RunOptions) { o.Pretrain.LoRARank = 8 }, "pretrain: lora_rank"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultRunOptions()
			if err := loadConfig(filepath.Join("..", "configs", "quickstart.yaml"), &opts); err != nil {
				t.Fatal(err)
			}
			opts.Out = filepath.Join(t.TempDir(), "run")
			tc.edit(&opts)
			err := runRun(context.Background(), "quickstart.yaml", opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
			}
			if _, err := os.Stat(filepath.Join(opts.Out, "run.json")); err == nil {
				t.Error("a stage ran before the refusal")
			}
		})
	}
}

// `distill run --check` on the quickstart recipe passes every check, one
// line each; on a recipe whose HTTP teacher has no key, whose student is
// not there and whose pretraining and eval do not fit, it names each
// failure.
func TestRunCheck(t *testing.T) {
	opts := DefaultRunOptions()
	if err := loadConfig(filepath.Join("..", "configs", "quickstart.yaml"), &opts); err != nil {
		t.Fatal(err)
	}
	opts.Out = filepath.Join(t.TempDir(), "run")
	var out strings.Builder
	if err := runCheck(context.Background(), opts, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, name := range []string{"teacher", "inputs", "student", "context", "train", "pretrain", "rl", "eval", "disk"} {
		if !strings.Contains(out.String(), "ok    "+name) {
			t.Errorf("no ok line for %s:\n%s", name, out.String())
		}
	}

	t.Setenv("CHECK_TEST_KEY", "")
	bad := opts
	bad.Generate.Teacher, bad.Generate.Model, bad.Generate.APIKeyEnv = "https://user:secret-pw@api.example.com/v1", "r1", "CHECK_TEST_KEY"
	bad.Eval.Batch, bad.Eval.Samples, bad.Eval.MaxTokens = 1<<24, 1<<12, 1000
	bad.Pretrain.MicroBatch = 1 << 20
	out.Reset()
	err := runCheck(context.Background(), bad, &out)
	if err == nil {
		t.Fatalf("a failing recipe passed:\n%s", out.String())
	}
	for _, want := range []string{"FAIL  teacher   https://api.example.com/v1: $CHECK_TEST_KEY", "FAIL  pretrain", "FAIL  eval"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "secret-pw") {
		t.Errorf("the URL's password reached the output:\n%s", out.String())
	}
	bad.Train.Init = filepath.Join(t.TempDir(), "missing")
	out.Reset()
	runCheck(context.Background(), bad, &out)
	if !strings.Contains(out.String(), "FAIL  student") {
		t.Errorf("a missing train.init passed:\n%s", out.String())
	}
}

// A recipe with a pretrain section: the corpus is written, the fresh
// student is pretrained on it into base/, SFT starts from that base (its
// first loss is far below a fresh student's ln V) and so does GRPO alone,
// which runs for the SFT stage's wall time; results.md says so.
func TestRunPretrainedBase(t *testing.T) {
	opts := DefaultRunOptions()
	if err := loadConfig(filepath.Join("..", "configs", "smoke.yaml"), &opts); err != nil {
		t.Fatal(err)
	}
	opts.Out = filepath.Join(t.TempDir(), "run")
	opts.Generate.Quiet, opts.Filter.Quiet = true, true
	opts.Generate.NumPrompts, opts.Eval.NumPrompts, opts.Eval.Samples = 200, 8, 2
	opts.Train.MaxSteps, opts.RL.MaxSteps = 10, 2
	opts.Pretrain.Corpus = CorpusOptions{Docs: 600, TestDocs: 20, Seed: 3}
	opts.Pretrain.MaxSteps, opts.Pretrain.MicroBatch = 40, 16
	opts.Skip = []string{"rl", "teacher"}
	if err := runRun(context.Background(), "pretrain.yaml", opts); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"corpus/corpus.json", "base/model.safetensors", "base/metrics.jsonl", "sft/model.safetensors",
		"rl-only/model.safetensors", "eval/base/results.json", "eval/rl-only/results.json"} {
		if _, err := os.Stat(filepath.Join(opts.Out, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
	var mix train.Plan
	readJSON(t, filepath.Join(opts.Out, "base", "data_mixture.json"), &mix)
	if len(mix.Sources) != 1 || mix.Sources[0].Path != filepath.Join(opts.Out, "corpus") || mix.Sources[0].Rows != 600 {
		t.Errorf("base/ was trained on %+v, want the 600 corpus documents", mix.Sources)
	}
	if loss := readMetrics(t, filepath.Join(opts.Out, "sft", "metrics.jsonl"))[0]["loss"].(float64); loss > 3 { // ln V of the byte-level vocabulary is 5.6
		t.Errorf("SFT's first loss %.3f: not the pretrained base's", loss)
	}
	var rec struct {
		Stages map[string]struct {
			Seconds float64
			Command string
		}
	}
	readJSON(t, filepath.Join(opts.Out, "run.json"), &rec)
	base := filepath.Join(opts.Out, "base")
	if c := rec.Stages["train"].Command; !strings.Contains(c, "--init "+base+" ") {
		t.Errorf("train: %s; want it to start from %s", c, base)
	}
	if c := rec.Stages["rl-only"].Command; !strings.Contains(c, "--model "+base+" ") {
		t.Errorf("rl-only: %s; want it to start from %s", c, base)
	}
	if sft, rl := rec.Stages["train"].Seconds, rec.Stages["rl-only"].Seconds; rl < sft {
		t.Errorf("GRPO alone ran %.1f s, less than SFT's %.1f s", rl, sft)
	}
	md, _ := os.ReadFile(filepath.Join(opts.Out, "results.md"))
	for _, want := range []string{"| pretrained base (no distillation, no RL) |", "- distillation vs GRPO alone (rl-only → sft): pass@1 ",
		"- GRPO alone from the base (base → rl-only): pass@1 ", "Equal wall time: SFT (distillation) ", "- corpus (", "- pretrain ("} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	t.Logf("results.md:\n%s", md)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

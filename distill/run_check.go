package distill

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/sampler"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/eval"
	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/rl"
	"github.com/distill-dev/distill/student/train"
)

// A recipe check is one line of `distill run --check`: what was checked
// and, on failure, why it would fail once money is being spent.
type recipeCheck struct {
	name string
	err  error
	ok   string // what was found, when err is nil
}

// runCheck checks a recipe without running it: the teacher reachable with
// its key and serving the model, the input files present, the student's
// context against the recipe's lengths, each stage's memory against this
// machine, and the disk the run directory needs. It prints one line per
// check to w and fails if any check does.
func runCheck(ctx context.Context, opts RunOptions, w io.Writer) error {
	checks := []recipeCheck{checkTeacher(ctx, opts.Generate), checkInputs(opts)}
	student, cfg, err := recipeStudent(opts.Train)
	if err != nil {
		checks = append(checks, recipeCheck{name: "student", err: err})
	} else {
		trained, ctxErr := checkContext(opts, student, cfg)
		checks = append(checks, recipeCheck{name: "student", ok: fmt.Sprintf("%s, %d positions", student, cfg.MaxPositionEmbeddings)},
			recipeCheck{name: "context", err: ctxErr, ok: "train.seq_len, rl.max_new_tokens and eval.max_tokens fit"})
		if opts.pretraining() {
			checks = append(checks, checkTrainMemory("pretrain", opts.pretrainTrain(), cfg))
		}
		checks = append(checks, checkTrainMemory("train", opts.Train, cfg))
		if !slices.Contains(opts.Skip, "rl") || !slices.Contains(opts.Skip, "rl-only") {
			checks = append(checks, checkRLMemory(ctx, opts.RL, trained))
		}
		checks = append(checks, checkEvalMemory(ctx, opts.Eval, trained))
	}
	checks = append(checks, checkDisk(opts))
	failed := 0
	for _, c := range checks {
		if c.err != nil {
			failed++
			fmt.Fprintf(w, "FAIL  %-9s %v\n", c.name, c.err)
		} else {
			fmt.Fprintf(w, "ok    %-9s %s\n", c.name, c.ok)
		}
	}
	if failed > 0 {
		return fmt.Errorf("run --check: %d of %d checks failed", failed, len(checks))
	}
	return nil
}

// checkTeacher asks an HTTP teacher for its models (GET /models, as the
// OpenAI API, vLLM, SGLang, Ollama and llama.cpp's server answer it) with
// the recipe's key.
func checkTeacher(ctx context.Context, g GenerateOptions) recipeCheck {
	c := recipeCheck{name: "teacher"}
	spec := g.Teacher
	switch {
	case spec == "" || spec == "builtin":
		c.ok = "builtin (offline)"
		return c
	case strings.HasPrefix(spec, "local:"):
		dir := strings.TrimPrefix(spec, "local:")
		if !checkpoint.IsCheckpoint(dir) {
			c.err = fmt.Errorf("%s: no checkpoint (config.json) there", spec)
		}
		c.ok = spec
		return c
	case !strings.HasPrefix(spec, "http://") && !strings.HasPrefix(spec, "https://"):
		c.err = fmt.Errorf("generate.teacher %q: want builtin, http(s)://HOST[:PORT]/v1 or local:DIR", spec)
		return c
	}
	name := genRedactURL(spec)
	if g.Model == "" {
		c.err = fmt.Errorf("%s: generate.model is required for an HTTP teacher", name)
		return c
	}
	key := os.Getenv(g.APIKeyEnv)
	if key == "" && g.APIKeyEnv != "" {
		c.err = fmt.Errorf("%s: $%s (generate.api_key_env) is not set", name, g.APIKeyEnv)
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	u, err := url.Parse(spec)
	if err != nil {
		c.err = fmt.Errorf("%s: not a URL", name)
		return c
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.JoinPath("models").String(), nil)
	if err != nil {
		c.err = fmt.Errorf("%s: %w", name, err)
		return c
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// The error names the URL as given: keep its credentials out.
		c.err = fmt.Errorf("%s: unreachable", name)
		return c
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.err = fmt.Errorf("%s/models: HTTP %d (with the key in $%s)", name, resp.StatusCode, g.APIKeyEnv)
		return c
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil {
		c.err = fmt.Errorf("%s/models: %w", name, err)
		return c
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	if !slices.Contains(ids, g.Model) {
		c.err = fmt.Errorf("%s does not serve %q (it serves %s)", name, g.Model, strings.Join(ids, ", "))
		return c
	}
	c.ok = fmt.Sprintf("%s serves %s; key in $%s", name, g.Model, g.APIKeyEnv)
	return c
}

// checkInputs checks that every file the recipe reads is there.
func checkInputs(opts RunOptions) recipeCheck {
	c := recipeCheck{name: "inputs"}
	files := map[string]string{"generate.prompts": opts.Generate.Prompts, "rl.prompts": opts.RL.Prompts, "eval.prompts": opts.Eval.Prompts}
	for i, f := range opts.Filter.Decontam.Files {
		files[fmt.Sprintf("filter.decontaminate.files[%d]", i)] = f
	}
	for i, s := range opts.Train.ExtraData {
		files[fmt.Sprintf("train.extra_data[%d]", i)] = s.Path
	}
	var missing []string
	n := 0
	for _, key := range slices.Sorted(maps.Keys(files)) {
		p := files[key]
		if p == "" || strings.HasPrefix(p, "builtin:") {
			continue
		}
		n++
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, fmt.Sprintf("%s %s", key, p))
		}
	}
	if len(missing) > 0 {
		c.err = fmt.Errorf("missing: %s", strings.Join(missing, "; "))
	}
	c.ok = fmt.Sprintf("%d files present", n)
	return c
}

// recipeStudent is the student the recipe starts from, and its
// configuration: train.init's, or the preset's.
func recipeStudent(t TrainOptions) (string, *model.Config, error) {
	src := cmp.Or(t.Init, t.Student)
	if checkpoint.IsCheckpoint(src) {
		cfg, err := checkpoint.LoadConfig(src)
		return src, cfg, err
	}
	if t.Init != "" {
		return "", nil, fmt.Errorf("train.init %s: no checkpoint (config.json) there", t.Init)
	}
	cfg, err := model.LookupPreset(src)
	if err != nil {
		return "", nil, fmt.Errorf("train.student: %w", err)
	}
	return src, cfg, nil
}

// checkContext refuses lengths beyond the context of the model each stage
// runs: the base's for eval-base and rl-only, the trained student's (the
// base's unless train extends it) for rl and the later evaluations. It
// returns the trained student's configuration.
func checkContext(opts RunOptions, student string, base *model.Config) (*model.Config, error) {
	trained := *base
	t := opts.Train.Options
	if err := t.ApplyContext(&trained, student); err != nil {
		return &trained, fmt.Errorf("train: %w", err)
	}
	skip := func(stage string) bool { return slices.Contains(opts.Skip, stage) }
	var errs []string
	fits := func(key string, n int, stage string, cfg *model.Config) {
		if skip(stage) || cfg.MaxPositionEmbeddings == 0 || n < cfg.MaxPositionEmbeddings {
			return
		}
		hint := "lower it or skip the stage"
		if cfg == &trained {
			hint = "lower it, or extend the context with train.max_position_embeddings and train.rope_theta"
		}
		errs = append(errs, fmt.Sprintf("%s %d leaves no room for a prompt in %s's context of %d positions (%s: %s)",
			key, n, stage, cfg.MaxPositionEmbeddings, student, hint))
	}
	fits("rl.max_new_tokens", opts.RL.MaxNewTokens, "rl", &trained)
	fits("rl.max_new_tokens", opts.RL.MaxNewTokens, "rl-only", base)
	for _, s := range []struct {
		stage string
		cfg   *model.Config
	}{{"base", base}, {"sft", &trained}, {"rl", &trained}, {"rl-only", base}} {
		if !skip(s.stage) {
			fits("eval.max_tokens", opts.Eval.MaxTokens, "eval-"+s.stage, s.cfg)
		}
	}
	if len(errs) > 0 {
		return &trained, fmt.Errorf("recipe: %s", strings.Join(errs, "; "))
	}
	return &trained, nil
}

// checkTrainMemory checks a training stage (train, pretrain) against this
// machine: the Go trainer's estimate, or the GPUs a TRL job asks for.
func checkTrainMemory(stage string, t TrainOptions, cfg *model.Config) recipeCheck {
	c := recipeCheck{name: stage}
	eng := cmp.Or(t.Engine, "go")
	if eng == "trl" && t.GPUsPerNode > 0 {
		if n := visibleGPUs(); n < t.GPUsPerNode && t.Launcher == "local" {
			c.err = fmt.Errorf("train.engine trl asks for %d GPUs per node; %d visible here", t.GPUsPerNode, n)
		}
		c.ok = fmt.Sprintf("TRL on %d GPUs per node (%s launcher)", t.GPUsPerNode, t.Launcher)
		return c
	}
	o := t.Options
	o.SeqLen = cmp.Or(o.SeqLen, train.Defaults.SeqLen)
	o.MicroBatch = cmp.Or(o.MicroBatch, train.Defaults.MicroBatch)
	c.err = train.CheckMemory(cfg, o.MicroBatch, o.SeqLen, o.MemoryOptions())
	c.ok = fmt.Sprintf("%s engine fits in %s", eng, memory.Format(memory.Available()))
	return c
}

// promptTokensBound bounds the tokens of the longest prompt without a
// tokenizer: no byte-level BPE token is shorter than a byte, and the chat
// template adds fewer than templateBytes.
func promptTokensBound(ps []record.Prompt, userTemplate string) int {
	const templateBytes = 128
	longest := 0
	for _, p := range ps {
		longest = max(longest, len(rl.UserMessage(userTemplate, p)))
	}
	return longest + templateBytes
}

// checkRLMemory checks GRPO's memory (policy, reference, rollouts) on the
// trained student, with the recipe's prompts at their longest.
func checkRLMemory(ctx context.Context, r RLOptions, cfg *model.Config) recipeCheck {
	c := recipeCheck{name: "rl"}
	if r.Engine == "trl" {
		c.ok = "TRL engine (GPUs)"
		return c
	}
	tmpl, err := sampler.ResolveTemplate(r.Template, nil)
	if err != nil {
		c.err = fmt.Errorf("rl.template: %w", err)
		return c
	}
	ps, err := rlLoadPrompts(ctx, r)
	if err != nil {
		c.err = err
		return c
	}
	o := r.Options
	longest := promptTokensBound(ps, tmpl.Text)
	seq := o.SeqLen
	if seq == 0 {
		seq = longest + o.MaxNewTokens
		if mp := cfg.MaxPositionEmbeddings; mp > 0 {
			seq = min(seq, mp)
		}
	}
	c.err = rl.CheckMemory(cfg, &o, seq, min(longest, seq-1))
	c.ok = fmt.Sprintf("GRPO fits in %s (prompts of up to %d tokens)", memory.Format(memory.Available()), longest)
	return c
}

// checkEvalMemory checks the evaluation of the trained student: its
// weights and the KV caches of one batch of the longest prompts.
func checkEvalMemory(ctx context.Context, e EvalOptions, cfg *model.Config) recipeCheck {
	c := recipeCheck{name: "eval"}
	tmpl, err := sampler.ResolveTemplate(e.Template, nil)
	if err != nil {
		c.err = fmt.Errorf("eval.template: %w", err)
		return c
	}
	ps, err := evalPrompts(ctx, e)
	if err != nil {
		c.err = err
		return c
	}
	longest := promptTokensBound(ps, tmpl.Text)
	seqs := min((&eval.Checkpoint{Batch: e.Batch}).BatchSize(), len(ps)*e.Samples)
	need := memory.Generation(cfg, seqs, longest+e.MaxTokens, e.Temperature > 0)
	avail := memory.Available()
	if err := need.Check(avail); err != nil {
		c.err = fmt.Errorf("%d sequences of up to %d tokens: %w; lower eval.batch or eval.max_tokens", seqs, longest+e.MaxTokens, err)
		return c
	}
	c.ok = fmt.Sprintf("%d sequences at a time need %s of %s", seqs, memory.Format(need.Total), memory.Format(avail))
	return c
}

// checkDisk compares the free space where the run directory goes with what
// the run writes at most: the journal (each sample's text, ~4 bytes a
// token, halved by zstd when compress is set) and the trainer's token
// cache (a 4-byte id and a mask byte per token of each kept trace).
func checkDisk(opts RunOptions) recipeCheck {
	c := recipeCheck{name: "disk"}
	g := opts.Generate
	prompts := int64(g.NumPrompts)
	if prompts == 0 {
		prompts = countLines(g.Prompts)
	}
	tokens := prompts * int64(g.Samples) * int64(g.MaxTokens)
	journal := 4 * tokens
	if g.Compress {
		journal /= 2
	}
	need := journal + 5*tokens
	dir := opts.Out
	for {
		if _, err := os.Stat(dir); err == nil || dir == filepath.Dir(dir) {
			break
		}
		dir = filepath.Dir(dir)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		c.err = fmt.Errorf("%s: %w", dir, err)
		return c
	}
	free := int64(st.Bavail) * st.Bsize
	if need > free {
		c.err = fmt.Errorf("%s has %s free; the journal and token cache may need %s (%d prompts × %d samples × %d tokens)",
			dir, memory.Format(free), memory.Format(need), prompts, g.Samples, g.MaxTokens)
	}
	c.ok = fmt.Sprintf("%s free in %s for at most %s", memory.Format(free), dir, memory.Format(need))
	return c
}

// countLines counts the records of a JSONL prompt file (0 when it cannot
// be read; the inputs check reports that).
func countLines(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		n++
	}
	return n
}

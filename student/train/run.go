package train

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/graph"
	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// Options configure one SFT run. Zero values take the defaults in Defaults.
type Options struct {
	Student         string  `yaml:"student" path:"model" flag:"student" usage:"preset (distill models lists them) or HF checkpoint directory"`
	Init            string  `yaml:"init" path:"model" flag:"init" usage:"HF checkpoint directory whose weights and tokenizer to start from"`
	Data            Mixture `yaml:"data" flag:"data" usage:"dataset directory written by distill filter (or any Parquet with a messages column), as DIR[:WEIGHT[:MAX_ROWS]]: repeat it for a mixture, each source keeping WEIGHT of its train rows (chosen by --seed), at most MAX_ROWS"`
	Out             string  `yaml:"out" flag:"out" usage:"output directory: the model in HF layout, metrics.jsonl, checkpoints/"`
	Epochs          int     `yaml:"epochs" flag:"epochs"`
	MaxSteps        int     `yaml:"max_steps" flag:"max-steps" usage:"stop after this many updates (0: the epochs decide)"`
	LR              float64 `yaml:"lr" flag:"lr" usage:"peak learning rate"`
	MinLRRatio      float64 `yaml:"min_lr_ratio" flag:"min-lr-ratio" usage:"final learning rate as a fraction of the peak"`
	WarmupSteps     int     `yaml:"warmup_steps" flag:"warmup-steps"`
	Schedule        string  `yaml:"schedule" flag:"schedule" usage:"cosine, linear or constant"`
	MicroBatch      int     `yaml:"micro_batch" flag:"micro-batch" usage:"rows of --seq-len tokens per forward pass"`
	GradAccum       int     `yaml:"grad_accum" flag:"grad-accum" usage:"micro-batches per update"`
	SeqLen          int     `yaml:"seq_len" flag:"seq-len" usage:"tokens per sequence (at most the student's max_position_embeddings)"`
	Packing         bool    `yaml:"packing" flag:"packing" usage:"pack several examples per row (exact: no attention across them)"`
	DropLong        bool    `yaml:"drop_long" flag:"drop-long" usage:"drop examples longer than --seq-len instead of truncating them"`
	WeightDecay     float64 `yaml:"weight_decay" flag:"weight-decay"`
	MaxGradNorm     float64 `yaml:"max_grad_norm" flag:"max-grad-norm" usage:"clip the global gradient norm (0: off)"`
	Seed            uint64  `yaml:"seed" flag:"seed"`
	EvalEvery       int     `yaml:"eval_every" flag:"eval-every" usage:"updates between held-out losses (test shards)"`
	SaveEvery       int     `yaml:"save_every" flag:"save-every" usage:"updates between checkpoints"`
	KeepCheckpoints int     `yaml:"keep_checkpoints"`
	Resume          bool    `yaml:"resume" flag:"resume" usage:"continue from the last checkpoint in --out"`
	// The student's context, extended as open-r1 extended Qwen2.5-Math's
	// 4,096 positions to 32,768 (a larger RoPE θ): a context beyond the
	// checkpoint's own needs an explicit RopeTheta.
	MaxPositionEmbeddings int     `yaml:"max_position_embeddings" flag:"max-position-embeddings" usage:"extend the student's context to this many positions (needs --rope-theta beyond its own)"`
	RopeTheta             float64 `yaml:"rope_theta" flag:"rope-theta" usage:"RoPE base for an extended context (open-r1: 300000 for 32,768 positions)"`
	Template              string  `yaml:"template" flag:"template" usage:"chat template (chatml, qwen2.5, llama3, deepseek-r1; default: chatml for a fresh student, the checkpoint's own with --init)"`
	// LoRARank > 0 trains low-rank adapters of that rank on a frozen base
	// instead of every weight; LoRAAlpha scales them (alpha/rank; default
	// 2·rank); LoRATargets names the projections ("all-linear", the
	// default, or e.g. "q_proj,v_proj").
	LoRARank    int     `yaml:"lora_rank" flag:"lora-rank" usage:"train LoRA adapters of this rank on a frozen base (0: every weight); OUT gets the merged model and OUT/adapter the PEFT adapter"`
	LoRAAlpha   float64 `yaml:"lora_alpha" flag:"lora-alpha" usage:"LoRA scale numerator: adapters are scaled by alpha/rank (default 2×rank)"`
	LoRATargets string  `yaml:"lora_targets" flag:"lora-targets" usage:"projections to adapt: all-linear (the default), or a list such as q_proj,v_proj"`
	// GradientCheckpointing keeps only each layer's output through the
	// forward pass and recomputes the rest for the backward pass: activation
	// memory of one layer instead of all, for about a third more compute.
	GradientCheckpointing bool `yaml:"gradient_checkpointing" flag:"gradient-checkpointing" usage:"keep only each layer's output and recompute the rest in the backward pass: far less activation memory, about a third more compute"`

	// Step is called after every update; nil for none.
	Step func(m Metric, total int) `yaml:"-"`
	// Logf receives one-line messages; nil for none.
	Logf func(format string, args ...any) `yaml:"-"`
}

// Defaults are the settings a run without flags gets: those of the
// quickstart's tiny student.
var Defaults = Options{
	Epochs: 1, LR: 2e-3, MinLRRatio: 0.1, WarmupSteps: 20, Schedule: "cosine",
	MicroBatch: 8, GradAccum: 1, SeqLen: 256, Packing: true, WeightDecay: 0.1,
	MaxGradNorm: 1, Seed: 1, EvalEvery: 50, SaveEvery: 200, KeepCheckpoints: 2,
}

// Result summarises a run.
type Result struct {
	Steps          int
	Loss           float64 // last update's training loss
	FirstEvalLoss  float64 // held-out loss before training (NaN without test data)
	EvalLoss       float64 // held-out loss at the end
	Examples       int
	Truncated      int
	Dropped        int
	Skipped        int
	TokensPerSec   float64
	CheckpointPath string
}

// ErrNonFinite stops a run whose loss became NaN or Inf.
var ErrNonFinite = errors.New("loss is not finite")

func (o *Options) fill() error {
	d := Defaults
	o.Epochs = cmp.Or(o.Epochs, d.Epochs)
	o.LR = cmp.Or(o.LR, d.LR)
	o.MicroBatch = cmp.Or(o.MicroBatch, d.MicroBatch)
	o.GradAccum = cmp.Or(o.GradAccum, d.GradAccum)
	o.SeqLen = cmp.Or(o.SeqLen, d.SeqLen)
	o.KeepCheckpoints = cmp.Or(o.KeepCheckpoints, d.KeepCheckpoints)
	o.Schedule = cmp.Or(o.Schedule, d.Schedule)
	o.Seed = cmp.Or(o.Seed, d.Seed)
	o.LoRAAlpha = cmp.Or(o.LoRAAlpha, 2*float64(o.LoRARank))
	if err := ParseScheduleKind(o.Schedule); err != nil {
		return err
	}
	switch {
	case o.Student == "" && o.Init == "":
		return errors.New("--student: a preset name or an HF checkpoint directory is required")
	case len(o.Data) == 0:
		return errors.New("--data: the dataset directory is required")
	case o.Out == "":
		return errors.New("--out: the output directory is required")
	case o.MicroBatch < 0 || o.GradAccum < 0 || o.SeqLen < 2:
		return errors.New("--micro-batch, --grad-accum and --seq-len must be positive (seq-len ≥ 2)")
	case o.LR < 0 || o.WeightDecay < 0 || o.MaxGradNorm < 0:
		return errors.New("--lr, --weight-decay and --max-grad-norm must not be negative")
	case o.LoRARank < 0 || o.LoRAAlpha < 0:
		return errors.New("--lora-rank and --lora-alpha must not be negative")
	}
	if _, err := lora.ParseTargets(o.LoRATargets); err != nil {
		return fmt.Errorf("--lora-targets: %w", err)
	}
	return nil
}

// MemoryOptions says how o trains, for the memory estimate.
func (o *Options) MemoryOptions() memory.Options {
	return memory.Options{LoRARank: o.LoRARank, GradientCheckpointing: o.GradientCheckpointing}
}

func (o *Options) graphOptions() []graph.Option {
	if o.GradientCheckpointing {
		return []graph.Option{graph.GradientCheckpointing()}
	}
	return nil
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// buildStudent returns the student to train, after checking that the run
// fits in memory (before the weights are allocated). A LoRA run's
// checkpoints hold only the adapters: its base always comes from --init or
// --student.
func buildStudent(o *Options, resumeDir string) (*student.Student, error) {
	src := resumeDir
	if o.LoRARank > 0 {
		src = ""
	}
	if src == "" {
		src = o.Init
	}
	if src == "" {
		if checkpoint.IsCheckpoint(o.Student) {
			src = o.Student
		}
	}
	if src != "" {
		cfg, err := checkpoint.LoadConfig(src)
		if err != nil {
			return nil, err
		}
		if err := o.ApplyContext(cfg, src); err != nil {
			return nil, err
		}
		if err := CheckMemory(cfg, o.MicroBatch, o.SeqLen, o.MemoryOptions()); err != nil {
			return nil, err
		}
		st, err := student.Open(src)
		if err != nil {
			return nil, err
		}
		st.Weights.Config.MaxPositionEmbeddings, st.Weights.Config.RopeTheta = cfg.MaxPositionEmbeddings, cfg.RopeTheta
		if o.Template == "" {
			return st, nil
		}
		// --template replaces the checkpoint's own chat template; the
		// checkpoints of the run are saved with it.
		tmpl, err := tokenizer.TemplateFor(o.Template)
		if err == nil {
			err = tmpl.Check(st.Tok)
		}
		if err != nil {
			return nil, fmt.Errorf("--template %s with %s: %w", o.Template, src, err)
		}
		st.Template = tmpl
		return st, nil
	}
	return NewStudent(o)
}

// NewStudent builds the fresh, randomly initialised student of a preset
// (o.Student) with the tokenizer and chat template it is trained with; the
// pipeline evaluates it as "before training".
func NewStudent(o *Options) (*student.Student, error) {
	if o.Template == "" {
		o.Template = "chatml"
	}
	cfg, err := model.LookupPreset(o.Student)
	if err != nil {
		return nil, fmt.Errorf("--student: %w", err)
	}
	tmpl, err := tokenizer.TemplateFor(o.Template)
	if err != nil {
		return nil, fmt.Errorf("--template: %w", err)
	}
	if err := o.ApplyContext(cfg, o.Student); err != nil {
		return nil, err
	}
	// A fresh student gets a byte-level tokenizer: it needs no training and
	// suits the short traces tiny students learn from. It has the template's
	// special tokens, so that every --template can be rendered (llama3's and
	// deepseek-r1's are not among the defaults). The preset's vocab size
	// gives way to the tokenizer's.
	tok := tokenizer.NewByteLevel(tmpl.Tokens)
	cfg.VocabSize = tok.VocabSize()
	if eos, ok := tok.EOS(); ok {
		cfg.EOSTokenID = model.TokenIDs{int(eos)}
	}
	// Checked on the shape that is built: the byte-level vocabulary is far
	// smaller than the preset's.
	if err := CheckMemory(cfg, o.MicroBatch, o.SeqLen, o.MemoryOptions()); err != nil {
		return nil, err
	}
	w := model.NewWeights(cfg)
	w.Init(o.Seed)
	return &student.Student{Weights: w, Tok: tok, Template: tmpl}, nil
}

// Run trains. It stops cleanly when ctx is cancelled, after saving a
// checkpoint of the last finished update.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	var resumeDir string
	if o.Resume {
		dirs, err := CheckpointDirs(o.Out)
		if err != nil {
			return nil, err
		}
		if len(dirs) > 0 {
			resumeDir = dirs[len(dirs)-1]
		} else {
			o.logf("--resume: no checkpoint in %s, starting from the beginning", o.Out)
		}
	}
	st, err := buildStudent(&o, resumeDir)
	if err != nil {
		return nil, err
	}
	w := st.Weights

	plan, err := PlanMixture(o.Data, o.Seed)
	if err != nil {
		return nil, err
	}
	if err := plan.Record(o.Out, o.logf); err != nil {
		return nil, err
	}
	trainSet, err := loadSplit(ctx, &o, st.Tok, st.Template, plan, "train")
	if err != nil {
		return nil, err
	}
	defer trainSet.Close()
	if trainSet.Len() == 0 {
		return nil, fmt.Errorf("--data %s: no conversation with an assistant turn", o.Data)
	}
	testSet, err := loadSplit(ctx, &o, st.Tok, st.Template, plan, "test")
	if err != nil {
		return nil, err
	}
	defer testSet.Close()
	canon := canonicalOrder(trainSet)
	packer := Packer{Seq: o.SeqLen, Packing: o.Packing, DropLong: o.DropLong}
	counts := packer.rows(trainSet, canon) // counts truncations and drops once
	rowsPerEpoch := counts.skip(math.MaxInt)
	if rowsPerEpoch == 0 {
		return nil, fmt.Errorf("--drop-long: every example is longer than --seq-len %d", o.SeqLen)
	}
	testRows := packer.rows(testSet, nil).skip(math.MaxInt)
	rowsPerStep := o.MicroBatch * o.GradAccum
	stepsPerEpoch := (rowsPerEpoch + rowsPerStep - 1) / rowsPerStep
	total := stepsPerEpoch * o.Epochs
	if o.MaxSteps > 0 {
		total = o.MaxSteps
	}
	res := &Result{Examples: trainSet.Len(), Truncated: counts.truncated, Dropped: counts.dropped, Skipped: trainSet.skipped,
		FirstEvalLoss: math.NaN(), EvalLoss: math.NaN()}
	o.logf("%d examples (%d rows of %d tokens, %d truncated, %d dropped, %d without an assistant turn), %d test examples; %d updates of %d×%d rows",
		trainSet.Len(), rowsPerEpoch, o.SeqLen, counts.truncated, counts.dropped, trainSet.skipped, testSet.Len(), total, o.MicroBatch, o.GradAccum)

	var adapters *lora.Adapters
	var g *graph.Graph
	if o.LoRARank > 0 {
		if adapters, err = newAdapters(&o, w.Config, resumeDir); err != nil {
			return nil, err
		}
		o.logf("LoRA: rank %d, alpha %g on %v: %d trainable parameters (%.2f%% of %d)", adapters.Rank, adapters.Alpha,
			adapters.Targets, adapters.NumParams(), 100*float64(adapters.NumParams())/float64(w.Config.NumParams()), w.Config.NumParams())
		g, err = graph.NewLoRA(w, adapters, o.MicroBatch, o.SeqLen, o.graphOptions()...)
	} else {
		g, err = graph.New(w, o.MicroBatch, o.SeqLen, o.graphOptions()...)
	}
	if err != nil {
		return nil, err
	}
	params, grads := g.Trainable()
	opt := NewAdamW(params, 0.9, 0.95, 1e-8, o.WeightDecay)
	state := State{Seed: o.Seed}
	if resumeDir != "" {
		if state, err = LoadState(resumeDir, opt, params); err != nil {
			return nil, fmt.Errorf("--resume %s: %w", resumeDir, err)
		}
		if state.Seed != o.Seed {
			return nil, fmt.Errorf("--resume: checkpoint %s was trained with --seed %d, not %d", resumeDir, state.Seed, o.Seed)
		}
		o.logf("resuming from %s at update %d", resumeDir, state.Step)
	}
	ml, err := OpenMetrics[Metric](filepath.Join(o.Out, "metrics.jsonl"), state.Step)
	if err != nil {
		return nil, err
	}
	defer ml.Close()

	sched := Schedule{Kind: o.Schedule, Peak: o.LR, Warmup: o.WarmupSteps, Total: total, MinRatio: o.MinLRRatio}
	if testSet.Len() > 0 {
		if l, err := evalLoss(g, packer.rows(testSet, nil), o.MicroBatch, o.SeqLen); err == nil {
			res.FirstEvalLoss = l
			o.logf("held-out loss before this run: %.4f", l)
		} else {
			return nil, err
		}
	}

	cur := packer.rows(trainSet, epochOrder(canon, o.Seed, state.Epoch))
	cur.skip(state.Row) // where a resumed run left its epoch
	nextRow := func(tok, tgt, seg []int32) bool {
		if !cur.next(tok, tgt, seg) {
			state.Epoch++
			state.Row = 0
			cur = packer.rows(trainSet, epochOrder(canon, o.Seed, state.Epoch))
			cur.next(tok, tgt, seg) // every order has rows: it keeps the same examples
		}
		state.Row++
		return true
	}
	start := time.Now()
	tokensAtStart := state.Tokens
	lastGood := resumeDir
	batches := make([]*microBatch, o.GradAccum)
	for i := range batches {
		batches[i] = newBatch(o.MicroBatch, o.SeqLen)
	}
	for state.Step < total {
		if err := ctx.Err(); err != nil {
			break
		}
		// Gather this update's rows, crossing into the next epoch as needed.
		n := 0
		for _, b := range batches {
			b.fill(nextRow)
			n += b.counted
		}
		g.ZeroGrads()
		var lossSum float64
		for _, batch := range batches {
			lp, err := g.Forward(batch.tokens, batch.targets, batch.segments)
			if err != nil {
				return nil, err
			}
			for i, t := range batch.targets {
				if t >= 0 {
					lossSum -= float64(lp[i])
					batch.coef[i] = 1 / float32(max(n, 1))
				} else {
					batch.coef[i] = 0
				}
			}
			if err := g.Backward(batch.coef); err != nil {
				return nil, err
			}
			state.Tokens += int64(batch.real)
		}
		loss := lossSum / float64(max(n, 1))
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			where := "no checkpoint was written yet"
			if lastGood != "" {
				where = "the last good checkpoint is " + lastGood
			}
			return nil, fmt.Errorf("update %d: %w (%v); %s; try a lower --lr", state.Step+1, ErrNonFinite, loss, where)
		}
		norm := ClipGradNorm(grads, o.MaxGradNorm)
		lr := sched.LR(state.Step)
		opt.Update(params, grads, lr)
		state.Step++
		state.LastLoss = loss
		el := time.Since(start).Seconds()
		m := Metric{Step: state.Step, Epoch: state.Epoch, Loss: loss, LR: lr, GradNorm: norm, Tokens: state.Tokens,
			TokensSec: float64(state.Tokens-tokensAtStart) / math.Max(el, 1e-9), Elapsed: el}
		if o.EvalEvery > 0 && testRows > 0 && (state.Step%o.EvalEvery == 0 || state.Step == total) {
			l, err := evalLoss(g, packer.rows(testSet, nil), o.MicroBatch, o.SeqLen)
			if err != nil {
				return nil, err
			}
			if !math.IsNaN(l) { // NaN: no held-out row kept an assistant token
				m.EvalLoss = &l
				res.EvalLoss = l
			}
		}
		if err := ml.Write(m); err != nil {
			return nil, err
		}
		if o.Step != nil {
			o.Step(m, total)
		}
		res.Loss, res.TokensPerSec = loss, m.TokensSec
		if o.SaveEvery > 0 && state.Step%o.SaveEvery == 0 && state.Step < total {
			if lastGood, err = saveCheckpoint(st, adapters, &o, state, opt, params); err != nil {
				return nil, err
			}
		}
	}
	res.Steps = state.Step
	if state.Step == 0 {
		return res, ctx.Err()
	}
	// The final (or interrupted) state: a resumable checkpoint, and the
	// model itself in OUT, where eval, rl and transformers look for it.
	if lastGood, err = saveCheckpoint(st, adapters, &o, state, opt, params); err != nil {
		return nil, err
	}
	res.CheckpointPath = lastGood
	if adapters != nil {
		err = publishLoRA(st, adapters, lastGood, o.Out)
	} else {
		err = Publish(lastGood, o.Out)
	}
	if err != nil {
		return nil, err
	}
	if testRows > 0 && math.IsNaN(res.EvalLoss) {
		if res.EvalLoss, err = evalLoss(g, packer.rows(testSet, nil), o.MicroBatch, o.SeqLen); err != nil {
			return nil, err
		}
	}
	return res, ctx.Err()
}

// saveCheckpoint writes a resumable checkpoint: the model (or, in a LoRA
// run, only the adapters), the optimiser and the trainer state.
func saveCheckpoint(st *student.Student, a *lora.Adapters, o *Options, state State, opt *AdamW, params []model.Named) (string, error) {
	dir := filepath.Join(o.Out, "checkpoints", fmt.Sprintf("step-%08d", state.Step))
	var err error
	if a != nil {
		err = lora.Save(dir, a)
	} else {
		err = st.Save(dir, GenerationConfig(st))
	}
	if err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := SaveState(dir, state, opt, params); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	dirs, err := CheckpointDirs(o.Out)
	if err != nil {
		return "", err
	}
	for len(dirs) > o.KeepCheckpoints {
		if err := os.RemoveAll(dirs[0]); err != nil {
			return "", err
		}
		dirs = dirs[1:]
	}
	return dir, nil
}

// GenerationConfig is the generation_config.json of a student's
// checkpoints: R1's sampling defaults, and the chat template's stop tokens
// as eos_token_id, so that transformers' and vLLM's generate stop where
// distill's decoder does.
func GenerationConfig(st *student.Student) checkpoint.GenerationConfig {
	gc := checkpoint.GenerationConfig{DoSample: true, Temperature: 0.6, TopP: 0.95}
	for _, id := range st.Template.StopTokens(st.Tok) {
		gc.EOSTokenID = append(gc.EOSTokenID, int(id))
	}
	return gc
}

// Publish puts the model files of a checkpoint into out, each renamed into
// place, leaving out's other files (metrics, checkpoints) alone. Files are
// hard-linked where the file system allows (no copy of a multi-gigabyte
// model, and no second copy in memory), else streamed.
func Publish(ckpt, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(ckpt)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || name == stateFile || name == optimizerFile {
			continue
		}
		if err := publishFile(filepath.Join(ckpt, name), filepath.Join(out, name)); err != nil {
			return err
		}
	}
	return nil
}

// publishFile puts src at dst by a hard link, else by a copy. The link is
// synced too: a checkpoint may come from a run that never synced it.
func publishFile(src, dst string) error {
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	os.Remove(tmp) // a leftover of an interrupted publish
	if err := os.Link(src, tmp); err == nil {
		return atomicfile.Rename(tmp, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := atomicfile.Create(dst, 0o644)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("publish %s: %w", dst, err)
	}
	return out.Commit()
}

// microBatch holds one micro-batch in the graph's flat layout.
type microBatch struct {
	rows, seq                 int
	tokens, targets, segments []int32
	coef                      []float32
	real                      int // non-padding tokens
	counted                   int // targets the loss counts
}

func newBatch(rows, seq int) *microBatch {
	return &microBatch{rows: rows, seq: seq, tokens: make([]int32, rows*seq), targets: make([]int32, rows*seq),
		segments: make([]int32, rows*seq), coef: make([]float32, rows*seq)}
}

// fill takes rows from next until it has b.rows of them or next has no
// more; the rows it lacks (the tail of the test set) are padding. It
// returns how many rows it took.
func (b *microBatch) fill(next func(tok, tgt, seg []int32) bool) int {
	taken := 0
	for r := 0; r < b.rows; r++ {
		lo, hi := r*b.seq, (r+1)*b.seq
		tok, tgt, seg := b.tokens[lo:hi], b.targets[lo:hi], b.segments[lo:hi]
		if taken == r && next(tok, tgt, seg) {
			taken++
			continue
		}
		for i := range tok {
			tok[i], tgt[i], seg[i] = 0, -1, -1
		}
	}
	b.real, b.counted = 0, 0
	for i, s := range b.segments {
		if s >= 0 {
			b.real++
		}
		if b.targets[i] >= 0 {
			b.counted++
		}
	}
	return taken
}

// evalLoss is the mean cross-entropy over the counted targets of rows.
func evalLoss(g *graph.Graph, rows *packedRows, microBatch, seq int) (float64, error) {
	b := newBatch(microBatch, seq)
	var sum float64
	n := 0
	for b.fill(rows.next) > 0 {
		lp, err := g.Forward(b.tokens, b.targets, b.segments)
		if err != nil {
			return 0, err
		}
		for k, t := range b.targets {
			if t >= 0 {
				sum -= float64(lp[k])
				n++
			}
		}
	}
	if n == 0 {
		return math.NaN(), nil
	}
	return sum / float64(n), nil
}

// ApplyContext sets the context options on cfg, the configuration of the
// student named by src, and checks --seq-len against the result: a
// sequence beyond max_position_embeddings would meet positions the model
// never saw.
func (o *Options) ApplyContext(cfg *model.Config, src string) error {
	native := cfg.MaxPositionEmbeddings
	if o.RopeTheta > 0 {
		cfg.RopeTheta = o.RopeTheta
	}
	if n := o.MaxPositionEmbeddings; n > 0 {
		if n > native && o.RopeTheta == 0 {
			return fmt.Errorf("--max-position-embeddings %d is beyond %s's %d positions: give --rope-theta too (open-r1 took Qwen2.5-Math from 4,096 to 32,768 positions with θ 300,000)", n, src, native)
		}
		cfg.MaxPositionEmbeddings = n
	}
	if mp := cfg.MaxPositionEmbeddings; mp > 0 && o.SeqLen > mp {
		return fmt.Errorf("--seq-len %d is beyond %s's context of %d positions (max_position_embeddings): lower it, or extend the context with --max-position-embeddings and --rope-theta", o.SeqLen, src, mp)
	}
	return nil
}

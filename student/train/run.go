// Package train fine-tunes a student (SFT): packed batches with an
// assistant-only loss mask and gradient accumulation, as a method of
// student/trainer's loop, which brings AdamW with warmup and a decaying
// schedule, clipping, checkpoints with exact resume, and LoRA.
//
// Of ours it may import only `dataset`, `internal/atomicfile`,
// `internal/mmap`, `student`, `student/blas`, `student/checkpoint`,
// `student/graph`, `student/lora`, `student/memory`, `student/model`,
// `student/tokenizer` and `student/trainer`.
package train

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/graph"
	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
	"github.com/distill-dev/distill/student/trainer"
)

// Options configure one SFT run. Zero values take the defaults in Defaults.
type Options struct {
	Student    string  `yaml:"student" path:"model" flag:"student" usage:"preset (distill models lists them) or HF checkpoint directory"`
	Init       string  `yaml:"init" path:"model" flag:"init" usage:"HF checkpoint directory whose weights and tokenizer to start from"`
	Data       Mixture `yaml:"data" flag:"data" usage:"dataset directory written by distill filter (or any Parquet with a messages column), as DIR[:WEIGHT[:MAX_ROWS]]: repeat it for a mixture, each source keeping WEIGHT of its train rows (chosen by --seed), at most MAX_ROWS"`
	Out        string  `yaml:"out" flag:"out" usage:"output directory: the model in HF layout, metrics.jsonl, checkpoints/"`
	Epochs     int     `yaml:"epochs" flag:"epochs"`
	MaxSteps   int     `yaml:"max_steps" flag:"max-steps" usage:"stop after this many updates (0: the epochs decide)"`
	MicroBatch int     `yaml:"micro_batch" flag:"micro-batch" usage:"rows of --seq-len tokens per forward pass"`
	GradAccum  int     `yaml:"grad_accum" flag:"grad-accum" usage:"micro-batches per update"`
	SeqLen     int     `yaml:"seq_len" flag:"seq-len" usage:"tokens per sequence (at most the student's max_position_embeddings)"`
	Packing    bool    `yaml:"packing" flag:"packing" usage:"pack several examples per row (exact: no attention across them)"`
	DropLong   bool    `yaml:"drop_long" flag:"drop-long" usage:"drop examples longer than --seq-len instead of truncating them"`
	Seed       uint64  `yaml:"seed" flag:"seed"`
	EvalEvery  int     `yaml:"eval_every" flag:"eval-every" usage:"updates between held-out losses (test shards)"`
	// The student's context, extended as open-r1 extended Qwen2.5-Math's
	// 4,096 positions to 32,768 (a larger RoPE θ): a context beyond the
	// checkpoint's own needs an explicit RopeTheta.
	MaxPositionEmbeddings int     `yaml:"max_position_embeddings" flag:"max-position-embeddings" usage:"extend the student's context to this many positions (needs --rope-theta beyond its own)"`
	RopeTheta             float64 `yaml:"rope_theta" flag:"rope-theta" usage:"RoPE base for an extended context (open-r1: 300000 for 32,768 positions)"`
	Template              string  `yaml:"template" flag:"template" usage:"chat template (chatml, qwen2.5, llama3, deepseek-r1; default: chatml for a fresh student, the checkpoint's own with --init)"`
	// The loop's options: schedule, optimiser, checkpoints, LoRA.
	trainer.Options `yaml:",inline"`

	// Step is called after every update; nil for none.
	Step func(m Metric, total int) `yaml:"-"`
	// Logf receives one-line messages; nil for none.
	Logf func(format string, args ...any) `yaml:"-"`
}

// Defaults are the settings a run without flags gets: those of the
// quickstart's tiny student.
var Defaults = Options{
	Epochs: 1, MicroBatch: 8, GradAccum: 1, SeqLen: 256, Packing: true, Seed: 1, EvalEvery: 50,
	Options: trainer.Options{LR: 2e-3, MinLRRatio: 0.1, WarmupSteps: 20, Schedule: "cosine",
		WeightDecay: 0.1, MaxGradNorm: 1, SaveEvery: 200, KeepCheckpoints: 2},
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
	if err := trainer.ParseScheduleKind(o.Schedule); err != nil {
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
	}
	return o.FillLoRA()
}

// lora is o's LoRA configuration; its adapters name the base they belong
// to (--init, else --student), which a resumed run must match.
// MemoryOptions says how o trains, for the memory estimate.
func (o *Options) MemoryOptions() memory.Options {
	return memory.Options{LoRARank: o.LoRARank, GradientCheckpointing: o.GradientCheckpointing}
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
	resumeDir, err := trainer.ResumeDir(o.Out, o.Resume, "the beginning", o.Logf)
	if err != nil {
		return nil, err
	}
	st, err := buildStudent(&o, resumeDir)
	if err != nil {
		return nil, err
	}
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

	if o.LoRARank > 0 && resumeDir == "" && o.Init == "" && !checkpoint.IsCheckpoint(o.Student) {
		o.logf("warning: --lora-rank on the preset %s trains adapters on randomly initialised weights; pass --init with a trained checkpoint", o.Student)
	}
	c := o.Options.Config(cmp.Or(o.Init, o.Student), total)
	c.Out, c.Seed, c.MicroBatch, c.SeqLen, c.Beta2, c.Gen, c.Logf = o.Out, o.Seed, o.MicroBatch, o.SeqLen, 0.95, GenerationConfig(st), o.Logf
	t, err := trainer.New(st, c, resumeDir)
	if err != nil {
		return nil, err
	}
	m := &sft{o: &o, g: t.Graph, res: res, total: total, packer: packer, trainSet: trainSet, testSet: testSet, canon: canon, testRows: testRows}
	if testSet.Len() > 0 {
		if res.FirstEvalLoss, err = m.evalLoss(); err != nil {
			return nil, err
		}
		o.logf("held-out loss before this run: %.4f", res.FirstEvalLoss)
	}
	m.cur = packer.rows(trainSet, epochOrder(canon, o.Seed, t.State.Epoch))
	m.cur.skip(t.State.Row) // where a resumed run left its epoch
	m.batches = make([]*microBatch, o.GradAccum)
	for i := range m.batches {
		m.batches[i] = newBatch(o.MicroBatch, o.SeqLen)
	}
	sum, err := trainer.Run(ctx, t, trainer.Method[Metric](m), o.Step)
	if err != nil && err != ctx.Err() {
		return nil, err
	}
	res.Steps, res.CheckpointPath = t.State.Step, sum.Checkpoint
	if t.State.Step == 0 {
		return res, err
	}
	if testRows > 0 && math.IsNaN(res.EvalLoss) {
		if res.EvalLoss, err = m.evalLoss(); err != nil {
			return nil, err
		}
	}
	return res, ctx.Err()
}

// sft is supervised fine-tuning as the trainer's method: each update step
// is the mean cross-entropy of the assistant tokens of GradAccum
// micro-batches of packed rows.
type sft struct {
	o                 *Options
	g                 *graph.Graph
	res               *Result
	total             int
	packer            Packer
	trainSet, testSet *tokenCache
	canon             []int32
	testRows          int
	cur               *packedRows // the current epoch's rows
	batches           []*microBatch
}

// Step gathers this update's rows, crossing into the next epoch as
// needed, and accumulates their gradient over the micro-batches.
func (m *sft) Step(_ context.Context, s *trainer.State, u *trainer.Update) (Metric, error) {
	next := func(tok, tgt, seg []int32) bool {
		if !m.cur.next(tok, tgt, seg) {
			s.Epoch++
			s.Row = 0
			m.cur = m.packer.rows(m.trainSet, epochOrder(m.canon, m.o.Seed, s.Epoch))
			m.cur.next(tok, tgt, seg) // every order has rows: it keeps the same examples
		}
		s.Row++
		return true
	}
	n := 0
	for _, b := range m.batches {
		b.fill(next)
		n += b.counted
	}
	m.g.ZeroGrads()
	var lossSum float64
	for _, batch := range m.batches {
		lp, err := m.g.Forward(batch.tokens, batch.targets, batch.segments)
		if err != nil {
			return Metric{}, err
		}
		for i, t := range batch.targets {
			if t >= 0 {
				lossSum -= float64(lp[i])
				batch.coef[i] = 1 / float32(max(n, 1))
			} else {
				batch.coef[i] = 0
			}
		}
		if err := m.g.Backward(batch.coef); err != nil {
			return Metric{}, err
		}
		s.Tokens += int64(batch.real)
	}
	loss := lossSum / float64(max(n, 1))
	norm, err := u.Apply(loss)
	if err != nil {
		return Metric{}, err
	}
	return Metric{Loss: loss, LR: u.LR, GradNorm: norm}, nil
}

// Finish adds the held-out loss every EvalEvery updates and at the last.
func (m *sft) Finish(met Metric, p trainer.Progress) (Metric, error) {
	met.Step, met.Epoch, met.Tokens, met.TokensSec, met.Elapsed = p.Step, p.Epoch, p.Tokens, p.TokensSec, p.Elapsed
	if e := m.o.EvalEvery; e > 0 && m.testRows > 0 && (p.Step%e == 0 || p.Step == m.total) {
		l, err := m.evalLoss()
		if err != nil {
			return met, err
		}
		if !math.IsNaN(l) { // NaN: no held-out row kept an assistant token
			met.EvalLoss = &l
			m.res.EvalLoss = l
		}
	}
	m.res.Loss, m.res.TokensPerSec = met.Loss, met.TokensSec
	return met, nil
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

// evalLoss is the mean cross-entropy over the counted targets of the
// held-out rows.
func (m *sft) evalLoss() (float64, error) {
	g, rows := m.g, m.packer.rows(m.testSet, nil)
	b := newBatch(m.o.MicroBatch, m.o.SeqLen)
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

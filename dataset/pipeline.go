package dataset

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/distill-dev/distill/dataset/verify"
	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/internal/tokens"
)

// Options are the inputs of one filter run.
type Options struct {
	Inputs []string // files or directories of raw traces (see InputFiles)
	OutDir string
	Config Config
	// Progress, when set, is called from time to time with the pass (1 or
	// 2) and the input bytes that pass has read so far.
	Progress func(pass int, bytes int64)
}

// The filter stage runs in one pass when no per-prompt policy is on
// (select.policy all, the full pass-rate band [0, 1]: the defaults): every
// decision is then final once the trace has been checked against the traces
// before it, and decide writes each row to its split as it goes. Otherwise it
// runs in two passes (the second over a spill of the first, not over the
// input), so that per-prompt policies can look at all the samples of a
// prompt while memory stays bounded:
//
//  1. Parse, verify and filter every trace, decontaminate, and deduplicate in
//     input order against a Bloom filter (fixed size). Keep per prompt its
//     sample and correct counts and, for max_per_prompt/shortest, the k
//     shortest surviving candidates, and spill every row pass 2 will write
//     (candidates, and rejects unless output.write_rejects is off), already
//     parsed and with its decision, to a temporary file in the output
//     directory (spill.go).
//  2. Read the spill back, apply the pass-rate band and the selection from
//     the per-prompt state, and write every row to train, test or rejects in
//     input order. The input is read and parsed once.
//
// Memory is the Bloom filter (dedup.memory_mb, pass 1 only), the in-flight
// batches (workers × 4 MB), the row groups being written (at most
// output.row_group_mb or 8,192 rows per split, up to three per split: one
// filling, one queued, one being encoded), the zstd encoders (8 MB each,
// zstdcodec.go) and, per prompt, an index entry (pass 1 only: its id and a
// map slot) and a 12-byte record: about 14 MB and 2.4 MB for the 200,000
// prompts of 800,000 traces. None of it grows with the input but the
// per-prompt state. In one pass the Bloom filter and the row groups live
// at the same time. The spill is about the size of the input, on disk;
// one pass writes none.

// Reason codes of the decision bytes; 0 is a candidate still in the running.
var reasonNames = [...]string{"", "bad_input", FilterTeacherError, FilterTruncated, FilterFormat,
	FilterLanguage, FilterReadability, FilterLength, FilterRepetition,
	ReasonWrong, ReasonUnverifiable, ReasonContaminated, ReasonExactDup, ReasonNearDup}

// Reasons for dropping a parsed trace besides the filter names.
const (
	ReasonWrong        = "wrong"
	ReasonUnverifiable = "unverifiable"
	ReasonContaminated = "contaminated"
	ReasonExactDup     = "exact_duplicate"
	ReasonNearDup      = "near_duplicate"
	ReasonPassRate     = "pass_rate"
	ReasonNotSelected  = "not_selected"
)

const (
	codeCandidate = 0
	codeBad       = 1
	verdictNone   = 3 // not verified: teacher errors
)

var reasonCode = func() map[string]uint8 {
	m := map[string]uint8{}
	for i, n := range reasonNames {
		m[n] = uint8(i)
	}
	return m
}()

func decision(code, verdict uint8) uint8 { return code | verdict<<5 }
func decisionCode(d uint8) uint8         { return d & 31 }
func decisionVerdict(d uint8) uint8      { return d >> 5 }

// promptState is all that is kept per prompt between the passes, besides
// the selection (run.best).
type promptState struct {
	samples, correct int32
	// present is false for prompts seen only in traces without a verdict
	// that were not candidates: they have no pass rate.
	present bool
}

type selected struct {
	tokens int32
	seq    int64
}

// offer keeps c if it is among the k shortest candidates of best, which are
// in (tokens, seq) order.
func offer(best []selected, c selected, k int) []selected {
	i := len(best)
	for i > 0 && (c.tokens < best[i-1].tokens || c.tokens == best[i-1].tokens && c.seq < best[i-1].seq) {
		i--
	}
	if i >= k {
		return best
	}
	if len(best) < k {
		best = append(best, selected{})
	}
	copy(best[i+1:], best[i:])
	best[i] = c
	return best
}

func hasSeq(best []selected, seq int64) bool {
	for _, s := range best {
		if s.seq == seq {
			return true
		}
	}
	return false
}

func (p *promptState) passRate() float64 {
	if p.samples == 0 {
		return 0
	}
	return float64(p.correct) / float64(p.samples)
}

// run is the state of one filter run.
type run struct {
	opts    Options
	cfg     *Config
	files   []string
	workers int
	filters []Filter
	fnames  []string
	forced  verify.Verifier
	decon   *Decontaminator
	stats   *Stats

	seq     int64            // items decided so far
	prompts map[string]int32 // prompt id -> index into states; pass 1 only
	last    struct {         // the prompt of the trace before
		id    string
		index int32
		ok    bool
	}
	states    []promptState
	best      [][]selected // per prompt, for max_per_prompt and shortest
	seen      *bloom
	bands     int
	lineCount []int

	// Counts by verdict and by reason code, kept in arrays while decide
	// runs and added to the stats' maps by finishStats.
	verdicts [verdictNone]int64
	reasons  [len(reasonNames)]int64

	out          *outputs // one pass: decide writes the rows; else nil
	spill        *spillWriter
	spillPending int64 // input bytes decided since the last spilled record
}

// Run filters the traces of opts.Inputs into Parquet shards, stats.json and
// a dataset card in opts.OutDir, and returns the stats.
func Run(ctx context.Context, opts Options) (*Stats, error) {
	return runPasses(ctx, opts, opts.Config.keepPerPrompt() == 0 && opts.Config.fullBand())
}

// runPasses is Run in one pass (only right without per-prompt policies) or
// in two.
func runPasses(ctx context.Context, opts Options, onePass bool) (*Stats, error) {
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	files, err := InputFiles(opts.Inputs)
	if err != nil {
		return nil, err
	}
	r := &run{opts: opts, cfg: &cfg, files: files, stats: newStats(), prompts: map[string]int32{},
		lineCount: make([]int, len(files))}
	r.workers = cfg.Output.Workers
	if r.workers <= 0 {
		r.workers = runtime.GOMAXPROCS(0)
	}
	for _, n := range cfg.Filters {
		f, _ := LookupFilter(n)
		r.filters = append(r.filters, f)
		r.fnames = append(r.fnames, n)
	}
	if cfg.Verifier != "" && cfg.Verifier != VerifierNone {
		if r.forced, err = verify.Lookup(cfg.Verifier); err != nil {
			return nil, fmt.Errorf("--verifier: %w", err)
		}
	}
	if r.decon, err = NewDecontaminator(cfg.Decontam.Files, cfg.Decontam.NGram); err != nil {
		return nil, err
	}
	if cfg.Dedup.Exact || cfg.Dedup.Near {
		r.seen = newBloom(cfg.Dedup.MemoryMB << 20)
		r.stats.Dedup.BloomBytes = len(r.seen.bits) * 8
		defer r.seen.release() // on errors; else as soon as pass 1 ends
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	// Temporary shards of a run that crashed are never complete: drop them.
	stale, _ := filepath.Glob(filepath.Join(opts.OutDir, ".*.parquet.tmp"))
	for _, p := range stale {
		os.Remove(p)
	}
	removeStaleSpills(opts.OutDir)
	if onePass {
		r.out = r.newOutputs()
	} else {
		if r.spill, err = createSpill(opts.OutDir); err != nil {
			return nil, err
		}
		defer r.spill.remove() // on success, error and cancellation alike
	}
	if err := r.pass1(ctx); err != nil {
		if r.out != nil {
			r.out.abort()
		}
		return nil, err
	}
	r.seen.release() // the Bloom filter is not needed any more,
	r.seen = nil
	r.prompts = nil // nor the prompt ids: the spill has the indexes
	r.passRates()
	if r.out != nil {
		if err := r.closeOutputs(r.out); err != nil {
			r.out.abort()
			return nil, err
		}
	} else {
		sp, err := r.spill.finish()
		if err != nil {
			return nil, err
		}
		if err := r.pass2(ctx, sp); err != nil {
			return nil, err
		}
	}
	r.finishStats()
	if err := atomicfile.WriteJSON(filepath.Join(opts.OutDir, "stats.json"), r.stats); err != nil {
		return nil, err
	}
	if err := writeCard(opts.OutDir, r.stats); err != nil {
		return nil, err
	}
	return r.stats, nil
}

func (r *run) verifierFor(task string) verify.Verifier {
	if r.forced != nil {
		return r.forced
	}
	return verify.ForTask(task)
}

// numTokens is the teacher's own count when it reported one (its real
// tokenizer), else an estimate of the R1-format reply.
func numTokens(t *Trace) int {
	if t.Usage.CompletionTokens > 0 {
		return t.Usage.CompletionTokens
	}
	return tokens.Estimate(t.Assistant())
}

// read starts the reader of one pass and returns its batches; the reader
// stops when ctx ends.
func (r *run) read(ctx context.Context, counts []int, pass int) (<-chan *batch, <-chan error) {
	raw := make(chan *batch, r.workers)
	out := make(chan *batch, r.workers)
	errc := make(chan error, 1)
	go func() {
		defer close(raw)
		errc <- readInputs(ctx, r.files, r.cfg.Output.MaxLineMB<<20, counts, raw)
	}()
	var done atomic.Int64
	go func() {
		defer close(out)
		for b := range raw {
			n := done.Add(b.bytes)
			if r.opts.Progress != nil {
				r.opts.Progress(pass, n)
			}
			out <- b
		}
	}()
	return out, errc
}

// drain lets a reader blocked on a full channel finish after an error.
func drain(c <-chan *batch) {
	go func() {
		for range c {
		}
	}()
}

// p1 is what pass 1 learns about one input item.
type p1 struct {
	bad, detail   string
	line, file    int
	promptID      string
	contam        string // the benchmark matched
	source        string
	code, verdict uint8
	tokens        int32
	exact         uint64
	bands         [2]int // band keys: p1batch.keys[bands[0]:bands[1]]
	payload       [2]int // spill payload: p1batch.spill[payload[0]:payload[1]], if any
	bytes         int64  // input bytes of the line
	row           Row    // one pass: the row decide writes, if any
}

type p1batch struct {
	*p1bufs
	bytes int64
	err   error
}

// p1bufs hold what examine finds in a batch until decide has used it.
type p1bufs struct {
	recs  []p1
	keys  []uint64 // LSH band keys
	spill []byte   // spill payloads
}

// p1pool recycles the buffers of p1batch once decide is done with them.
var p1pool = sync.Pool{New: func() any { return new(p1bufs) }}

func newP1bufs(n int) *p1bufs {
	p := p1pool.Get().(*p1bufs)
	clear(p.recs)
	p.recs = slices.Grow(p.recs[:0], n)[:n]
	p.keys, p.spill = p.keys[:0], p.spill[:0]
	return p
}

// worker state: verification, filters and hashing are per goroutine.
type p1worker struct {
	mh    *MinHasher
	decon *Decontaminator
	trace Trace
	memo  textMemos
}

func (r *run) pass1(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	ws := make([]*p1worker, r.workers)
	for i := range ws {
		ws[i] = &p1worker{mh: NewMinHasher(r.cfg.Dedup.NumPerm, r.cfg.Dedup.Shingle, r.cfg.Dedup.Threshold),
			decon: r.decon.clone()}
	}
	r.bands, r.stats.Dedup.Rows = ws[0].mh.Bands()
	r.stats.Dedup.Bands = r.bands
	in, errc := r.read(ctx, r.lineCount, 1)
	err := orderedMap(ctx, in, r.workers, func(w int, b *batch) p1batch {
		res := r.examine(ws[w], b)
		b.release() // examine copied all it keeps
		return res
	}, r.decide)
	cancel()
	drain(in)
	if rerr := <-errc; err == nil && rerr != nil && !errors.Is(rerr, context.Canceled) {
		err = rerr
	}
	if err != nil {
		return err
	}
	for i, f := range r.files {
		r.stats.Inputs = append(r.stats.Inputs, InputStats{Path: f, Lines: r.lineCount[i]})
	}
	return parent.Err()
}

// examine runs everything of pass 1 that does not depend on other traces.
func (r *run) examine(w *p1worker, b *batch) p1batch {
	out := p1batch{p1bufs: newP1bufs(len(b.items)), bytes: b.bytes}
	for i, it := range b.items {
		rec := &out.recs[i]
		rec.file, rec.line = it.file, it.line
		if it.data != nil {
			rec.bytes = int64(len(it.data)) + 1
		}
		if it.bad != "" {
			rec.bad, rec.detail, rec.code = it.bad, it.detail, codeBad
			continue
		}
		t := &w.trace
		bad, detail := parseTrace(it.data, t)
		if bad != "" {
			rec.bad, rec.detail, rec.code = bad, detail, codeBad
			continue
		}
		w.memo.attach(t)
		rec.promptID, rec.source = t.PromptID, t.Source
		n := numTokens(t)
		r.judge(w, t, n, rec, out.p1bufs)
		if rec.code == codeCandidate || r.cfg.Output.WriteRejects {
			// Pass 2 will write this row, unless dedup drops it and rejects
			// are not written.
			verifier := ""
			switch {
			case r.cfg.Verifier == VerifierNone:
				verifier = VerifierNone
			case rec.verdict != verdictNone:
				verifier = r.verifierFor(t.Task).Name()
			}
			row := rowOf(t, n, verifier)
			if r.out != nil {
				// One pass: decide hands the row to its split's writer.
				rec.row = row
				continue
			}
			start := len(out.spill)
			out.spill = appendSpillPayload(out.spill, &row, rec.contam)
			rec.payload = [2]int{start, len(out.spill)}
		}
	}
	return out
}

func (r *run) judge(w *p1worker, t *Trace, n int, rec *p1, out *p1bufs) {
	rec.verdict = verdictNone
	if t.Error == "" && r.cfg.Verifier != VerifierNone {
		rec.verdict = uint8(t.verdict(r.verifierFor(t.Task)))
	}
	rec.tokens = int32(min(n, 1<<31-1))
	for i, f := range r.filters {
		if f(t, n, r.cfg) {
			rec.code = reasonCode[r.fnames[i]]
			return
		}
	}
	switch verify.Verdict(rec.verdict) {
	case verify.Wrong:
		if !r.cfg.KeepWrong {
			rec.code = reasonCode[ReasonWrong]
			return
		}
	case verify.Unverifiable:
		if !r.cfg.KeepUnverifiable {
			rec.code = reasonCode[ReasonUnverifiable]
			return
		}
	}
	if rec.contam = w.decon.Match(t.Prompt, t.ThinkReasoning, t.Answer); rec.contam != "" {
		rec.code = reasonCode[ReasonContaminated]
		return
	}
	if r.cfg.Dedup.Exact {
		rec.exact = t.exactKey()
	}
	// A trace whose exact key is in the filter already will be an exact
	// duplicate when decide gets to it (keys are never removed), and its band
	// keys would not be looked at: MinHash is skipped for it.
	if r.cfg.Dedup.Near && !(r.cfg.Dedup.Exact && r.seen.hasShared(rec.exact)) {
		start := len(out.keys)
		out.keys = t.bandKeys(w.mh, out.keys)
		rec.bands = [2]int{start, len(out.keys)}
	}
}

// exactKey hashes prompt and response with whitespace runs collapsed, so
// that reflowed copies of a trace are still duplicates.
func exactKey(prompt, reasoning, answer string) uint64 {
	h := uint64(fnvOffset)
	space := false
	for _, s := range [3]string{prompt, reasoning, answer} {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				space = true
				continue
			}
			if space {
				h = (h ^ ' ') * fnvPrime
				space = false
			}
			h = (h ^ uint64(c)) * fnvPrime
		}
		h = (h ^ 0xff) * fnvPrime // separator: no byte of UTF-8 text is 0xff
	}
	return mix64(h ^ 0xe7037ed1a0b428db)
}

// decide applies, in input order, what depends on earlier traces: dedup and
// the per-prompt counts; and it spills the rows pass 2 will write.
func (r *run) decide(b p1batch) error {
	defer p1pool.Put(b.p1bufs)
	if b.err != nil {
		return b.err
	}
	st := r.stats
	st.BytesIn += b.bytes
	k := r.cfg.keepPerPrompt()
	// The Bloom filter's blocks of the traces a few places ahead are
	// loaded while this one is decided.
	const ahead = 8
	for i := range min(ahead, len(b.recs)) {
		r.prefetchKeys(b, &b.recs[i])
	}
	for i := range b.recs {
		if i+ahead < len(b.recs) {
			r.prefetchKeys(b, &b.recs[i+ahead])
		}
		rec := &b.recs[i]
		seq := r.seq
		r.seq++
		r.spillPending += rec.bytes
		st.LinesIn++
		if rec.code == codeBad {
			st.Reasons[rec.bad]++
			st.Rejected++
			if len(st.BadInput) < r.cfg.Output.MaxBadExample {
				st.BadInput = append(st.BadInput, BadLine{File: r.files[rec.file], Line: rec.line,
					Reason: rec.bad, Detail: rec.detail})
			}
			continue
		}
		st.Traces++
		src := st.source(rec.source)
		src.Traces++
		pi := r.promptIndex(rec.promptID)
		if rec.verdict != verdictNone {
			v := verify.Verdict(rec.verdict)
			r.verdicts[v]++
			switch v {
			case verify.Correct:
				src.Correct++
			case verify.Wrong:
				src.Wrong++
			default:
				src.Unverifiable++
			}
			p := &r.states[pi]
			p.present = true
			p.samples++
			if v == verify.Correct {
				p.correct++
			}
		}
		if rec.code == codeCandidate && r.seen != nil {
			bands := b.keys[rec.bands[0]:rec.bands[1]]
			switch {
			case r.cfg.Dedup.Exact && r.seen.has(rec.exact):
				rec.code = reasonCode[ReasonExactDup]
			case r.cfg.Dedup.Near && r.anyBand(bands):
				rec.code = reasonCode[ReasonNearDup]
			default:
				if r.cfg.Dedup.Exact {
					r.seen.add(rec.exact)
				}
				for _, k := range bands {
					r.seen.add(k)
				}
			}
		}
		if rec.code == codeCandidate {
			if k > 0 {
				// Teacher errors are never candidates unless the filter is
				// off; their prompt then has a state without samples.
				r.states[pi].present = true
				r.best[pi] = offer(r.best[pi], selected{tokens: rec.tokens, seq: seq}, k)
			}
		} else {
			r.reasons[rec.code]++
			st.Rejected++
			if rec.contam != "" {
				st.Contamination[rec.contam]++
			}
		}
		if rec.code == codeCandidate || r.cfg.Output.WriteRejects {
			h := spillHead{code: rec.code, verdict: rec.verdict, seq: seq, prompt: int(pi), bytes: r.spillPending}
			if r.out != nil {
				x := spilled{spillHead: h, row: rec.row, contam: rec.contam}
				if err := r.place(r.out, &x, k); err != nil {
					return err
				}
				continue
			}
			if err := r.spill.write(h, b.spill[rec.payload[0]:rec.payload[1]]); err != nil {
				return err
			}
			r.spillPending = 0
		}
	}
	return nil
}

// prefetchKeys starts loading the Bloom filter blocks decide will look at
// for rec.
func (r *run) prefetchKeys(b p1batch, rec *p1) {
	if rec.code != codeCandidate || r.seen == nil {
		return
	}
	if r.cfg.Dedup.Exact {
		r.seen.prefetch(rec.exact)
	}
	for _, k := range b.keys[rec.bands[0]:rec.bands[1]] {
		r.seen.prefetch(k)
	}
}

// promptIndex returns the index of a prompt's state, adding one for a new
// prompt.
func (r *run) promptIndex(id string) int32 {
	// The samples of a prompt usually come one after the other.
	if r.last.ok && id == r.last.id {
		return r.last.index
	}
	i, ok := r.prompts[id]
	if !ok {
		i = r.addPrompt(id)
	}
	r.last.id, r.last.index, r.last.ok = id, i, true
	return i
}

func (r *run) addPrompt(id string) int32 {
	i := int32(len(r.states))
	r.prompts[strings.Clone(id)] = i // not a view into the whole trace
	r.states = append(r.states, promptState{})
	if r.cfg.keepPerPrompt() > 0 {
		r.best = append(r.best, nil)
	}
	return i
}

func (r *run) anyBand(keys []uint64) bool {
	for _, k := range keys {
		// Band keys are salted apart from exact keys by construction (the
		// band index is hashed in), so one filter serves both.
		if r.seen.has(k) {
			return true
		}
	}
	return false
}

func (r *run) inBand(p *promptState) bool {
	if r.cfg.fullBand() {
		return true
	}
	rate := p.passRate()
	return rate >= r.cfg.Select.PassRateMin && rate <= r.cfg.Select.PassRateMax
}

func (r *run) passRates() {
	ps := &r.stats.PassRates
	// Fixed point, so that the sum does not depend on map order.
	var sum int64
	for i := range r.states {
		p := &r.states[i]
		if !p.present || p.samples == 0 {
			continue
		}
		ps.Prompts++
		rate := p.passRate()
		sum += int64(math.Round(rate * 1e9))
		ps.Histogram[min(int(rate*10), 9)]++
		switch p.correct {
		case 0:
			ps.NeverSolved++
		case p.samples:
			ps.AlwaysSolved++
		}
		if r.inBand(p) {
			ps.InBand++
		}
	}
	if ps.Prompts > 0 {
		ps.Mean = float64(sum) / 1e9 / float64(ps.Prompts)
	}
}

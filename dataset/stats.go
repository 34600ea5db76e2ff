package dataset

import "strings"

// Stats is what DATA_DIR/stats.json holds: where every input line went.
// Maps marshal with sorted keys, so the file is stable across reruns.
type Stats struct {
	Inputs   []InputStats     `json:"inputs"`
	LinesIn  int64            `json:"lines_in"` // input lines and bad-input events
	BytesIn  int64            `json:"bytes_in"` // uncompressed bytes of the lines
	Traces   int64            `json:"traces"`   // lines that parsed as traces
	Kept     int64            `json:"kept"`     // rows in train + test
	Train    int64            `json:"train"`    // rows in train shards
	Test     int64            `json:"test"`     // rows in test shards
	Rejected int64            `json:"rejected"` // traces and bad lines dropped
	Reasons  map[string]int64 `json:"rejected_by_reason"`
	// BadInput names the file and line of bad input lines (the first
	// output.max_bad_examples of them; the counts are in Reasons).
	BadInput      []BadLine               `json:"bad_input"`
	Verdicts      map[string]int64        `json:"verdicts"`
	Sources       map[string]*SourceStats `json:"sources"`
	Contamination map[string]int64        `json:"contamination"` // benchmark -> rows dropped
	Lengths       []LengthBin             `json:"kept_length_histogram"`
	PassRates     PassRateStats           `json:"pass_rates"`
	Dedup         DedupStats              `json:"dedup"`
	Shards        map[string][]string     `json:"shards"` // split -> file names
	Config        Config                  `json:"config"`

	// The source of the trace before: traces come in runs of one source.
	lastSource string
	lastStats  *SourceStats
}

// InputStats describes one input file.
type InputStats struct {
	Path  string `json:"path"`
	Lines int    `json:"lines"`
}

// BadLine is one input line that could not be a trace.
type BadLine struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// SourceStats are the verdicts of one source (gsm8k, math500, builtin:arith).
type SourceStats struct {
	Traces       int64   `json:"traces"`
	Correct      int64   `json:"correct"`
	Wrong        int64   `json:"wrong"`
	Unverifiable int64   `json:"unverifiable"`
	Kept         int64   `json:"kept"`
	Accuracy     float64 `json:"accuracy"` // correct / (correct + wrong)
}

// LengthBin counts kept rows with Min <= num_tokens < Max.
type LengthBin struct {
	Min   int   `json:"min"`
	Max   int   `json:"max"`
	Count int64 `json:"count"`
}

// PassRateStats describe the teacher's per-prompt pass rates: the share of a
// prompt's samples (teacher errors left out) whose answer verified.
type PassRateStats struct {
	Prompts      int64   `json:"prompts"`
	InBand       int64   `json:"in_band"`
	Mean         float64 `json:"mean"`
	Histogram    []int64 `json:"histogram"` // 10 bins of width 0.1; 1.0 falls in the last
	AlwaysSolved int64   `json:"always_solved"`
	NeverSolved  int64   `json:"never_solved"`
}

// DedupStats describe the near-duplicate setup.
type DedupStats struct {
	Bands      int `json:"lsh_bands"`
	Rows       int `json:"lsh_rows"`
	BloomBytes int `json:"bloom_bytes"`
}

// lengthBins are powers of two of tokens.
func lengthBin(n int) int {
	b := 0
	for v := n; v > 1; v >>= 1 {
		b++
	}
	return b
}

func newStats() *Stats {
	return &Stats{Reasons: map[string]int64{}, Verdicts: map[string]int64{},
		Sources: map[string]*SourceStats{}, Contamination: map[string]int64{},
		Shards: map[string][]string{}, PassRates: PassRateStats{Histogram: make([]int64, 10)}}
}

func (s *Stats) source(name string) *SourceStats {
	if name == "" {
		name = "(none)"
	}
	if s.lastStats != nil && name == s.lastSource {
		return s.lastStats
	}
	st := s.Sources[name]
	if st == nil {
		st = &SourceStats{}
		s.Sources[strings.Clone(name)] = st // not a view into the whole trace
	}
	s.lastSource, s.lastStats = name, st
	return st
}

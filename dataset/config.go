package dataset

import (
	"fmt"
	"slices"
)

// Config is everything the filter stage can be told, loaded from YAML
// (configs/filter-*.yaml) and overridden by flags. The zero values of the
// nested structs are not meaningful: start from DefaultConfig.
type Config struct {
	// Filters are applied in this order; the first that rejects a trace names
	// the reason. Names are those of FilterNames.
	Filters []string `yaml:"filters" json:"filters"`
	// Verifier forces a verifier by name; empty chooses one from each trace's
	// task (verify.ForTask); VerifierNone verifies nothing.
	Verifier string `yaml:"verifier" json:"verifier" flag:"verifier" usage:"verifier for every trace (default: chosen from each trace's task); none keeps plain chats unverified (verifier none)"`
	// KeepUnverifiable keeps traces whose reference cannot be judged (the
	// non-reasoning part of an R1-style mix); they are still marked
	// correct=false.
	KeepUnverifiable bool `yaml:"keep_unverifiable" json:"keep_unverifiable" flag:"keep-unverifiable" usage:"keep traces whose reference cannot be judged"`
	// KeepWrong keeps traces whose answer does not verify (no rejection
	// sampling): useful for auditing a teacher.
	KeepWrong bool `yaml:"keep_wrong" json:"keep_wrong" flag:"keep-wrong" usage:"keep traces whose answer is wrong (no rejection sampling)"`

	Format      FormatConfig      `yaml:"format" json:"format"`
	Language    LanguageConfig    `yaml:"language" json:"language"`
	Readability ReadabilityConfig `yaml:"readability" json:"readability"`
	Length      LengthConfig      `yaml:"length" json:"length"`
	Repetition  RepetitionConfig  `yaml:"repetition" json:"repetition"`
	Dedup       DedupConfig       `yaml:"dedup" json:"dedup"`
	Decontam    DecontamConfig    `yaml:"decontaminate" json:"decontaminate"`
	Select      SelectConfig      `yaml:"select" json:"select"`
	Output      OutputConfig      `yaml:"output" json:"output"`
}

// FormatConfig: the R1 shape of a reply.
type FormatConfig struct {
	// RequireReasoning rejects replies without a chain of thought.
	RequireReasoning bool `yaml:"require_reasoning" json:"require_reasoning"`
}

// LanguageConfig: R1 dropped chains of thought that mix languages.
type LanguageConfig struct {
	// MaxForeignShare is the largest share of letters of the chain of thought
	// allowed in a script other than the prompt's main one.
	MaxForeignShare float64 `yaml:"max_foreign_share" json:"max_foreign_share" flag:"max-foreign-share" usage:"largest share of the chain of thought in another script than the prompt's"`
}

// ReadabilityConfig: R1 dropped long paragraphs and code blocks.
type ReadabilityConfig struct {
	MaxParagraphChars int      `yaml:"max_paragraph_chars" json:"max_paragraph_chars"`
	CodeTasks         []string `yaml:"code_tasks" json:"code_tasks"` // tasks where ``` blocks are fine
}

// LengthConfig bounds num_tokens of the assistant reply.
type LengthConfig struct {
	MinTokens int `yaml:"min_tokens" json:"min_tokens" flag:"min-tokens" usage:"shortest reply kept, in tokens"`
	MaxTokens int `yaml:"max_tokens" json:"max_tokens" flag:"max-tokens" usage:"longest reply kept, in tokens (0: no limit)"`
}

// RepetitionConfig catches looping chains of thought.
type RepetitionConfig struct {
	NGram int `yaml:"ngram" json:"ngram"` // words per n-gram
	// MaxRepeatShare is the largest share of the reasoning's word n-grams that
	// may be repeats of earlier ones.
	MaxRepeatShare float64 `yaml:"max_repeat_share" json:"max_repeat_share"`
	MinNGrams      int     `yaml:"min_ngrams" json:"min_ngrams"` // shorter texts are not judged
}

// DedupConfig: exact and MinHash LSH near-duplicate removal.
type DedupConfig struct {
	Exact     bool    `yaml:"exact" json:"exact"`
	Near      bool    `yaml:"near" json:"near"`
	Threshold float64 `yaml:"threshold" json:"threshold" flag:"near-threshold" usage:"Jaccard similarity from which responses are near-duplicates"` // Jaccard similarity of response shingles
	NumPerm   int     `yaml:"num_perm" json:"num_perm"`
	Shingle   int     `yaml:"shingle" json:"shingle"` // words per shingle
	// MemoryMB bounds the memory of the dedup state (a Bloom filter of
	// hashes and LSH band keys), whatever the input size.
	MemoryMB int `yaml:"memory_mb" json:"memory_mb"`
}

// DecontamConfig: n-gram overlap with benchmarks.
type DecontamConfig struct {
	Files []string `yaml:"files" json:"files" path:"file" flag:"decontaminate" arg:"FILE" usage:"benchmark JSONL FILE (problem/question field) to remove overlaps with (repeatable)"`
	NGram int      `yaml:"ngram" json:"ngram" flag:"ngram" usage:"words per n-gram for decontamination"`
}

// SelectConfig is the rejection-sampling policy.
type SelectConfig struct {
	Policy       string  `yaml:"policy" json:"policy" flag:"policy" usage:"selection per prompt: all, max_per_prompt (with --k) or shortest"`
	K            int     `yaml:"k" json:"k" flag:"k" usage:"traces kept per prompt by max_per_prompt (the shortest k)"` // for max_per_prompt
	PassRateMin  float64 `yaml:"pass_rate_min" json:"pass_rate_min" flag:"pass-rate-min" usage:"drop prompts the teacher solves less often than this"`
	PassRateMax  float64 `yaml:"pass_rate_max" json:"pass_rate_max" flag:"pass-rate-max" usage:"drop prompts the teacher solves more often than this"`
	TestFraction float64 `yaml:"test_fraction" json:"test_fraction" flag:"test-fraction" usage:"share of prompts in the test split (by a hash of the prompt id)"`
}

// OutputConfig sizes the Parquet output.
type OutputConfig struct {
	ShardSizeMB   int  `yaml:"shard_size_mb" json:"shard_size_mb" flag:"shard-size-mb" usage:"target size of a Parquet shard"`
	RowGroupMB    int  `yaml:"row_group_mb" json:"row_group_mb"`
	WriteRejects  bool `yaml:"write_rejects" json:"write_rejects"`
	Workers       int  `yaml:"workers" json:"-" flag:"workers" usage:"parallel parsers and verifiers (default: the number of CPUs)"`
	MaxLineMB     int  `yaml:"max_line_mb" json:"max_line_mb"`
	MaxBadExample int  `yaml:"max_bad_examples" json:"max_bad_examples"` // bad-input lines named in stats.json
}

// VerifierNone is the Verifier of plain chats with no answer to verify (the
// non-reasoning part of an R1-style mix): every trace passes on to the
// quality filters and dedup without a verdict, and its row says
// verifier "none", correct false.
const VerifierNone = "none"

// Selection policies.
const (
	PolicyAll          = "all"
	PolicyMaxPerPrompt = "max_per_prompt"
	PolicyShortest     = "shortest"
)

// DefaultConfig is the R1-style recipe: every filter on, rejection sampling on
// the verified answer, exact and near dedup at Jaccard 0.8.
func DefaultConfig() Config {
	return Config{
		Filters:     FilterNames(),
		Format:      FormatConfig{RequireReasoning: true},
		Language:    LanguageConfig{MaxForeignShare: 0.05},
		Readability: ReadabilityConfig{MaxParagraphChars: 5000, CodeTasks: []string{"code"}},
		Length:      LengthConfig{MinTokens: 1, MaxTokens: 32768},
		Repetition:  RepetitionConfig{NGram: 10, MaxRepeatShare: 0.5, MinNGrams: 20},
		Dedup:       DedupConfig{Exact: true, Near: true, Threshold: 0.8, NumPerm: 64, Shingle: 5, MemoryMB: 64},
		Decontam:    DecontamConfig{NGram: 8},
		Select:      SelectConfig{Policy: PolicyAll, K: 1, PassRateMin: 0, PassRateMax: 1},
		Output: OutputConfig{ShardSizeMB: 256, RowGroupMB: 32, WriteRejects: true,
			MaxLineMB: 16, MaxBadExample: 1000},
	}
}

// Validate reports the first setting that cannot work, naming it as in YAML.
func (c *Config) Validate() error {
	names := FilterNames()
	for _, f := range c.Filters {
		if !slices.Contains(names, f) {
			return fmt.Errorf("filters: unknown filter %q (have %v)", f, names)
		}
	}
	switch {
	case c.Language.MaxForeignShare < 0 || c.Language.MaxForeignShare > 1:
		return fmt.Errorf("language.max_foreign_share must be in [0, 1], got %g", c.Language.MaxForeignShare)
	case c.Length.MinTokens < 0 || c.Length.MaxTokens < 0:
		return fmt.Errorf("length: token limits must not be negative")
	case c.Length.MaxTokens > 0 && c.Length.MinTokens > c.Length.MaxTokens:
		return fmt.Errorf("length.min_tokens %d > length.max_tokens %d", c.Length.MinTokens, c.Length.MaxTokens)
	case c.Repetition.NGram < 1:
		return fmt.Errorf("repetition.ngram must be at least 1, got %d", c.Repetition.NGram)
	case c.Dedup.Threshold <= 0 || c.Dedup.Threshold > 1:
		return fmt.Errorf("dedup.threshold must be in (0, 1], got %g", c.Dedup.Threshold)
	case c.Dedup.NumPerm < 2 || c.Dedup.NumPerm > 1024:
		return fmt.Errorf("dedup.num_perm must be in [2, 1024], got %d", c.Dedup.NumPerm)
	case c.Dedup.Shingle < 1:
		return fmt.Errorf("dedup.shingle must be at least 1, got %d", c.Dedup.Shingle)
	case c.Dedup.MemoryMB < 1:
		return fmt.Errorf("dedup.memory_mb must be at least 1, got %d", c.Dedup.MemoryMB)
	case c.Decontam.NGram < 1:
		return fmt.Errorf("decontaminate.ngram must be at least 1, got %d", c.Decontam.NGram)
	case c.Select.Policy != PolicyAll && c.Select.Policy != PolicyMaxPerPrompt && c.Select.Policy != PolicyShortest:
		return fmt.Errorf("select.policy must be all, max_per_prompt or shortest, got %q", c.Select.Policy)
	case c.Select.Policy == PolicyMaxPerPrompt && c.Select.K < 1:
		return fmt.Errorf("select.k must be at least 1 for max_per_prompt, got %d", c.Select.K)
	case c.Select.PassRateMin < 0 || c.Select.PassRateMax > 1 || c.Select.PassRateMin > c.Select.PassRateMax:
		return fmt.Errorf("select: pass-rate band [%g, %g] must lie in [0, 1]", c.Select.PassRateMin, c.Select.PassRateMax)
	case c.Verifier == VerifierNone && (c.Select.PassRateMin > 0 || c.Select.PassRateMax < 1):
		return fmt.Errorf("select: a pass-rate band [%g, %g] needs verdicts; verifier none gives none", c.Select.PassRateMin, c.Select.PassRateMax)
	case c.Select.TestFraction < 0 || c.Select.TestFraction >= 1:
		return fmt.Errorf("select.test_fraction must be in [0, 1), got %g", c.Select.TestFraction)
	case c.Output.ShardSizeMB < 1:
		return fmt.Errorf("output.shard_size_mb must be at least 1, got %d", c.Output.ShardSizeMB)
	case c.Output.RowGroupMB < 1:
		return fmt.Errorf("output.row_group_mb must be at least 1, got %d", c.Output.RowGroupMB)
	case c.Output.MaxLineMB < 1:
		return fmt.Errorf("output.max_line_mb must be at least 1, got %d", c.Output.MaxLineMB)
	}
	return nil
}

// keepPerPrompt is how many traces per prompt the policy keeps, 0 for all.
func (c *Config) keepPerPrompt() int {
	switch c.Select.Policy {
	case PolicyShortest:
		return 1
	case PolicyMaxPerPrompt:
		return c.Select.K
	}
	return 0
}

// fullBand is true when the pass-rate band drops no prompt.
func (c *Config) fullBand() bool {
	return c.Select.PassRateMin <= 0 && c.Select.PassRateMax >= 1
}

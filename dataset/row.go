// Package dataset turns raw teacher traces into a training set: it parses
// traces, verifies answers (through dataset/verify), filters, deduplicates,
// decontaminates and selects them, and writes and reads Parquet shards.
//
// Of ours it may import only `dataset/verify`, `internal/atomicfile`,
// `internal/tokens` and `record`. Never sampler, teacher or student: it knows
// no HTTP and no training.
package dataset

import "cmp"

// Message is one chat turn in the `messages` column.
type Message struct {
	Role    string `parquet:"role" json:"role"`
	Content string `parquet:"content" json:"content"`
}

// Row is one dataset row as written to train/test shards. The `messages`
// column is a 3-level Parquet LIST of struct<role, content>, which is what
// `datasets`, pandas and DuckDB read as list<struct>.
type Row struct {
	Messages  []Message `parquet:"messages,list"`
	Prompt    string    `parquet:"prompt"`
	Reasoning string    `parquet:"reasoning"`
	Answer    string    `parquet:"answer"`
	Reference string    `parquet:"reference"`
	Correct   bool      `parquet:"correct"`
	Verifier  string    `parquet:"verifier"`
	NumTokens int64     `parquet:"num_tokens"`
	Source    string    `parquet:"source"`
	Teacher   string    `parquet:"teacher"`
	PromptID  string    `parquet:"prompt_id"`
	Sample    int64     `parquet:"sample"`
}

// RejectRow is a row that did not make it into the dataset, kept for audit
// with the reason it was dropped. It has the columns of Row but `messages`,
// which would repeat prompt, reasoning and answer (R1Assistant builds the
// reply from them) and would be almost half of the shard.
type RejectRow struct {
	Prompt       string `parquet:"prompt"`
	Reasoning    string `parquet:"reasoning"`
	Answer       string `parquet:"answer"`
	Reference    string `parquet:"reference"`
	Correct      bool   `parquet:"correct"`
	Verifier     string `parquet:"verifier"`
	NumTokens    int64  `parquet:"num_tokens"`
	Source       string `parquet:"source"`
	Teacher      string `parquet:"teacher"`
	PromptID     string `parquet:"prompt_id"`
	Sample       int64  `parquet:"sample"`
	RejectReason string `parquet:"reject_reason"`
}

// rowOf is the row of a parsed trace, without its messages: only the rows
// that go to train or test get them (withMessages), rejects have none. Its
// strings are the trace's own (one allocation for the whole line,
// decodeTrace).
func rowOf(t *Trace, tokens int, verifier string) Row {
	return Row{
		Prompt: t.Prompt, Reasoning: t.ThinkReasoning, Answer: t.Answer, Reference: t.Reference,
		Verifier: verifier, NumTokens: int64(tokens), Source: t.Source, Teacher: cmp.Or(t.Teacher, t.Model),
		PromptID: t.PromptID, Sample: int64(t.Sample),
	}
}

// withMessages sets the row's messages from its parts, unless it has them.
func (r *Row) withMessages() {
	if r.Messages == nil {
		r.Messages = []Message{{Role: "user", Content: r.Prompt}, {Role: "assistant", Content: assistant(r.Reasoning, r.Answer)}}
	}
}

// assistant is the reply of a trace with this chain of thought and answer.
func assistant(reasoning, answer string) string {
	if reasoning == "" {
		return answer
	}
	return R1Assistant(reasoning, answer)
}

// R1Assistant formats an assistant reply the way DeepSeek-R1 emits it.
func R1Assistant(reasoning, answer string) string {
	return "<think>\n" + reasoning + "\n</think>\n\n" + answer
}

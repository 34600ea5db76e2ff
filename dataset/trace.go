package dataset

import (
	"strings"
	"unicode/utf8"

	"github.com/distill-dev/distill/dataset/verify"
	"github.com/distill-dev/distill/record"
)

// Reasons for bad input lines: they never become rows, only counts and
// examples (file and line) in stats.json.
const (
	BadJSON        = "malformed_json"
	BadUTF8        = "invalid_utf8"
	BadMissing     = "missing_field"
	BadLineTooLong = "line_too_long"
	BadEmptyFile   = "empty_file"
	BadTruncated   = "truncated_file" // a compressed file cut off mid-stream
	BadRead        = "read_error"
)

// Trace is a parsed raw trace with its reply split into reasoning and answer.
type Trace struct {
	record.Trace
	// ThinkReasoning and Answer are the chain of thought and the final
	// answer, taken from the reasoning field or from <think> tags in content.
	ThinkReasoning, Answer string
	// Opened and Closed count the think tags seen; a well-formed reply has
	// at most one of each and, when it has reasoning, its closing tag.
	Opened, Closed int
	// Unclosed is true when the reasoning started but never ended.
	Unclosed bool

	memo *textMemo // values computed from the texts, if kept (textmemo.go)
}

// parseTrace decodes one JSONL line into t, which it resets first (a worker
// reuses one Trace). It returns a bad-input reason and detail when the line
// cannot be a trace.
func parseTrace(line []byte, t *Trace) (bad, detail string) {
	*t = Trace{}
	if !utf8.Valid(line) {
		return BadUTF8, ""
	}
	if err := decodeTraceLean(line, &t.Trace); err != nil {
		return BadJSON, err.Error()
	}
	switch {
	case t.PromptID == "":
		return BadMissing, "prompt_id"
	case t.Prompt == "":
		return BadMissing, "prompt"
	}
	t.split()
	return "", ""
}

// Correct reports whether a raw trace's final answer verifies against its
// reference with the verifier of its task: filter's correctness check
// (without --verifier), which generate --until-correct asks as samples
// arrive. A failed request is never correct.
func Correct(rec record.Trace) bool {
	if rec.Error != "" {
		return false
	}
	t := Trace{Trace: rec}
	t.split()
	return verify.ForTask(t.Task).Verify(t.Answer, t.Reference).Verdict == verify.Correct
}

const (
	openTag  = "<think>"
	closeTag = "</think>"
)

// split separates the chain of thought from the answer: from the reasoning
// field when the server gave one, else from think tags in content, in the
// three shapes teachers write: "<think>…</think>answer", "…</think>answer"
// (R1, whose opening tag is in the chat template) and "<think>…" cut off.
func (t *Trace) split() {
	c := t.Content
	t.Opened = strings.Count(c, openTag) + strings.Count(t.Reasoning, openTag)
	t.Closed = strings.Count(c, closeTag) + strings.Count(t.Reasoning, closeTag)
	if strings.TrimSpace(t.Reasoning) != "" {
		t.ThinkReasoning = strings.TrimSpace(t.Reasoning)
		t.Answer = strings.TrimSpace(c)
		return
	}
	trimmed := strings.TrimLeft(c, " \t\r\n")
	opened := strings.HasPrefix(trimmed, openTag)
	if end := strings.LastIndex(trimmed, closeTag); end >= 0 {
		r := trimmed[:end]
		if opened {
			r = r[len(openTag):]
		}
		t.ThinkReasoning = strings.TrimSpace(r)
		t.Answer = strings.TrimSpace(trimmed[end+len(closeTag):])
		return
	}
	if opened {
		t.ThinkReasoning = strings.TrimSpace(trimmed[len(openTag):])
		t.Unclosed = true
		return
	}
	t.Answer = strings.TrimSpace(c)
}

// Assistant is the reply in R1 format, or the bare answer when there is no
// chain of thought.
func (t *Trace) Assistant() string {
	return assistant(t.ThinkReasoning, t.Answer)
}

package sampler

import (
	"strings"
)

// Fields maps the columns of a prompt file to prompt fields. Empty names
// mean "try the usual ones": GSM8K (question, answer with "#### N") and
// MATH-500 (problem, answer, unique_id) work without flags.
type Fields struct {
	ID     string `yaml:"id_field" json:"id_field,omitempty"`
	Prompt string `yaml:"prompt_field" json:"prompt_field,omitempty"`
	Answer string `yaml:"answer_field" json:"answer_field,omitempty"`
	Task   string `yaml:"task" json:"task,omitempty"` // fixed task for every prompt; empty = from a "task" column or guessed
}

var (
	defaultIDFields     = []string{"id", "unique_id", "problem_id", "idx", "index"}
	defaultPromptFields = []string{"problem", "question", "prompt", "input"}
	defaultAnswerFields = []string{"answer", "reference", "final_answer", "target"}
)

func candidates(name string, defaults []string) []string {
	if name != "" {
		return []string{name}
	}
	return defaults
}

// gsm8kReference returns the final answer of a GSM8K solution ("... #### 72"),
// and whether the text had that form.
func gsm8kReference(s string) (string, bool) {
	i := strings.LastIndex(s, "####")
	if i < 0 {
		return s, false
	}
	ans := strings.TrimSpace(s[i+4:])
	// GSM8K writes some answers with thousands separators; the number is what counts.
	return strings.ReplaceAll(ans, ",", ""), true
}

// guessTask names the task of a row when the file does not say: GSM8K rows
// carry "####" in their solution, everything else is treated as math.
func guessTask(fixed, column string, gsm8k bool) string {
	switch {
	case fixed != "":
		return fixed
	case column != "":
		return column
	case gsm8k:
		return "gsm8k"
	default:
		return "math"
	}
}

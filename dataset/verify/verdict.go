// Package verify decides whether a model's final answer matches a reference:
// it extracts the answer from a response (\boxed{}, GSM8K "####",
// <answer> tags, "The answer is …", choice letters), normalises LaTeX as the
// MATH graders do, and compares as strings, exact rational numbers, structures
// (tuples, intervals, sets) and, for closed expressions and polynomials, by
// numeric evaluation.
//
// The dataset stage uses it for rejection sampling and the student for rewards
// and evaluation, so the rules are conservative: an empty or unparseable
// reference is Unverifiable, never Correct.
//
// It imports nothing of ours.
package verify

// Verdict is the outcome of verifying one response.
type Verdict int

const (
	// Wrong is the zero value so that a forgotten verdict never counts as a
	// pass.
	Wrong Verdict = iota
	Correct
	Unverifiable
)

func (v Verdict) String() string {
	switch v {
	case Correct:
		return "correct"
	case Wrong:
		return "wrong"
	case Unverifiable:
		return "unverifiable"
	}
	return "verdict(?)"
}

// Result is a verdict with what it was based on.
type Result struct {
	Verdict  Verdict
	Verifier string // name of the verifier that decided
	Answer   string // the answer extracted from the response, "" if none
	Reason   string // why the response is wrong or unverifiable, "" if correct
}

// Reasons recorded in Result.Reason; callers may count them.
const (
	ReasonNoAnswer     = "no answer"
	ReasonNoReference  = "no reference"
	ReasonBadReference = "unparseable reference"
	ReasonMismatch     = "mismatch"
)

package verify

// The builtin verifiers. Each extracts the answer from the response, extracts
// the reference too when it is a full solution (a GSM8K "####" line or a
// \boxed), and compares.
//
// A response without an extractable answer is Wrong with Reason "no answer",
// not Unverifiable: for rejection sampling and rewards a trace that never
// commits to an answer is a failed trace, whereas Unverifiable is kept for
// problems whose reference cannot be judged, so they can be counted apart.

func init() {
	Register(mathVerifier{})
	Register(numberVerifier{})
	Register(choiceVerifier{})
}

// reference turns a reference into the answer to compare against.
func reference(ref string) string {
	if a, ok := extractBoxed(ref); ok {
		return a
	}
	if a, ok := extractHashes(ref); ok {
		return a
	}
	return ref
}

// mathVerifier is the general verifier for MATH-style answers: LaTeX
// normalisation, exact numbers, structures and expressions.
type mathVerifier struct{}

func (mathVerifier) Name() string { return "math" }

func (v mathVerifier) Verify(response, ref string) Result {
	return verifyWith(v.Name(), response, ref, mathReferenceOK, equivalentNormalized)
}

// mathReferenceOK rejects references that cannot be judged: nothing left
// after normalisation, or unbalanced braces (a truncated LaTeX answer).
func mathReferenceOK(n string) bool {
	if n == "" {
		return false
	}
	depth := 0
	for i := 0; i < len(n); i++ {
		switch n[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// numberVerifier is for tasks whose answer is one number (GSM8K, the builtin
// arithmetic suites): the reference must parse as a number.
type numberVerifier struct{}

func (numberVerifier) Name() string { return "number" }

func (v numberVerifier) Verify(response, ref string) Result {
	return verifyWith(v.Name(), response, ref, isNumber, func(a, b string) bool {
		if va, sa, ok := smallDecimal(a); ok {
			if vb, sb, ok := smallDecimal(b); ok {
				return smallEqual(va, sa, vb, sb)
			}
		}
		ra, okA := parseRat(a)
		rb, okB := parseRat(b)
		return okA && okB && ra.Cmp(rb) == 0
	})
}

func isNumber(n string) bool {
	if _, _, ok := smallDecimal(n); ok {
		return true
	}
	_, ok := parseRat(n)
	return ok
}

// choiceVerifier compares multiple-choice letters.
type choiceVerifier struct{}

func (choiceVerifier) Name() string { return "choice" }

func (v choiceVerifier) Verify(response, ref string) Result {
	refLetter, ok := ExtractChoice(ref)
	if !ok {
		if ref == "" {
			return Result{Verdict: Unverifiable, Verifier: v.Name(), Reason: ReasonNoReference}
		}
		return Result{Verdict: Unverifiable, Verifier: v.Name(), Reason: ReasonBadReference}
	}
	got, ok := ExtractChoice(response)
	if !ok {
		return Result{Verdict: Wrong, Verifier: v.Name(), Reason: ReasonNoAnswer}
	}
	if got != refLetter {
		return Result{Verdict: Wrong, Verifier: v.Name(), Answer: got, Reason: ReasonMismatch}
	}
	return Result{Verdict: Correct, Verifier: v.Name(), Answer: got}
}

// verifyWith runs the common steps. refOK and equal see normalised answers:
// the reference is normalised once per call.
func verifyWith(name, response, ref string, refOK func(norm string) bool, equal func(normAnswer, normRef string) bool) Result {
	r := reference(ref)
	if isBlank(r) {
		return Result{Verdict: Unverifiable, Verifier: name, Reason: ReasonNoReference}
	}
	nr := Normalize(r)
	if !refOK(nr) {
		return Result{Verdict: Unverifiable, Verifier: name, Reason: ReasonBadReference}
	}
	got, ok := Extract(response)
	if !ok {
		return Result{Verdict: Wrong, Verifier: name, Reason: ReasonNoAnswer}
	}
	if !equal(Normalize(got), nr) {
		return Result{Verdict: Wrong, Verifier: name, Answer: got, Reason: ReasonMismatch}
	}
	return Result{Verdict: Correct, Verifier: name, Answer: got}
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

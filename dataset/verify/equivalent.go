package verify

import "strings"

// Equivalent reports whether two final answers mean the same thing. It is
// conservative: an answer that normalises to nothing equals nothing.
func Equivalent(a, b string) bool {
	return equivalentNormalized(Normalize(a), Normalize(b))
}

// equivalentNormalized is Equivalent on answers already normalised, so a
// verifier normalises its reference once.
func equivalentNormalized(na, nb string) bool {
	if na == "" || nb == "" {
		return false
	}
	if len(na) > maxAnswerLen || len(nb) > maxAnswerLen {
		return na == nb // no structural work on pathological answers
	}
	return equivNorm(na, nb)
}

// maxAnswerLen bounds the answers compared beyond plain text, so that a
// degenerate response (a "\\boxed{}" holding pages) costs microseconds.
const maxAnswerLen = 2048

func equivNorm(a, b string) bool {
	if a == b {
		return true
	}
	ra, okA := parseRat(a)
	rb, okB := parseRat(b)
	if okA && okB {
		return ra.Cmp(rb) == 0
	}
	if isWords(a) && isWords(b) {
		return strings.EqualFold(a, b)
	}
	ia, okA := inequalityInterval(a)
	ib, okB := inequalityInterval(b)
	if okA || okB {
		if okA {
			a = ia
		}
		if okB {
			b = ib
		}
		return equivNorm(a, b)
	}
	if eq, ok := equivMatrix(a, b); ok {
		return eq
	}
	pa, okA := expandPM(a)
	pb, okB := expandPM(b)
	if okA || okB {
		if okA {
			a = pa
		}
		if okB {
			b = pb
		}
		return equivNorm(a, b)
	}
	if eq, ok := equivEquation(a, b); ok {
		return eq
	}
	if eq, ok := equivStruct(a, b); ok {
		return eq
	}
	return equivExpr(a, b)
}

// isWords reports whether s is plain text such as a name ("Evelyn").
func isWords(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) && s[i] != '\'' && s[i] != '-' {
			return false
		}
	}
	return len(s) > 1
}

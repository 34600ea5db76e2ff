package verify

import "strings"

// equivStruct compares answers made of parts: unions of intervals, sets,
// tuples and intervals, and bare comma lists. ok is false when neither answer
// has such a structure, so the caller tries other comparisons.
func equivStruct(a, b string) (eq, ok bool) {
	pa, pb := splitTop(a, `\cup`), splitTop(b, `\cup`)
	if len(pa) > 1 || len(pb) > 1 {
		// A union is a set of intervals: their order does not matter.
		return equalUnordered(pa, pb), true
	}
	ga, okA := parseGroup(a)
	gb, okB := parseGroup(b)
	if !okA && !okB {
		return false, false
	}
	if okA != okB {
		return false, true
	}
	return equivGroup(a, b) && ga.open == gb.open && ga.close == gb.close, true
}

// group is a bracketed list: "(1,2)", "[0,1)", "\{1,2\}", or a bare "1,2".
type group struct {
	open, close string
	items       []string
}

func parseGroup(s string) (group, bool) {
	for _, br := range [][2]string{{`\{`, `\}`}, {"(", ")"}, {"[", "]"}, {"(", "]"}, {"[", ")"}} {
		if strings.HasPrefix(s, br[0]) && strings.HasSuffix(s, br[1]) && len(s) >= len(br[0])+len(br[1]) {
			inner := s[len(br[0]) : len(s)-len(br[1])]
			if !balanced(inner) {
				continue
			}
			items := splitTop(inner, ",")
			if br[0] == "(" && br[1] == ")" && len(items) < 2 {
				return group{}, false // just parentheses around an expression
			}
			return group{br[0], br[1], items}, true
		}
	}
	if items := splitTop(s, ","); len(items) > 1 {
		return group{"", "", items}, true
	}
	return group{}, false
}

// equivGroup compares two groups item by item; sets and bare lists ignore
// order (a bare list is how MATH writes "all solutions").
func equivGroup(a, b string) bool {
	ga, okA := parseGroup(a)
	gb, okB := parseGroup(b)
	if !okA || !okB {
		if okA || okB {
			return false
		}
		return equivNorm(a, b)
	}
	if ga.open != gb.open || ga.close != gb.close || len(ga.items) != len(gb.items) {
		return false
	}
	if ga.open == `\{` || ga.open == "" {
		return equalUnordered(ga.items, gb.items)
	}
	return equalOrdered(ga.items, gb.items, equivItem)
}

func equivItem(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return equivNorm(a, b)
}

func equalOrdered(a, b []string, eq func(a, b string) bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !eq(a[i], b[i]) {
			return false
		}
	}
	return true
}

// equalUnordered matches every item of a with a distinct item of b.
func equalUnordered(a, b []string) bool {
	if len(a) != len(b) || len(a) > 64 { // quadratic matching: keep it small
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && equivItem(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// splitTop splits s at sep where sep is outside every bracket pair.
func splitTop(s, sep string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '}') {
			if s[i+1] == '{' {
				depth++
			} else {
				depth--
			}
			i++
			continue
		}
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		if depth == 0 && strings.HasPrefix(s[i:], sep) && (sep != `\cup` || i+len(sep) >= len(s) || !isLetter(s[i+len(sep)])) {
			parts = append(parts, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(parts, s[start:])
}

// balanced reports whether brackets in s never close more than they opened
// and end at zero, so "(1,2),(3,4)" is not read as one group.
func balanced(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

package verify

import (
	"math/big"
	"strings"
)

// parseRat reads a normalised answer as an exact rational: integers,
// decimals, "a/b", \frac{a}{b}, mixed numbers "2\frac{1}{2}", with an optional
// leading sign. Anything else is not a number here.
func parseRat(s string) (*big.Rat, bool) {
	if s == "" {
		return nil, false
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	if s == "" {
		return nil, false
	}
	var r *big.Rat
	if i := strings.Index(s, `\frac{`); i >= 0 {
		whole := s[:i]
		num, rest, ok := bracedArg(s[i+len(`\frac`):])
		if !ok {
			return nil, false
		}
		den, rest, ok := bracedArg(rest)
		if !ok || rest != "" {
			return nil, false
		}
		n, ok1 := parseDecimal(num)
		d, ok2 := parseDecimal(den)
		if !ok1 || !ok2 || d.Sign() == 0 {
			return nil, false
		}
		r = new(big.Rat).Quo(n, d)
		if whole != "" {
			// A mixed number: only a plain integer in front, never a sign
			// inside ("2-\frac12" is not a mixed number).
			if !allDigits(whole) {
				return nil, false
			}
			w, _ := new(big.Rat).SetString(whole)
			if r.Sign() < 0 {
				return nil, false
			}
			r.Add(w, r)
		}
	} else if num, den, ok := strings.Cut(s, "/"); ok {
		n, ok1 := parseDecimal(num)
		d, ok2 := parseDecimal(den)
		if !ok1 || !ok2 || d.Sign() == 0 {
			return nil, false
		}
		r = new(big.Rat).Quo(n, d)
	} else {
		var ok bool
		if r, ok = parseDecimal(s); !ok {
			return nil, false
		}
	}
	if neg {
		r.Neg(r)
	}
	return r, true
}

// parseDecimal accepts [-]digits[.digits] and [-].digits; no exponents, no
// "Inf", nothing big.Rat.SetString would take beyond plain decimals.
func parseDecimal(s string) (*big.Rat, bool) {
	t := strings.TrimPrefix(s, "-")
	if t == "" {
		return nil, false
	}
	intPart, frac, hasDot := strings.Cut(t, ".")
	if intPart != "" && !allDigits(intPart) {
		return nil, false
	}
	if hasDot && (frac == "" || !allDigits(frac)) {
		return nil, false
	}
	if intPart == "" && !hasDot {
		return nil, false
	}
	if len(intPart)+len(frac) <= 18 {
		// Fits in an int64: skip big.Rat's general parser, which is most of
		// the cost of verifying a short numeric answer.
		var v, den int64 = 0, 1
		for _, c := range intPart {
			v = v*10 + int64(c-'0')
		}
		for _, c := range frac {
			v = v*10 + int64(c-'0')
			den *= 10
		}
		if len(t) < len(s) {
			v = -v
		}
		if den == 1 {
			return new(big.Rat).SetInt64(v), true
		}
		return new(big.Rat).SetFrac64(v, den), true
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// bracedArg splits "{arg}rest" into arg and rest.
func bracedArg(s string) (arg, rest string, ok bool) {
	if s == "" || s[0] != '{' {
		return "", "", false
	}
	inner, ok := braced(s)
	if !ok {
		return "", "", false
	}
	return inner, s[len(inner)+2:], true
}

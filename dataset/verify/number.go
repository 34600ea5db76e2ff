package verify

import (
	"math/big"
	"math/bits"
	"strings"
)

// smallDecimal reads [+-]digits[.digits] or [+-].digits of at most 18
// digits as v / 10^scale: the common case of parseRat (which gives the same
// value for these strings) without allocating a big.Rat.
func smallDecimal(s string) (v int64, scale int, ok bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if len(intPart)+len(frac) > 18 || intPart == "" && frac == "" || hasDot && frac == "" {
		return 0, 0, false
	}
	for _, part := range [2]string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if !isDigit(part[i]) {
				return 0, 0, false
			}
			v = v*10 + int64(part[i]-'0')
		}
	}
	if neg {
		v = -v
	}
	return v, len(frac), true
}

var pow10 = func() (p [19]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// smallEqual compares va / 10^sa with vb / 10^sb exactly.
func smallEqual(va int64, sa int, vb int64, sb int) bool {
	if (va < 0) != (vb < 0) {
		return false // zero is never negative here
	}
	ua, ub := uint64(va), uint64(vb)
	if va < 0 {
		ua, ub = -ua, -ub
	}
	h1, l1 := bits.Mul64(ua, pow10[sb])
	h2, l2 := bits.Mul64(ub, pow10[sa])
	return h1 == h2 && l1 == l2
}

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

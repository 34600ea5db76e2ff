package verify

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// parseDecimal's int64 path must give what big.Rat.SetString gives.
func TestParseDecimalMatchesSetString(t *testing.T) {
	for _, s := range []string{"0", "-0", "007", "303", "-42", "3.14", "-.5", ".25", "0.000", "12.50",
		"999999999999999999", "-99999999.9999999999", "1234567890123456789", "0.1234567890123456789",
		"1.", "-", ".", "1.2.3", "1e5", "+3", "--1"} {
		got, ok := parseDecimal(s)
		want, wantOK := (*big.Rat)(nil), false
		if t0 := trimMinus(s); t0 != "" && (allDigits(t0) || validDot(t0)) {
			want, wantOK = new(big.Rat).SetString(s)
		}
		if ok != wantOK || ok && got.Cmp(want) != 0 {
			t.Errorf("parseDecimal(%q) = %v, %v; want %v, %v", s, got, ok, want, wantOK)
		}
	}
}

func trimMinus(s string) string {
	if len(s) > 0 && s[0] == '-' {
		return s[1:]
	}
	return s
}

func validDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return (i == 0 || allDigits(s[:i])) && allDigits(s[i+1:])
		}
	}
	return false
}

// smallDecimal and smallEqual must agree with parseRat wherever they answer.
func TestSmallDecimalMatchesParseRat(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const chars = "0123456789.-+x"
	var strs []string
	for n := 0; n < 3000; n++ {
		b := make([]byte, rng.IntN(22))
		for i := range b {
			b[i] = chars[rng.IntN(10)]
			if rng.IntN(6) == 0 {
				b[i] = chars[rng.IntN(len(chars))]
			}
		}
		strs = append(strs, string(b))
	}
	strs = append(strs, "0", "-0", "+0", "0.0", "-.0", ".5", "0.50", "1", "1.000000000000000000", "999999999999999999",
		"-999999999999999999", "99999999999999999.9", "0.000000000000000001", "--5", "+-5", "5.", ".", "")
	for i, a := range strs {
		va, sa, ok := smallDecimal(a)
		ra, okR := parseRat(a)
		if ok && (!okR || new(big.Rat).SetFrac(big.NewInt(va), new(big.Int).SetUint64(pow10[sa])).Cmp(ra) != 0) {
			t.Fatalf("smallDecimal(%q) = %d/10^%d; parseRat = %v, %v", a, va, sa, ra, okR)
		}
		b := strs[(i*7+1)%len(strs)]
		if rng.IntN(3) == 0 {
			b = a + "0"
			if !strings.Contains(a, ".") {
				b = a + ".0"
			}
		}
		vb, sb, okB := smallDecimal(b)
		rb, okRB := parseRat(b)
		if okB && !okRB {
			t.Fatalf("smallDecimal accepts %q, parseRat does not", b)
		}
		if ok && okB && smallEqual(va, sa, vb, sb) != (ra.Cmp(rb) == 0) {
			t.Fatalf("smallEqual(%q, %q) = %v, parseRat says %v", a, b, !(ra.Cmp(rb) == 0), ra.Cmp(rb) == 0)
		}
	}
}

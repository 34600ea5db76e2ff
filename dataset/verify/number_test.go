package verify

import (
	"math/big"
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

package verify

import "testing"

func TestMajority(t *testing.T) {
	tests := []struct {
		name    string
		answers []string
		want    string
		count   int
	}{
		{"plain", []string{"3", "4", "3"}, "3", 2},
		{"equivalent forms vote together", []string{`\frac{1}{2}`, "4", "0.5", "1/2", "4"}, `\frac{1}{2}`, 3},
		{"tie goes to first seen", []string{"4", "3"}, "4", 1},
		{"empty answers do not vote", []string{"", " ", "", "7"}, "7", 1},
		{"none", nil, "", 0},
	}
	for _, tt := range tests {
		got, n := Majority(tt.answers)
		if got != tt.want || n != tt.count {
			t.Errorf("%s: Majority(%q) = %q, %d; want %q, %d", tt.name, tt.answers, got, n, tt.want, tt.count)
		}
	}
}

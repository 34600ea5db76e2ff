package verify

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"spaces", " 1 + 2 ", "1+2"},
		{"dfrac", `\dfrac{1}{2}`, `\frac{1}{2}`},
		{"tfrac", `\tfrac{3}{4}`, `\frac{3}{4}`},
		{"short frac", `\frac12`, `\frac{1}{2}`},
		{"half short frac", `\frac1{x}`, `\frac{1}{x}`},
		{"short sqrt", `2\sqrt3`, `2\sqrt{3}`},
		{"left right", `\left( 3, \frac{\pi}{2} \right)`, `(3,\frac{\pi}{2})`},
		{"right dot", `\left.x\right|`, `x|`},
		{"leftarrow kept", `\leftarrow`, `\leftarrow`},
		{"bigl", `\bigl(1,2\bigr)`, "(1,2)"},
		{"text name", `\text{Evelyn}`, "Evelyn"},
		{"text unit", `10\text{ inches}`, "10"},
		{"text unit squared", `24\text{ cm}^2`, "24"},
		{"mbox unit", `5 \mbox{ cm}`, "5"},
		{"text choice", `\text{(C)}`, "(C)"},
		{"textbf", `\textbf{yes}`, "yes"},
		{"text between numbers kept", `2\text{ and }3`, "2and3"},
		{"theta prefix", `\theta = 1`, "1"},
		{"unit word", "12 apples", "12"},
		{"unit word squared", "5 cm^2", "5"},
		{"not a unit", "5 x", "5x"},
		{"pi is not a unit", "2 pi", "2pi"},
		{"times is not a unit", "3 times 4", "3times4"},
		{"degrees braced", `90^{\circ}`, "90"},
		{"degrees", `90^\circ`, "90"},
		{"degree sign", "45°", "45"},
		{"dollar escaped", `\$18.00`, "18"},
		{"dollar math", "$x$", "x"},
		{"percent escaped", `50\%`, "50"},
		{"percent", "12.5%", "12.5"},
		{"thousands", "1,234,567", "1234567"},
		{"thousands decimal", "-1,234.50", "-1234.5"},
		{"latex thousands", "1{,}000", "1000"},
		{"thin space thousands", `1\,000`, "1000"},
		{"list kept", "1,-2", "1,-2"},
		{"bad grouping kept", "12,34", "12,34"},
		{"trailing zero", "5.0", "5"},
		{"trailing zeros", "2.500", "2.5"},
		{"leading dot", ".5", "0.5"},
		{"negative leading dot", "-.5", "-0.5"},
		{"trailing period", "7.", "7"},
		{"var prefix", "x = 5", "5"},
		{"subscript var prefix", "a_1=3", "3"},
		{"two letter prefix", "xy=3", "3"},
		{"equation kept", "y = 2x = 4", "y=2x=4"},
		{"long lhs kept", "2x+3y=6", "2x+3y=6"},
		{"inverse spaces", `a\!b\;c\:d\quad e`, "abcde"},
		{"displaystyle", `\displaystyle\frac{1}{2}`, `\frac{1}{2}`},
		{"boxed", `\boxed{4}`, "4"},
		{"varnothing", `\varnothing`, `\emptyset`},
		{"unicode minus", "−5", "-5"},
		{"unicode pi and root", "2π√3", `2\pi\sqrt{3}`},
		{"no-break space thousands", "1\u00a0000", "1000"},
		{"braced exponent", "x^{2}+y_{1}", "x^2+y_1"},
		{"long exponent kept", "2^{10}", "2^{10}"},
		{"base subscript", "52_{8}", "52_8"},
		{"empty", "   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

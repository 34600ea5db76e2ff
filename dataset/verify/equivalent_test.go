package verify

import (
	"strconv"
	"testing"
)

func TestEquivalent(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		// normalised text
		{"42", "42", true},
		{`\text{Evelyn}`, "Evelyn", true},
		{"Evelyn", "evelyn", true},
		{"Evelyn", "Bob", false},
		{`90^\circ`, "90", true},
		{`\$18.00`, "18", true},
		{"x=5", "5", true},
		{`x \in [-2,7]`, "[-2,7]", true},
		{`10\text{ cm}`, "10", true},
		{`\begin{pmatrix} 1 \\ 2 \end{pmatrix}`, `\begin{pmatrix}1\\2\end{pmatrix}`, true},
		{`\begin{pmatrix} 1 \\ 2 \end{pmatrix}`, `\begin{pmatrix}2\\1\end{pmatrix}`, false},
		// numbers
		{"1,600", "1600", true},
		{"0.5", `\frac{1}{2}`, true},
		{"1/2", `\frac12`, true},
		{`\dfrac{14}{3}`, `4\frac{2}{3}`, true},
		{`2\frac{1}{2}`, "5/2", true},
		{`-\frac{1}{2}`, `\frac{-1}{2}`, true},
		{"-0.5", `-\frac12`, true},
		{"0.1", `\frac{1}{10}`, true},
		{"5.0", "5", true},
		{"-3", "3", false},
		{`\frac{1}{3}`, "0.333", false},
		{`\frac{1}{3}`, "0.3333333333", false},
		{"50\\%", "50", true}, // percentages compare as written
		{"50\\%", "0.5", false},
		{"1267650600228229401496703205376", "2^{100}", true},
		{"1267650600228229401496703205377", "2^{100}", false},
		{"12", "12.5", false},
		{"2", "2x", false},
		// structures
		{`\left( 3, \frac{\pi}{2} \right)`, `(3,\pi/2)`, true},
		{"(1,2)", "(2,1)", false},
		{"(1,2)", "[1,2]", false},
		{"[1,2)", "[1,2)", true},
		{"[1,2)", "(1,2]", false},
		{`(-\infty,-2)\cup(3,\infty)`, `(-\infty, -2) \cup (3, \infty)`, true},
		{`(-\infty,-2)\cup(3,\infty)`, `(3,\infty)\cup(-\infty,-2)`, true},
		{`(-\infty,-2)\cup(3,\infty)`, `(-\infty,-2)\cup[3,\infty)`, false},
		{`\{1,2,3\}`, `\{3,2,1\}`, true},
		{`\{1,2\}`, `\{1,2,2\}`, false},
		{"3, 5, 7", "7,5,3", true},
		{"1,-2", "-2, 1", true},
		{"1,-2", "1,2", false},
		{"1,2", "12", false},
		{"(1,2,3)", "(1,2)", false},
		{`(\frac{1}{2}, 0.25)`, "(0.5, 1/4)", true},
		// expressions
		{`\sqrt{12}`, `2\sqrt{3}`, true},
		{`3\sqrt{13}`, `\sqrt{117}`, true},
		{`\frac{\sqrt{3}}{2}`, `\frac{1}{2}\sqrt3`, true},
		{`\frac{\sqrt{2}}{2}`, `\frac{1}{\sqrt{2}}`, true},
		{`\sqrt[3]{8}`, "2", true},
		{`\frac{3\sqrt{3}}{4}`, `\frac{3\sqrt{3}}{2}`, false},
		{`\pi`, "3.14", false},
		{`\pi`, "3.14159265358979", false},
		{`\frac{\pi}{2}`, `\pi/2`, true},
		{`-\frac{\pi}{6}`, `-\pi/6`, true},
		{`2\pi`, `\pi`, false},
		{"6-5i", "-5i+6", true},
		{"6-5i", "6+5i", false},
		{"i", `\sqrt{-1}`, true},
		{"x^2+2x+1", "(x+1)^2", true},
		{"x^2+2x+1", "(x-1)^2", false},
		{"x^5 - x^4 + x^3 - x^2 + x - 1", "x^5-x^4+x^3-x^2+x-1", true},
		{"x^3+3x-6", "3x+x^3-6", true},
		{"p - q", "-q + p", true},
		{"p - q", "q - p", false},
		{`\cot x`, `\frac{\cos x}{\sin x}`, true},
		{"2x+1", "1+2x", true},
		{"a_1 + a_2", "a_2+a_1", true},
		{"a_1 + a_2", "a_1+a_3", false},
		{"52_8", "52_8", true},
		{"52_8", "42", false},
		// matrices
		{`\begin{pmatrix} -1/3 \\ 2/3 \end{pmatrix}`, `\begin{bmatrix}-\frac13\\ \frac{2}{3}\end{bmatrix}`, true},
		{`\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}`, `\begin{pmatrix}1&0\\0&1\end{pmatrix}`, true},
		{`\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}`, `\begin{pmatrix}1&0&0\\0&1&0\end{pmatrix}`, false},
		{`\begin{pmatrix} 1 \\ 2 \end{pmatrix}`, "(1,2)", false},
		// plus-minus
		{`1 \pm \sqrt{19}`, `1+\sqrt{19}, 1-\sqrt{19}`, true},
		{`1 \pm \sqrt{19}`, `1-\sqrt{19},1+\sqrt{19}`, true},
		{`1 \pm \sqrt{19}`, `1+\sqrt{19}`, false},
		{`3 \pm 2\sqrt{2}`, `3\mp2\sqrt2`, true},
		// equations
		{"5x - 7y + 11z + 4 = 0", "10x-14y+22z=-8", true},
		{"5x - 7y + 11z + 4 = 0", "5x-7y+11z-4=0", false},
		{"x^2 = 4", "x = 2", false},
		{"x+y=1", "x+y", false},
		{"2=2", "3=3", false},
		{`\frac{\theta}{2}`, `\theta/2`, true},
		{`\theta`, `\alpha`, false},
		{"5!", "120", true},
		{`\frac{10!}{8!}`, "90", true},
		{"5!", "121", false},
		{`\log 100`, "2", true},
		{`\ln x`, `\log x`, false},
		{`1.5\times10^{3}`, "1500", true},
		// inequalities as intervals
		{`x \le 3`, `(-\infty,3]`, true},
		{`x \leq 3`, `(-\infty, 3)`, false},
		{"x<3", `(-\infty,3)`, true},
		{`x \geq -1`, `[-1,\infty)`, true},
		{"3>x", `(-\infty,3)`, true},
		{`-1 < x \leq 2`, "(-1,2]", true},
		{`2 \geq x > -1`, "(-1,2]", true},
		{`-1 < x \leq 2`, "[-1,2]", false},
		{`x \le 3`, `y \le 3`, true}, // the same set, whatever the variable is called
		{"x<3", "x>3", false},
		// never correct on nothing
		{"", "", false},
		{"5", "", false},
		{`\text{}`, `\text{}`, false},
	}
	for _, tt := range tests {
		if got := Equivalent(tt.a, tt.b); got != tt.want {
			t.Errorf("Equivalent(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := Equivalent(tt.b, tt.a); got != tt.want {
			t.Errorf("Equivalent(%q, %q) = %v, want %v (swapped)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestEquivalentLongAnswers(t *testing.T) {
	list := func(n, shift int) string {
		var b []byte
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, []byte(strconv.Itoa((i+shift)%n))...)
		}
		return string(b)
	}
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"short list reordered", list(50, 0), list(50, 7), true},
		{"long list identical", list(2000, 0), list(2000, 0), true},
		{"long list reordered is not analysed", list(2000, 0), list(2000, 7), false},
		{"huge power", `(999^{4000})^{4000}`, `(999^{4000})^{4001}`, false},
	}
	for _, tt := range tests {
		if got := Equivalent(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

package verify

import "testing"

// FuzzVerify checks that no input panics or hangs, that Equivalent is
// symmetric, and that nothing is equivalent to an empty reference. The seeds
// run with go test; go test -fuzz FuzzVerify explores further.
func FuzzVerify(f *testing.F) {
	for _, s := range [][2]string{
		{`\boxed{\frac{1}{2}}`, "0.5"},
		{`\boxed{\left( 3, \frac{\pi}{2} \right)}`, `(3,\pi/2)`},
		{"#### 1,600", "1600"},
		{`\boxed{x^2+2x+1}`, "(x+1)^2"},
		{`\boxed{\begin{pmatrix}1\\2\end{pmatrix}}`, `\begin{pmatrix}1\\2\end{pmatrix}`},
		{`\boxed{1\pm\sqrt{2}}`, `1+\sqrt2,1-\sqrt2`},
		{`\boxed{\sqrt[}`, `\frac{`},
		{"The answer is (C).", "C"},
		{`\boxed{5x-7y=0}`, "10x=14y"},
		{`\boxed{2^{9999}}`, `2^{-9999}`},
		{`\boxed{0^{-1}}`, "0"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, response, reference string) {
		for _, name := range Names() {
			v, _ := Lookup(name)
			r := v.Verify(response, reference)
			if r.Verdict == Correct && isBlank(reference) {
				t.Fatalf("%s: correct against a blank reference", name)
			}
		}
		a, _ := Extract(response)
		if Equivalent(a, reference) != Equivalent(reference, a) {
			t.Fatalf("Equivalent not symmetric for %q, %q", a, reference)
		}
	})
}

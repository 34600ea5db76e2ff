package verify

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{Correct: "correct", Wrong: "wrong", Unverifiable: "unverifiable"} {
		if v.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(v), v.String(), want)
		}
	}
	var zero Verdict
	if zero == Correct {
		t.Error("the zero Verdict must not be Correct")
	}
}

func TestRegistry(t *testing.T) {
	names := Names()
	for _, n := range []string{"choice", "math", "number"} {
		if !slices.Contains(names, n) {
			t.Errorf("Names() = %v, missing %q", names, n)
		}
		v, err := Lookup(n)
		if err != nil || v.Name() != n {
			t.Errorf("Lookup(%q) = %v, %v", n, v, err)
		}
	}
	if _, err := Lookup("nope"); !errors.Is(err, ErrUnknownVerifier) {
		t.Errorf("Lookup(nope) error = %v, want ErrUnknownVerifier", err)
	}
}

func TestForTask(t *testing.T) {
	tests := map[string]string{
		"math":            "math",
		"gsm8k":           "number",
		"choice":          "choice",
		"builtin:arith":   "number",
		"builtin:arith:3": "number",
		"":                "math",
		"something-else":  "math",
	}
	for task, want := range tests {
		if got := ForTask(task).Name(); got != want {
			t.Errorf("ForTask(%q) = %q, want %q", task, got, want)
		}
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name, verifier, response, reference string
		verdict                             Verdict
		answer, reason                      string
	}{
		{"math correct", "math", `<think>1+1</think>\n\n\boxed{\dfrac{1}{2}}`, "0.5", Correct, `\dfrac{1}{2}`, ""},
		{"math wrong", "math", `\boxed{3}`, "4", Wrong, "3", ReasonMismatch},
		{"math no answer", "math", "I give up", "4", Wrong, "", ReasonNoAnswer},
		{"math empty response", "math", "", "4", Wrong, "", ReasonNoAnswer},
		{"math empty reference", "math", `\boxed{4}`, "", Unverifiable, "", ReasonNoReference},
		{"math blank reference", "math", `\boxed{4}`, " \n", Unverifiable, "", ReasonNoReference},
		{"math reference normalises to nothing", "math", `\boxed{4}`, `\text{}`, Unverifiable, "", ReasonBadReference},
		{"math reference with unbalanced braces", "math", `\boxed{4}`, `\frac{1}{2`, Unverifiable, "", ReasonBadReference},
		{"math reference is a solution", "math", "The answer is 7.", `so $x = \boxed{7}$.`, Correct, "7", ""},
		{"math reference is gsm8k", "math", `\boxed{1600}`, "work\n#### 1,600", Correct, "1600", ""},
		{"number correct", "number", "so 3+4=7\n#### 7", "7", Correct, "7", ""},
		{"number with units", "number", `\boxed{\$18}`, "18", Correct, `\$18`, ""},
		{"number wrong", "number", `\boxed{19}`, "#### 18", Wrong, "19", ReasonMismatch},
		{"number bad reference", "number", `\boxed{19}`, "nineteen", Unverifiable, "", ReasonBadReference},
		{"number answer not a number", "number", `\boxed{x}`, "3", Wrong, "x", ReasonMismatch},
		{"choice correct", "choice", `\boxed{\text{(B)}}`, "B", Correct, "B", ""},
		{"choice reference in parens", "choice", "Answer: c", "(C)", Correct, "C", ""},
		{"choice wrong", "choice", "The answer is (A).", "B", Wrong, "A", ReasonMismatch},
		{"choice no answer", "choice", "hmm", "B", Wrong, "", ReasonNoAnswer},
		{"choice no reference", "choice", "A", "", Unverifiable, "", ReasonNoReference},
		{"choice bad reference", "choice", "A", "42", Unverifiable, "", ReasonBadReference},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Lookup(tt.verifier)
			if err != nil {
				t.Fatal(err)
			}
			got := v.Verify(tt.response, tt.reference)
			want := Result{Verdict: tt.verdict, Verifier: tt.verifier, Answer: tt.answer, Reason: tt.reason}
			if got != want {
				t.Errorf("Verify(%q, %q) = %+v, want %+v", tt.response, tt.reference, got, want)
			}
		})
	}
}

// TestVerifyConcurrent runs the verifiers from several goroutines, as the
// dataset stage does, and checks the results match a sequential run (and,
// under -race, that nothing is shared).
func TestVerifyConcurrent(t *testing.T) {
	cases := [][3]string{
		{"math", `\boxed{2\sqrt{3}}`, `\sqrt{12}`},
		{"math", `\boxed{(1,2)}`, `(2,1)`},
		{"math", `\boxed{x^2+2x+1}`, `(x+1)^2`},
		{"number", "#### 1,600", "1600"},
		{"choice", "Answer: B", "C"},
	}
	want := make([]Result, len(cases))
	for i, c := range cases {
		v, _ := Lookup(c[0])
		want[i] = v.Verify(c[1], c[2])
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(cases))
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, c := range cases {
				v := ForTask(map[string]string{"math": "math", "number": "gsm8k", "choice": "choice"}[c[0]])
				if got := v.Verify(c[1], c[2]); got != want[i] {
					errs <- fmt.Sprintf("case %d: %+v, want %+v", i, got, want[i])
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

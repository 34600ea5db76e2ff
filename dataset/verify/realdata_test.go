package verify

import (
	"bufio"
	"encoding/json"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
)

func readJSONL[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var r T
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// derangement is a fixed permutation without fixed points: a shuffle by a
// small linear congruential generator, then a rotation of any fixed points.
func derangement(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	x := uint64(12345)
	for i := n - 1; i > 0; i-- {
		x = x*6364136223846793005 + 1442695040888963407
		j := int((x >> 33) % uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	for i := range p {
		if p[i] == i {
			k := (i + 1) % n
			p[i], p[k] = p[k], p[i]
		}
	}
	return p
}

type math500Row struct {
	Problem  string `json:"problem"`
	Solution string `json:"solution"`
	Answer   string `json:"answer"`
	ID       string `json:"unique_id"`
}

// TestMATH500 checks the real-data bar: the boxed answer of each
// reference solution verifies against the answer field (≥ 99%), and answers
// paired with another problem's solution are judged wrong (≥ 99%). Pairs
// whose two answer fields are the same text are not a mismatch and are left
// out of the second count.
func TestMATH500(t *testing.T) {
	rows := readJSONL[math500Row](t, repotest.Data(t, "math500_test.jsonl"))
	if len(rows) != 500 {
		t.Fatalf("math500: %d rows, want 500", len(rows))
	}
	v := ForTask("math")
	ok := 0
	for _, r := range rows {
		res := v.Verify(r.Solution, r.Answer)
		if res.Verdict == Correct {
			ok++
		} else {
			t.Logf("not verified: %s: answer %q extracted %q (%s)", r.ID, r.Answer, res.Answer, res.Reason)
		}
	}
	perm := derangement(len(rows))
	wrong, pairs := 0, 0
	for i, r := range rows {
		o := rows[perm[i]]
		if o.Answer == r.Answer {
			continue
		}
		pairs++
		res := v.Verify(r.Solution, o.Answer)
		if res.Verdict == Wrong {
			wrong++
		} else {
			t.Logf("mismatch judged %s: %s vs %s: %q vs %q", res.Verdict, r.ID, o.ID, res.Answer, o.Answer)
		}
	}
	// The other way round: the answer written in prose as a response, the
	// full solution as reference (extracted through its \boxed), and the
	// answer rewritten into an equivalent form a model might give.
	prose, rewritten, changed := 0, 0, 0
	for _, r := range rows {
		if v.Verify("The final answer is $"+r.Answer+"$.", r.Solution).Verdict == Correct {
			prose++
		} else {
			t.Logf("prose not verified: %s: %q", r.ID, r.Answer)
		}
		alt := rewriteAnswer(r.Answer)
		if v.Verify(`<think>...</think>\boxed{`+alt+`}`, r.Answer).Verdict == Correct {
			rewritten++
		} else {
			t.Logf("rewrite not verified: %s: %q as %q", r.ID, r.Answer, alt)
		}
		if alt != r.Answer {
			changed++
		}
	}
	t.Logf("MATH-500: answer in prose against the solution %d/%d = %.1f%%; rewritten answers (%d changed) %d/%d = %.1f%%",
		prose, len(rows), 100*float64(prose)/float64(len(rows)), changed, rewritten, len(rows), 100*float64(rewritten)/float64(len(rows)))
	if prose < len(rows)*99/100 || rewritten < len(rows)*99/100 {
		t.Errorf("MATH-500 prose/rewritten below 99%%")
	}
	pOK, pWrong := 100*float64(ok)/float64(len(rows)), 100*float64(wrong)/float64(pairs)
	t.Logf("MATH-500: solution verifies against answer %d/%d = %.1f%%; shuffled pairs judged wrong %d/%d = %.1f%% (%d pairs with identical answers skipped)",
		ok, len(rows), pOK, wrong, pairs, pWrong, len(rows)-pairs)
	if pOK < 99 || pWrong < 99 {
		t.Errorf("MATH-500 below 99%%: matched %.1f%%, mismatched %.1f%%", pOK, pWrong)
	}
}

type gsm8kRow struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// TestGSM8K: the "#### N" of each solution verifies against the solution as
// reference (100%), and against another problem's solution is wrong (100%)
// unless the two final numbers are equal.
func TestGSM8K(t *testing.T) {
	rows := readJSONL[gsm8kRow](t, repotest.Data(t, "gsm8k_test.jsonl"))
	if len(rows) == 0 {
		t.Fatal("gsm8k: no rows")
	}
	v := ForTask("gsm8k")
	final := make([]string, len(rows))
	ok := 0
	for i, r := range rows {
		a, found := extractHashes(r.Answer)
		if !found {
			t.Fatalf("gsm8k row %d: no #### line", i+1)
		}
		final[i] = a
		// The response is the full worked solution; the reference is the bare number.
		res := v.Verify(r.Answer, a)
		if res.Verdict == Correct {
			ok++
		} else {
			t.Logf("not verified: row %d: %q vs %q (%s)", i+1, res.Answer, a, res.Reason)
		}
	}
	prose := 0
	for i, r := range rows {
		// The final number in prose as the response, the solution as reference.
		if v.Verify("So the answer is "+final[i]+".", r.Answer).Verdict == Correct {
			prose++
		} else {
			t.Logf("prose not verified: row %d: %q", i+1, final[i])
		}
	}
	perm := derangement(len(rows))
	wrong, pairs := 0, 0
	for i, r := range rows {
		j := perm[i]
		if Normalize(final[i]) == Normalize(final[j]) {
			continue
		}
		pairs++
		// Here the reference is the other full solution, extracted through its "####".
		res := v.Verify(r.Answer, rows[j].Answer)
		if res.Verdict == Wrong {
			wrong++
		} else {
			t.Logf("mismatch judged %s: rows %d vs %d: %q vs %q", res.Verdict, i+1, j+1, final[i], final[j])
		}
	}
	t.Logf("GSM8K: solution verifies %d/%d = %.2f%%; shuffled pairs judged wrong %d/%d = %.2f%% (%d pairs with equal answers skipped)",
		ok, len(rows), 100*float64(ok)/float64(len(rows)), wrong, pairs, 100*float64(wrong)/float64(pairs), len(rows)-pairs)
	t.Logf("GSM8K: answer in prose against the solution %d/%d", prose, len(rows))
	if ok != len(rows) || wrong != pairs || prose != len(rows) {
		t.Errorf("GSM8K must be 100%% both ways")
	}
}

// rewriteAnswer writes a MATH answer the way a model might: a rational as a
// decimal or "a/b", \frac as \dfrac, spaced and \left/\right-wrapped
// tuples, lists in reverse order.
func rewriteAnswer(a string) string {
	n := Normalize(a)
	if r, ok := parseRat(n); ok {
		if !r.IsInt() {
			if f := r.FloatString(12); strings.TrimRight(f, "0") != "" {
				if back, _ := new(big.Rat).SetString(f); back.Cmp(r) == 0 {
					return strings.TrimRight(f, "0")
				}
			}
			return r.RatString()
		}
		return r.RatString() + ".0"
	}
	if g, ok := parseGroup(n); ok && len(g.items) > 1 {
		items := slices.Clone(g.items)
		if g.open == "" || g.open == `\{` {
			slices.Reverse(items)
		}
		open, close := g.open, g.close
		if open == "(" || open == "[" {
			open, close = `\left`+open, `\right`+close
		}
		return open + " " + strings.Join(items, " , ") + " " + close
	}
	return strings.ReplaceAll(a, `\frac`, `\dfrac`)
}

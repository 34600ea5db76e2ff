package verify

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// TestNormalizeGolden pins the normal form of every MATH-500 reference
// answer, so a change to a normalisation rule shows up as a reviewable diff
// of testdata/math500_normalized.golden (refresh with -update).
func TestNormalizeGolden(t *testing.T) {
	rows := readJSONL[math500Row](t, repotest.Data(t, "math500_test.jsonl"))
	var b bytes.Buffer
	for _, r := range rows {
		fmt.Fprintf(&b, "%s\t%q\t%q\n", r.ID, r.Answer, Normalize(r.Answer))
	}
	checkGolden(t, "math500_normalized.golden", b.Bytes())
}

// TestMATH500AllPairs is the false-positive guard: of all 249,500 ordered
// pairs of MATH-500 problems, those whose answers normalise differently yet
// are judged equivalent are listed in testdata/math500_equivalent_pairs.golden,
// where a reviewer can see that each is a true equivalence (today only the
// unordered solution list "1,-2" / "-2,1").
func TestMATH500AllPairs(t *testing.T) {
	if testing.Short() {
		t.Skip("all pairs: about 2 s")
	}
	rows := readJSONL[math500Row](t, repotest.Data(t, "math500_test.jsonl"))
	norm := make([]string, len(rows))
	for i, r := range rows {
		norm[i] = Normalize(r.Answer)
	}
	seen := map[[2]string]bool{}
	var b bytes.Buffer
	for i := range rows {
		for j := range rows {
			if i == j || norm[i] == norm[j] || !Equivalent(rows[i].Answer, rows[j].Answer) {
				continue
			}
			if k := [2]string{rows[i].Answer, rows[j].Answer}; !seen[k] {
				seen[k] = true
				fmt.Fprintf(&b, "%q\t%q\n", k[0], k[1])
			}
		}
	}
	t.Logf("MATH-500 all pairs: %d distinct pairs of differently normalised answers judged equivalent", len(seen))
	checkGolden(t, "math500_equivalent_pairs.golden", b.Bytes())
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			t.Fatalf("%s line %d differs (run go test -update and review the diff):\n got %s\nwant %s", path, i+1, gl, wl)
		}
	}
}

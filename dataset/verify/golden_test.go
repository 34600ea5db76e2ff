package verify

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// TestNormalizeGolden pins the normal form of every MATH-500 reference
// answer, so a change to a normalisation rule shows up as a reviewable diff
// of testdata/math500_normalized.golden (refresh with -update).
func TestNormalizeGolden(t *testing.T) {
	rows := readJSONL[math500Row](t, sharedData(t, "math500_test.jsonl"))
	var b bytes.Buffer
	for _, r := range rows {
		fmt.Fprintf(&b, "%s\t%q\t%q\n", r.ID, r.Answer, Normalize(r.Answer))
	}
	path := filepath.Join("testdata", "math500_normalized.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		got := bytes.Split(b.Bytes(), []byte("\n"))
		for i, w := range bytes.Split(want, []byte("\n")) {
			if i >= len(got) || !bytes.Equal(got[i], w) {
				t.Fatalf("%s line %d differs (run go test -update and review the diff):\n got %s\nwant %s", path, i+1, got[min(i, len(got)-1)], w)
			}
		}
		t.Fatalf("%s differs in length (run go test -update)", path)
	}
}

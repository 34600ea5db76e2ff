package sampler

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestBatchID(t *testing.T) {
	for _, id := range []string{"gsm8k-7", "a#1", "50%", "%23", "x#y#2", "", "#", "ünï code/ids"} {
		for _, s := range []int{0, 3, 127} {
			cid := BatchID(id, s)
			gotID, gotS, err := ParseBatchID(cid)
			if err != nil || gotID != id || gotS != s {
				t.Errorf("ParseBatchID(BatchID(%q, %d) = %q) = %q, %d, %v", id, s, cid, gotID, gotS, err)
			}
		}
	}
	for _, bad := range []string{"no-sample", "a#", "a#x", "a#-1", "a#b#1", "%zz#1"} {
		if _, _, err := ParseBatchID(bad); err == nil {
			t.Errorf("ParseBatchID(%q) accepted", bad)
		}
	}
}

// Export splits at the line and byte limits, puts each file in place whole,
// and a second export leaves no file of the first behind.
func TestExportBatchSplits(t *testing.T) {
	ctx := context.Background()
	dir, out := t.TempDir(), t.TempDir()
	export := func(lim BatchLimits) BatchExport {
		t.Helper()
		j, err := Open(ctx, testConfig(t, dir, 10, 1))
		if err != nil {
			t.Fatal(err)
		}
		ex, err := j.ExportBatch(ctx, out, lim)
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}
	lineCounts := func(files []string) (counts []int, maxSize int64) {
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := fh.Stat()
			maxSize = max(maxSize, st.Size())
			n := 0
			for sc := bufio.NewScanner(fh); sc.Scan(); n++ {
			}
			fh.Close()
			counts = append(counts, n)
		}
		return counts, maxSize
	}
	for _, tt := range []struct {
		name string
		lim  BatchLimits
		want []int
	}{
		{"lines", BatchLimits{Lines: 3, Bytes: 1 << 20}, []int{3, 3, 3, 1}},
		{"bytes", BatchLimits{Lines: 100, Bytes: 1000}, nil}, // checked against the limit below
		{"one file", OpenAIBatchLimits, []int{10}},
	} {
		ex := export(tt.lim)
		counts, maxSize := lineCounts(ex.Files)
		total := 0
		for _, c := range counts {
			total += c
		}
		if ex.Requests != 10 || total != 10 || maxSize > tt.lim.Bytes || (tt.want != nil && !slices.Equal(counts, tt.want)) {
			t.Errorf("%s: %d requests, lines per file %v, largest %d bytes", tt.name, ex.Requests, counts, maxSize)
		}
		if tt.name == "bytes" && len(counts) < 2 {
			t.Errorf("bytes: one file of %d bytes, limit %d", maxSize, tt.lim.Bytes)
		}
		if left, _ := filepath.Glob(filepath.Join(out, "*")); len(left) != len(ex.Files) {
			t.Errorf("%s: %d files in the export directory, want %d: %v", tt.name, len(left), len(ex.Files), left)
		}
	}
}

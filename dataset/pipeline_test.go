package dataset

import (
	"context"
	"path/filepath"
	"testing"
)

func TestRunBuiltinTraces(t *testing.T) {
	in := t.TempDir()
	writeJSONL(t, filepath.Join(in, "traces-00000.jsonl"), builtinTraces(t, 300, 4))
	out := t.TempDir()
	cfg := DefaultConfig()
	cfg.Select.TestFraction = 0.1
	st, err := Run(context.Background(), Options{Inputs: []string{in}, OutDir: out, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lines %d traces %d kept %d (train %d test %d) rejected %d reasons %v verdicts %v",
		st.LinesIn, st.Traces, st.Kept, st.Train, st.Test, st.Rejected, st.Reasons, st.Verdicts)
	if st.LinesIn != 1200 || st.Traces != 1200 {
		t.Fatalf("lines %d traces %d, want 1200", st.LinesIn, st.Traces)
	}
	if st.Kept+st.Rejected != st.LinesIn {
		t.Fatalf("kept %d + rejected %d != lines %d", st.Kept, st.Rejected, st.LinesIn)
	}
	for _, r := range []string{FilterTruncated, FilterFormat, FilterLanguage, FilterRepetition, ReasonWrong, ReasonExactDup} {
		if st.Reasons[r] == 0 {
			t.Errorf("no trace rejected as %s", r)
		}
	}
}

package distill

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distill-dev/distill/sampler"
	"github.com/distill-dev/distill/teacher"
)

// batchInput is one line of a batch input file.
type batchInput struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// readBatchInputs reads every line of the batch-*.jsonl files in dir.
func readBatchInputs(t *testing.T, dir string) []batchInput {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "batch-*.jsonl"))
	var out []batchInput
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var in batchInput
			if err := json.Unmarshal(line, &in); err != nil {
				t.Fatalf("%s: %v: %s", f, err, line)
			}
			out = append(out, in)
		}
	}
	return out
}

// answerBatch answers batch input lines as the Batch API does, with the
// builtin teacher behind the real server's handler: lines for which fail
// says so go to the error file instead.
func answerBatch(t *testing.T, ins []batchInput, results, errs string, fail func(customID string) bool) {
	t.Helper()
	h := teacher.NewHandler(teacher.NewBuiltin(teacher.DefaultBuiltinConfig()), []string{"builtin"})
	var ok, bad bytes.Buffer
	for i, in := range ins {
		if fail(in.CustomID) {
			fmt.Fprintf(&bad, `{"id":"batch_req_%d","custom_id":%q,"response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}`+"\n", i, in.CustomID)
			continue
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(in.Method, in.URL, bytes.NewReader(in.Body)))
		line, err := json.Marshal(map[string]any{"id": fmt.Sprintf("batch_req_%d", i), "custom_id": in.CustomID,
			"response": map[string]any{"status_code": rec.Code, "request_id": fmt.Sprint(i), "body": json.RawMessage(rec.Body.Bytes())}, "error": nil})
		if err != nil {
			t.Fatal(err)
		}
		ok.Write(append(line, '\n'))
	}
	for path, b := range map[string][]byte{results: ok.Bytes(), errs: bad.Bytes()} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGenerateBatchRoundTrip exports the requests a run still lacks,
// answers them in the Batch API's output format and imports the answers:
// every sample exactly once, a second import adds nothing, a failed line
// is a failed record that --retry-failed exports again, and batch tokens
// are priced at half the live price.
func TestGenerateBatchRoundTrip(t *testing.T) {
	dir := t.TempDir()
	run, exp := filepath.Join(dir, "run"), filepath.Join(dir, "batch")
	gen := func(args ...string) error {
		return NewApp().Run(append([]string{"distill", "generate", "--num-prompts", "6", "--out", run, "--quiet",
			"--price-input", "1", "--price-output", "2"}, args...))
	}
	if err := gen("--samples", "1"); err != nil { // live: sample 0 of each prompt
		t.Fatal(err)
	}
	if err := gen("--samples", "3", "--batch-export", exp); err != nil {
		t.Fatal(err)
	}
	ins := readBatchInputs(t, exp)
	if len(ins) != 12 {
		t.Fatalf("exported %d requests, want the 12 pending (6 prompts × samples 1 and 2)", len(ins))
	}
	for _, in := range ins {
		id, s, err := sampler.ParseBatchID(in.CustomID)
		if err != nil || s == 0 || id == "" || in.Method != "POST" || in.URL != "/v1/chat/completions" {
			t.Fatalf("input line %+v: %v", in, err)
		}
		var body map[string]any
		json.Unmarshal(in.Body, &body)
		for _, k := range []string{"model", "messages", "temperature", "top_p", "max_tokens", "seed"} {
			if body[k] == nil {
				t.Fatalf("body without %s: %s", k, in.Body)
			}
		}
	}
	failed := ins[len(ins)-1].CustomID
	results, errs := filepath.Join(dir, "output.jsonl"), filepath.Join(dir, "errors.jsonl")
	answerBatch(t, ins, results, errs, func(id string) bool { return id == failed })
	for i, want := range []int64{12, 0} { // the second import finds every pair done
		if err := gen("--samples", "3", "--batch-import", results, errs); err != nil {
			t.Fatal(err)
		}
		m := genManifest(t, run)
		if m.Batch == nil || m.Batch.Lines != 12 || m.Batch.Imported != want || m.Batch.Skipped != 12-want {
			t.Fatalf("import %d: manifest batch_import %+v", i+1, m.Batch)
		}
		all := genExactlyOnce(t, run, 18)
		var cost float64
		nfailed := 0
		for _, tr := range all {
			c := float64(tr.Usage.PromptTokens)*1 + float64(tr.Usage.CompletionTokens)*2
			if tr.Batch {
				c /= 2
			}
			cost += c / 1e6
			if tr.Error != "" {
				nfailed++
				if fmt.Sprintf("%s#%d", tr.PromptID, tr.Sample) != failed || !tr.Batch || !strings.Contains(tr.Error, "batch_expired") {
					t.Fatalf("failed record %s#%d: %q", tr.PromptID, tr.Sample, tr.Error)
				}
			}
		}
		if nfailed != 1 || m.Tokens.BatchCompletion == 0 || fmt.Sprintf("%.9f", m.Cost) != fmt.Sprintf("%.9f", cost) {
			t.Fatalf("import %d: %d failed records; manifest cost %.9f, want %.9f (batch tokens at half price); tokens %+v", i+1, nfailed, m.Cost, cost, m.Tokens)
		}
	}
	if err := gen("--samples", "3", "--batch-export", exp, "--retry-failed"); err != nil {
		t.Fatal(err)
	}
	if again := readBatchInputs(t, exp); len(again) != 1 || again[0].CustomID != failed {
		t.Fatalf("--retry-failed export: %+v, want only %s", again, failed)
	}
	// filter reads imported records as it reads live ones; the failed one
	// was set aside by --retry-failed, to be answered again.
	data := filepath.Join(dir, "data")
	if err := NewApp().Run([]string{"distill", "filter", "--in", run, "--out", data}); err != nil {
		t.Fatal(err)
	}
	ciDataset(t, data, 17)
}

// The batch file's body is the one the live HTTP client sends for the same
// (prompt, sample).
func TestGenerateBatchBodyIsLiveBody(t *testing.T) {
	var mu sync.Mutex
	live := map[string]bool{}
	h := teacher.NewHandler(teacher.NewBuiltin(teacher.DefaultBuiltinConfig()), []string{"builtin"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		live[string(b)] = true
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"distill", "generate", "--teacher", srv.URL + "/v1", "--model", "builtin", "--num-prompts", "4", "--samples", "2", "--quiet"}
	if err := NewApp().Run(append(args, "--out", filepath.Join(dir, "live"))); err != nil {
		t.Fatal(err)
	}
	if err := NewApp().Run(append(args, "--out", filepath.Join(dir, "batch"), "--batch-export", filepath.Join(dir, "files"))); err != nil {
		t.Fatal(err)
	}
	ins := readBatchInputs(t, filepath.Join(dir, "files"))
	for _, in := range ins {
		if !live[string(in.Body)] {
			t.Errorf("batch body never sent live: %s", in.Body)
		}
	}
	if len(ins) != 8 || len(live) != 8 {
		t.Fatalf("%d batch lines, %d live bodies, want 8", len(ins), len(live))
	}
}

func TestGenerateBatchImportErrors(t *testing.T) {
	dir := t.TempDir()
	run, exp := filepath.Join(dir, "run"), filepath.Join(dir, "batch")
	gen := func(args ...string) error {
		return NewApp().Run(append([]string{"distill", "generate", "--num-prompts", "3", "--out", run, "--quiet"}, args...))
	}
	if err := gen("--batch-export", exp); err != nil {
		t.Fatal(err)
	}
	ins := readBatchInputs(t, exp)
	good := filepath.Join(dir, "good.jsonl")
	answerBatch(t, ins, good, filepath.Join(dir, "none.jsonl"), func(string) bool { return false })
	first, _, _ := bufio.NewReader(bytes.NewReader(must(os.ReadFile(good)))).ReadLine()
	for _, tt := range []struct {
		name, text, msg string
	}{
		{"malformed", string(first) + "\n{\"custom_id\": \"x#0\", \"respo\n", ":2: malformed batch result"},
		{"no custom_id", `{"response":{"status_code":200,"body":{}}}` + "\n", ":1: batch result without custom_id"},
		{"bad custom_id", `{"custom_id":"nohash","response":null,"error":{"message":"m"}}` + "\n", `:1: custom_id "nohash": not PROMPT_ID#SAMPLE`},
		{"neither", `{"custom_id":"a#0","response":null,"error":null}` + "\n", ":1: batch result a#0 has neither response nor error"},
		{"not planned", string(first) + "\n" + `{"custom_id":"other#0","response":null,"error":{"message":"m"}}` + "\n", `:2: custom_id "other#0" is not a request of this run`},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".jsonl")
		os.WriteFile(path, []byte(tt.text), 0o644)
		err := gen("--batch-import", path)
		if err == nil || !strings.Contains(err.Error(), path+tt.msg) {
			t.Errorf("%s: %v, want %q", tt.name, err, path+tt.msg)
		}
		if traces, _ := filepath.Glob(filepath.Join(run, "traces-*")); len(traces) != 0 {
			t.Fatalf("%s: wrote %v", tt.name, traces)
		}
	}
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--batch-export", exp, "--batch-import", good}, "one at a time"},
		{[]string{"--batch-export", exp, "--samples", "2", "--until-correct", "1"}, "--until-correct with batch files"},
		{[]string{"--batch-import", good, "--samples", "2", "--until-correct", "1"}, "--until-correct with batch files"},
		{[]string{good}, "generate takes no arguments"},
	} {
		if err := gen(tt.args...); err == nil || !strings.Contains(err.Error(), tt.msg) || ExitCode(err) != ExitUsage {
			t.Errorf("%v: %v (exit %d), want %q, exit 2", tt.args, err, ExitCode(err), tt.msg)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

package distill

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The built binary's exit statuses, one command line each.
func TestExitCodes(t *testing.T) {
	bin := buildDistill(t)
	dir := t.TempDir()
	// A teacher that never answers, so a run is in flight when interrupted;
	// asked tells the test when the first request arrived.
	asked := make(chan struct{})
	var once sync.Once
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // only then does net/http see the client go away
		once.Do(func() { close(asked) })
		<-r.Context().Done()
	}))
	defer hang.Close()
	gen := []string{"generate", "--num-prompts", "4", "--quiet"}
	for _, tt := range []struct {
		name      string
		args      []string
		interrupt bool
		want      int
	}{
		{"done", append(gen, "--out", filepath.Join(dir, "done")), false, 0},
		{"help", []string{"--help"}, false, 0},
		{"failed: no prompt file", append(gen, "--out", filepath.Join(dir, "failed"), "--prompts", filepath.Join(dir, "missing.jsonl")), false, 1},
		{"unknown command", []string{"generat"}, false, 2},
		{"unknown flag", append(gen, "--sample", "2"), false, 2},
		{"value that does not parse", append(gen, "--samples", "two"), false, 2},
		{"value refused", append(gen, "--samples", "0"), false, 2},
		{"budget reached", append(gen, "--out", filepath.Join(dir, "budget"), "--max-total-tokens", "1", "--concurrency", "1"), false, 3},
		{"interrupted", append(gen, "--out", filepath.Join(dir, "int"), "--teacher", hang.URL+"/v1", "--model", "m"), true, 130},
	} {
		cmd := exec.Command(bin, tt.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if tt.interrupt {
			<-asked
			cmd.Process.Signal(os.Interrupt)
		}
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.want {
			t.Errorf("%s: distill %s: exit %d, want %d\n%s", tt.name, strings.Join(tt.args, " "), code, tt.want, stderr.String())
		}
	}
}

// Off a terminal, progress is plain log lines: no escape sequence, no
// carriage return.
func TestProgressOffTerminal(t *testing.T) {
	bin := buildDistill(t)
	cmd := exec.Command(bin, "generate", "--num-prompts", "20", "--out", t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // a pipe, not a terminal
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	out := stderr.String()
	if !strings.Contains(out, "generate: 20/20 (100.0%)") || strings.Contains(out, "\x1b[") || strings.Contains(out, "\r") {
		t.Fatalf("progress off a terminal:\n%q", out)
	}
}

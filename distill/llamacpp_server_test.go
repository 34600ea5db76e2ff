package distill

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/distill-dev/distill/internal/repotest"
)

// llamaCppServer exports ckpt at f16 and serves the file with
// llama-cpp-python's OpenAI-compatible server (python/checks/
// llama_server.py: the server's own main, with neutral sampling defaults)
// on a free loopback port, with the chat template from the GGUF. It returns
// the base URL; the server is stopped when the test ends.
func llamaCppServer(t *testing.T, ckpt string) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "student.gguf")
	if err := runExportGGUF(context.Background(), ExportGGUFOptions{Model: ckpt, Out: file, Type: "f16", Log: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(repotest.Python(t), repotest.Path(t, "python/checks/llama_server.py"),
		"--model", file, "--model_alias", "arith-nano", "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--n_ctx", "2048", "--n_threads", "2")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("llama.cpp server log (last 3000 bytes):\n%s", b[max(0, len(b)-3000):])
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d/v1", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("llama.cpp server exited: %v\n%s", err, b)
		default:
		}
		if resp, err := http.Get(base + "/models"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("llama.cpp server not answering /v1/models after 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLlamaCppServer puts a real third-party OpenAI-compatible server in
// the loop: llama.cpp's (llama-cpp-python) serving the GGUF export of a
// student distill trained (testdata/students/arith-nano). distill eval
// through it on 100 held-out builtin prompts gives a pass@1 inside the 95%
// interval of distill eval on the checkpoint itself with the same prompts
// and seed; distill generate through it, streamed and not, writes every
// (prompt, sample) exactly once, each a well-formed trace, although the
// server cuts running streams short when new requests arrive.
func TestLlamaCppServer(t *testing.T) {
	ckpt := repotest.Data(t, "students/arith-nano")
	base := llamaCppServer(t, ckpt)

	t.Run("eval", func(t *testing.T) {
		opts := DefaultEvalOptions()
		opts.Prompts, opts.NumPrompts, opts.Seed, opts.Template = "builtin:arith:1-2", 100, 1000, "plain"
		opts.Samples, opts.MaxTokens, opts.Concurrency, opts.Quiet = 4, 64, 4, true
		local := opts
		local.Model, local.Out = ckpt, filepath.Join(t.TempDir(), "local")
		want, err := runEval(context.Background(), local)
		if err != nil {
			t.Fatal(err)
		}
		served := opts
		served.Teacher, served.TeacherName, served.Out = base, "arith-nano", filepath.Join(t.TempDir(), "served")
		got, err := runEval(context.Background(), served)
		if err != nil {
			t.Fatal(err)
		}
		ci := want.PassAt1CI
		t.Logf("pass@1 on 100 prompts × 4 samples: checkpoint %.3f [%.3f, %.3f], through llama.cpp's server (f16 GGUF) %.3f [%.3f, %.3f]; truncated %.1f%% and %.1f%%",
			want.PassAt1, ci.Low, ci.High, got.PassAt1, got.PassAt1CI.Low, got.PassAt1CI.High, 100*want.TruncationRate, 100*got.TruncationRate)
		if got.PassAt1 < ci.Low || got.PassAt1 > ci.High {
			t.Errorf("pass@1 through llama.cpp %.3f is outside the checkpoint's interval [%.3f, %.3f]", got.PassAt1, ci.Low, ci.High)
		}
		if want.PassAt1 < 0.5 {
			t.Errorf("the trained student's pass@1 is %.3f; the comparison needs one that answers", want.PassAt1)
		}
	})

	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("generate stream=%v", stream), func(t *testing.T) {
			opts := DefaultGenerateOptions()
			opts.Teacher, opts.Model, opts.Stream = base, "arith-nano", stream
			opts.Prompts, opts.NumPrompts, opts.Samples, opts.Template = "builtin:arith:1-2", 15, 2, "plain"
			opts.MaxTokens, opts.Concurrency, opts.Quiet = 64, 4, true
			opts.Out = filepath.Join(t.TempDir(), "gen")
			if err := runGenerate(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			retried := 0
			for _, tr := range genExactlyOnce(t, opts.Out, 30) {
				if tr.Error != "" || tr.Reasoning == "" || tr.Content == "" || tr.Model != "arith-nano" {
					t.Errorf("%s#%d: error %q reasoning %q content %q model %q", tr.PromptID, tr.Sample, tr.Error, tr.Reasoning, tr.Content, tr.Model)
				}
				if tr.Attempts > 1 {
					retried++
				}
			}
			// With 4 requests in flight the server interrupts a running
			// stream for each new one (its default); the client retries
			// those, so some samples take several attempts.
			t.Logf("30 traces, %d of them after more than one attempt", retried)
		})
	}
}

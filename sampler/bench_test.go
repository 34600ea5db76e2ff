package sampler

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/teacher"
)

// BenchmarkRunBuiltin is one trace of the builtin teacher through the
// whole sampler: plan, workers, journal, manifest. Compare with
// BenchmarkTeacherOnly, the same teacher call alone (scripts/bench/generate.sh
// does the same at 800k traces, with peak RSS).
func BenchmarkRunBuiltin(b *testing.B) {
	cfg := testConfig(&testing.T{}, b.TempDir(), max(b.N, 1), 1)
	cfg.Concurrency = 4
	j, err := Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	s, err := j.Run(context.Background())
	if err != nil || s.Written != int64(max(b.N, 1)) {
		b.Fatalf("%v %+v", err, s)
	}
}

func BenchmarkTeacherOnly(b *testing.B) {
	p, _ := OpenSuitePrompts("builtin:arith", max(b.N, 1), 1)
	tmpl, _ := ResolveTemplate("r1", nil)
	t := teacher.NewBuiltin(teacher.DefaultBuiltinConfig())
	seed := int64(1)
	enc := newLineEncoder()
	b.ResetTimer()
	p.Each(context.Background(), func(pr record.Prompt) error {
		user := tmpl.Render(pr.Problem)
		resp, err := t.Complete(context.Background(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: user}}, Seed: &seed})
		if err != nil {
			b.Fatal(err)
		}
		enc.encode(nil, resp)
		return nil
	})
}

// BenchmarkRunHTTP is one trace through the sampler and the OpenAI client
// against the real teacher server on loopback, at concurrency 256;
// BenchmarkHTTPReference is the same requests from a plain net/http loop.
func BenchmarkRunHTTP(b *testing.B) {
	srv := httptest.NewServer(teacher.NewHandler(teacher.NewBuiltin(teacher.DefaultBuiltinConfig()), []string{"builtin"}))
	defer srv.Close()
	client, err := teacher.NewOpenAI(teacher.OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "builtin", MaxConns: 256})
	if err != nil {
		b.Fatal(err)
	}
	cfg := testConfig(&testing.T{}, b.TempDir(), max(b.N, 1), 1)
	cfg.Teacher, cfg.TeacherName, cfg.Concurrency = client, srv.URL, 256
	j, err := Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if s, err := j.Run(context.Background()); err != nil || s.Succeeded != int64(max(b.N, 1)) {
		b.Fatalf("%v %+v", err, s)
	}
}

func BenchmarkHTTPReference(b *testing.B) {
	srv := httptest.NewServer(teacher.NewHandler(teacher.NewBuiltin(teacher.DefaultBuiltinConfig()), []string{"builtin"}))
	defer srv.Close()
	p, _ := OpenSuitePrompts("builtin:arith", max(b.N, 1), 1)
	tmpl, _ := ResolveTemplate("r1", nil)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	bodies := make(chan []byte, 256)
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := 0; w < 256; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				resp, err := hc.Post(srv.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	p.Each(context.Background(), func(pr record.Prompt) error {
		body, _ := json.Marshal(map[string]any{"model": "builtin", "messages": []map[string]string{{"role": "user", "content": tmpl.Render(pr.Problem)}}})
		bodies <- body
		return nil
	})
	close(bodies)
	wg.Wait()
}

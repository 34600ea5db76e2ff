// Command genbench measures `distill generate`: traces per second and peak
// RSS for the builtin teacher in-process and for `distill serve` over
// loopback, each at two sizes to show that memory does not grow with the
// number of prompts, and each against a reference measured in the same run:
//
//   - in-process: the builtin teacher called in a plain loop on the same
//     prompts, rendering and JSON-encoding each trace to io.Discard (what
//     generate costs without journal, resume, limits and retries);
//   - HTTP: a plain net/http loop with the same concurrency against the same
//     server (what a client costs without any of the sampler).
//
// Usage (scripts/bench/generate.sh builds the binary):
//
//	go run ./scripts/bench/genbench -bin bin/distill [-scale 0.1]
//
// Of ours it may import only `record`, `sampler` and `teacher`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/sampler"
	"github.com/distill-dev/distill/teacher"
)

func main() {
	bin := flag.String("bin", "bin/distill", "distill binary")
	scale := flag.Float64("scale", 1, "multiply every size by this (0.1 for a quick look)")
	conc := flag.Int("concurrency", 256, "HTTP concurrency")
	cases := flag.String("cases", "builtin,http", "which cases to run")
	flag.Parse()
	n := func(x int) int { return max(1000, int(float64(x)**scale)) }
	tmp, err := os.MkdirTemp("", "genbench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	fmt.Printf("genbench: %d CPUs, GOMAXPROCS %d, %s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("%-44s %9s %9s %12s %10s %8s\n", "case", "traces", "seconds", "traces/s", "peak RSS", "ratio")

	// In-process builtin teacher.
	for _, size := range []int{n(200_000), n(800_000)} {
		if !strings.Contains(*cases, "builtin") {
			break
		}
		ref := inProcessReference(size)
		res := runGenerate(*bin, filepath.Join(tmp, "builtin-"+strconv.Itoa(size)),
			"--prompts", "builtin:arith", "--num-prompts", strconv.Itoa(size), "--concurrency", "4")
		fmt.Printf("%-44s %9d %9.2f %12.0f %10s %8s\n", "reference: builtin teacher loop, no journal", size, ref.Seconds(), float64(size)/ref.Seconds(), "-", "1.00")
		fmt.Printf("%-44s %9d %9.2f %12.0f %10s %8.2f\n", "distill generate --teacher builtin", size, res.wall.Seconds(), float64(size)/res.wall.Seconds(), mb(res.rssKB), res.wall.Seconds()/ref.Seconds())
	}

	if !strings.Contains(*cases, "http") {
		return
	}
	// distill serve over loopback.
	addr := freeAddr()
	serve := exec.Command(*bin, "serve", "--teacher", "builtin", "--addr", addr)
	serve.Stderr = io.Discard
	if err := serve.Start(); err != nil {
		log.Fatal(err)
	}
	defer serve.Process.Kill()
	waitUp("http://" + addr + "/v1/models")
	for _, size := range []int{n(25_000), n(100_000)} {
		refRate := httpReference("http://"+addr+"/v1/chat/completions", size, *conc)
		res := runGenerate(*bin, filepath.Join(tmp, "http-"+strconv.Itoa(size)),
			"--teacher", "http://"+addr+"/v1", "--model", "builtin", "--prompts", "builtin:arith",
			"--num-prompts", strconv.Itoa(size), "--concurrency", strconv.Itoa(*conc))
		rate := float64(size) / res.wall.Seconds()
		fmt.Printf("%-44s %9d %9.2f %12.0f %10s %8s\n", fmt.Sprintf("reference: net/http loop, c=%d", *conc), size, float64(size)/refRate, refRate, "-", "1.00")
		fmt.Printf("%-44s %9d %9.2f %12.0f %10s %8.2f\n", fmt.Sprintf("distill generate via distill serve, c=%d", *conc), size, res.wall.Seconds(), rate, mb(res.rssKB), rate/refRate)
	}
	serve.Process.Signal(syscall.SIGTERM)
	serve.Wait()
	if ru, ok := serve.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Printf("\ndistill serve peak RSS: %s\n", mb(ru.Maxrss))
	}
	fmt.Println("ratios: in-process = generate seconds / reference seconds (lower is better, 1 = no overhead);")
	fmt.Println("        HTTP = generate completions/s / reference completions/s (higher is better)")
}

type result struct {
	wall  time.Duration
	rssKB int64
}

func mb(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }

// runGenerate runs one generate into a fresh directory and returns its wall
// time and the peak RSS the kernel recorded for it.
func runGenerate(bin, out string, args ...string) result {
	args = append([]string{"generate", "--out", out, "--quiet"}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s %v: %v", bin, args, err)
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	os.RemoveAll(out)
	return result{wall, ru.Maxrss}
}

// inProcessReference is the floor for the builtin case: the same prompts,
// the same teacher, traces encoded, nothing kept.
func inProcessReference(n int) time.Duration {
	suite, err := sampler.OpenSuitePrompts("builtin:arith", n, 0)
	if err != nil {
		log.Fatal(err)
	}
	tmpl, _ := sampler.ResolveTemplate("r1", nil)
	t := teacher.NewBuiltin(teacher.DefaultBuiltinConfig())
	work := make(chan record.Prompt, 64)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := json.NewEncoder(io.Discard)
			enc.SetEscapeHTML(false)
			seed := int64(1)
			for p := range work {
				user := tmpl.Render(p.Problem)
				resp, err := t.Complete(context.Background(), teacher.Request{Model: "builtin", Messages: []teacher.Message{{Role: "user", Content: user}}, Seed: &seed})
				if err != nil {
					log.Fatal(err)
				}
				enc.Encode(record.Trace{PromptID: p.ID, Prompt: user, Reasoning: resp.Reasoning, Content: resp.Content, CreatedAt: time.Now()})
			}
		}()
	}
	suite.Each(context.Background(), func(p record.Prompt) error { work <- p; return nil })
	close(work)
	wg.Wait()
	return time.Since(start)
}

// httpReference posts n chat requests with conc goroutines and returns
// completions per second.
func httpReference(url string, n, conc int) float64 {
	suite, err := sampler.OpenSuitePrompts("builtin:arith", n, 0)
	if err != nil {
		log.Fatal(err)
	}
	tmpl, _ := sampler.ResolveTemplate("r1", nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	bodies := make(chan []byte, conc)
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range bodies {
				resp, err := client.Post(url, "application/json", bytes.NewReader(b))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	suite.Each(context.Background(), func(p record.Prompt) error {
		b, _ := json.Marshal(map[string]any{"model": "builtin", "messages": []map[string]string{{"role": "user", "content": tmpl.Render(p.Problem)}},
			"temperature": 0.6, "top_p": 0.95, "max_tokens": 32768})
		bodies <- b
		return nil
	})
	close(bodies)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		log.Fatalf("reference loop: %d failed requests", f)
	}
	return float64(n) / time.Since(start).Seconds()
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitUp(url string) {
	for i := 0; i < 200; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatalf("%s did not come up", url)
}

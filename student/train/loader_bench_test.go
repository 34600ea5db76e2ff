//go:build linux

package train

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/internal/repotest"
)

// The shape BenchmarkLoaderMemory loads: rows of a typical SFT run.
const (
	benchSeq        = 1024
	benchMicroBatch = 8
)

// loaderMem is what one child process measured.
type loaderMem struct {
	Mode      string  `json:"mode"`
	Examples  int     `json:"examples"`
	Tokens    int     `json:"tokens"` // non-padding tokens of the epoch's rows
	Rows      int     `json:"rows"`
	LoadSec   float64 `json:"load_s"`  // rendering (or opening) and the epoch's order or rows
	EpochSec  float64 `json:"epoch_s"` // taking every row of the epoch into micro-batches
	PeakHeap  uint64  `json:"peak_heap"`
	PeakAnon  uint64  `json:"peak_rss_anon"` // the process's own memory
	PeakRSS   uint64  `json:"peak_rss"`      // VmHWM: also the mapped cache's pages
	CacheSize int64   `json:"cache_bytes"`
}

// BenchmarkLoaderMemory renders a synthetic set (LOADER_BENCH_EXAMPLES
// examples of about 300 byte-level tokens, default 200000, comma-separated
// for several sizes), then loads it and takes one epoch of packed rows into
// micro-batches three ways, each in a child process of its own so that no
// heap or RSS carries over: the in-memory loader the token cache replaced
// (reference_test.go, including its counting pass, as Run had it), the
// streaming loader rendering its cache, and the streaming loader reusing
// it. It prints the peaks and the ratios.
//
//	go test -tags openblas -run '^$' -bench LoaderMemory -benchtime 1x ./student/train/
func BenchmarkLoaderMemory(b *testing.B) {
	if mode := os.Getenv("DISTILL_LOADER_MEM"); mode != "" {
		// The process runLoaderChild started: one measurement.
		loaderMemoryChild(b, mode, os.Getenv("DISTILL_LOADER_DATA"), os.Getenv("DISTILL_LOADER_OUT"))
		return
	}
	sizes := cmp.Or(os.Getenv("LOADER_BENCH_EXAMPLES"), "200000")
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			b.Fatalf("LOADER_BENCH_EXAMPLES=%q: %v", sizes, err)
		}
		data, out := b.TempDir(), b.TempDir()
		writeBenchShard(b, data, n)
		got := map[string]loaderMem{}
		for _, mode := range []string{"in-memory", "streaming", "streaming-reuse"} {
			m := runLoaderChild(b, mode, data, out)
			got[mode] = m
			b.Logf("%6d examples %-16s %7d rows %11d tokens  load %6.2fs  epoch %5.2fs  peak heap %7.1f MB  anon RSS %7.1f MB  RSS %7.1f MB  cache %6.1f MB",
				n, mode, m.Rows, m.Tokens, m.LoadSec, m.EpochSec, mb(m.PeakHeap), mb(m.PeakAnon), mb(m.PeakRSS), float64(m.CacheSize)/1e6)
		}
		in, st, re := got["in-memory"], got["streaming"], got["streaming-reuse"]
		if st.Rows != in.Rows || st.Tokens != in.Tokens || re.Rows != in.Rows || re.Tokens != in.Tokens {
			b.Fatalf("the loaders disagree: rows %d/%d/%d, tokens %d/%d/%d", in.Rows, st.Rows, re.Rows, in.Tokens, st.Tokens, re.Tokens)
		}
		b.Logf("%6d examples: in-memory / streaming: peak heap %.1f× (%.1f× reusing the cache), anon RSS %.1f× (%.1f×), RSS with the mapped cache %.1f× (%.1f×)",
			n, ratio(in.PeakHeap, st.PeakHeap), ratio(in.PeakHeap, re.PeakHeap), ratio(in.PeakAnon, st.PeakAnon), ratio(in.PeakAnon, re.PeakAnon),
			ratio(in.PeakRSS, st.PeakRSS), ratio(in.PeakRSS, re.PeakRSS))
		b.ReportMetric(ratio(in.PeakHeap, st.PeakHeap), fmt.Sprintf("heap-ratio-%d", n))
		b.ReportMetric(ratio(in.PeakAnon, st.PeakAnon), fmt.Sprintf("anon-rss-ratio-%d", n))
	}
}

func mb(b uint64) float64 { return float64(b) / 1e6 }

func ratio(a, b uint64) float64 { return float64(a) / float64(max(b, 1)) }

// writeBenchShard writes n R1-shaped conversations of about 300 bytes.
func writeBenchShard(b *testing.B, dir string, n int) {
	rng := rand.New(rand.NewPCG(uint64(n), 5))
	text := func(l int) string {
		s := make([]byte, l)
		for i := range s {
			s[i] = "abcdefghijklmnopqrstuvwxyz +=0123456789."[rng.IntN(40)]
		}
		return string(s)
	}
	writeShard(b, dir, n, func(i int) dataset.Row {
		q := text(30 + rng.IntN(40))
		return dataset.Row{Messages: []dataset.Message{{Role: "user", Content: q},
			{Role: "assistant", Content: dataset.R1Assistant(text(150+rng.IntN(150)), text(5+rng.IntN(10)))}},
			PromptID: fmt.Sprint(i)}
	})
}

func runLoaderChild(b *testing.B, mode, data, out string) loaderMem {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkLoaderMemory$", "-test.benchtime=1x")
	cmd.Env = append(os.Environ(), "DISTILL_LOADER_MEM="+mode, "DISTILL_LOADER_DATA="+data, "DISTILL_LOADER_OUT="+out)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", mode, err, stdout.String())
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if j, ok := strings.CutPrefix(line, "loadermem "); ok {
			var m loaderMem
			if err := json.Unmarshal([]byte(j), &m); err != nil {
				b.Fatal(err)
			}
			return m
		}
	}
	b.Fatalf("%s: no measurement in\n%s", mode, stdout.String())
	return loaderMem{}
}

// loaderMemoryChild is one measurement of BenchmarkLoaderMemory, in the
// process it starts, so that each loader's peak is its own.
func loaderMemoryChild(t testing.TB, mode, data, out string) {
	ctx := context.Background()
	tok, tmpl := byteLevel(t)
	files, err := dataset.ListShards(data, "train")
	if err != nil {
		t.Fatal(err)
	}
	peak := watchPeak()
	m := loaderMem{Mode: mode}
	start := time.Now()
	var next func(tok, tgt, seg []int32) bool // the epoch's rows
	switch mode {
	case "in-memory":
		exs, _, err := refLoadExamples(ctx, files, tok, tmpl)
		if err != nil {
			t.Fatal(err)
		}
		refCanonicalOrder(exs)
		p := &refPacker{Seq: benchSeq, Packing: true}
		p.Pack(exs) // Run's count of rows, truncations and drops
		tk, tg, sg := refRowsFor(exs, p, 1, 0)
		i := 0
		next = func(tok, tgt, seg []int32) bool {
			if i == len(tk) {
				return false
			}
			copy(tok, tk[i])
			copy(tgt, tg[i])
			copy(seg, sg[i])
			i++
			return true
		}
		m.Examples = len(exs)
	default:
		o := Options{Data: Dir(data), Out: out}
		c, err := loadSplit(ctx, &o, tok, tmpl, mustPlan(t, o), "train")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		canon := canonicalOrder(c)
		p := Packer{Seq: benchSeq, Packing: true}
		countRows(p.rows(c, canon)) // Run's count of rows, truncations and drops
		next = p.rows(c, epochOrder(canon, 1, 0)).next
		m.Examples, m.CacheSize = c.Len(), int64(len(c.data))
	}
	epoch := time.Now()
	batch := newBatch(benchMicroBatch, benchSeq)
	for n := batch.fill(next); n > 0; n = batch.fill(next) {
		m.Rows += n
		m.Tokens += batch.real
	}
	m.LoadSec, m.EpochSec = epoch.Sub(start).Seconds(), time.Since(epoch).Seconds()
	m.PeakHeap, m.PeakAnon = peak.stop()
	m.PeakRSS = uint64(repotest.ProcStatus("VmHWM"))
	j, _ := json.Marshal(m)
	fmt.Printf("loadermem %s\n", j)
}

// peakWatch samples the live heap and the anonymous RSS every millisecond.
type peakWatch struct {
	done       chan struct{}
	heap, anon uint64
}

func watchPeak() *peakWatch {
	w := &peakWatch{done: make(chan struct{})}
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			w.heap = max(w.heap, s[0].Value.Uint64())
			w.anon = max(w.anon, uint64(repotest.ProcStatus("RssAnon")))
			select {
			case <-tick.C:
			case w.done <- struct{}{}:
				return
			}
		}
	}()
	return w
}

// stop takes a last sample and returns the peaks.
func (w *peakWatch) stop() (heap, anon uint64) {
	<-w.done
	return w.heap, w.anon
}

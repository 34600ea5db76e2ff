package memory

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"
	"testing/fstest"

	"github.com/distill-dev/distill/student/graph"
	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
)

func preset(t *testing.T, name string) *model.Config {
	t.Helper()
	c, err := model.LookupPreset(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEstimateStates(t *testing.T) {
	c := preset(t, "qwen-7b")
	full := Estimate(c, 1, 1024, Options{})
	p := c.NumParams()
	if full.Weights != 4*p || full.Grads != 4*p || full.Optimizer != 8*p {
		t.Errorf("full fine-tuning: weights %d grads %d optimizer %d, want 4, 4, 8 bytes × %d params", full.Weights, full.Grads, full.Optimizer, p)
	}
	if full.Total != full.Weights+full.Grads+full.Optimizer+full.Activations+Runtime {
		t.Error("total is not the sum of its parts")
	}
	// LoRA r=16 on all 7 projections of Qwen2.5-7B (h 3584, kv 512, I 18944):
	// 28 × 16 × (2·(3584+3584) + 2·(3584+512) + 3·(3584+18944)).
	lora := Estimate(c, 1, 1024, Options{LoRARank: 16})
	if lora.Trainable != 40370176 {
		t.Errorf("LoRA trainable = %d, want 40370176", lora.Trainable)
	}
	if lora.Grads != 4*lora.Trainable || lora.Weights != 4*(p+lora.Trainable) {
		t.Errorf("LoRA grads %d weights %d", lora.Grads, lora.Weights)
	}
}

// TestEstimateMatchesGraph builds the real training graph and compares the
// heap it allocates with the estimate of gradients plus activations.
func TestEstimateMatchesGraph(t *testing.T) {
	for _, tc := range []struct {
		preset           string
		batch, seq, rank int
		ckpt             bool
		vocab            int // 0: the preset's
	}{
		{"qwen-nano", 4, 64, 0, false, 0},
		{"llama-tiny", 2, 128, 0, false, 0},
		{"llama-tiny", 2, 128, 16, false, 0},
		{"qwen-small", 2, 128, 0, true, 0},
		{"llama-tiny", 2, 128, 16, true, 0},
		{"qwen-nano", 2, 512, 0, true, 65536}, // the loss in chunks of 256 rows
		{"qwen-nano", 1, 2048, 0, false, 0},   // attention probabilities recomputed
	} {
		t.Run(fmt.Sprintf("%s/lora-%d/checkpointing-%v", tc.preset, tc.rank, tc.ckpt), func(t *testing.T) {
			var opts []graph.Option
			if tc.ckpt {
				opts = append(opts, graph.GradientCheckpointing())
			}
			c := preset(t, tc.preset)
			c.VocabSize = cmp.Or(tc.vocab, c.VocabSize)
			w := model.NewWeights(c)
			var a *lora.Adapters
			if tc.rank > 0 {
				var err error
				if a, err = lora.New(c, tc.rank, 32, lora.Modules); err != nil {
					t.Fatal(err)
				}
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var g *graph.Graph
			var err error
			if a != nil {
				g, err = graph.NewLoRA(w, a, tc.batch, tc.seq, opts...)
			} else {
				g, err = graph.New(w, tc.batch, tc.seq, opts...)
			}
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(g)
			got := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			e := Estimate(c, tc.batch, tc.seq, Options{LoRARank: tc.rank, Workers: runtime.GOMAXPROCS(0), GradientCheckpointing: tc.ckpt})
			if a != nil && a.NumParams() != e.Trainable {
				t.Errorf("adapters have %d parameters, estimate %d", a.NumParams(), e.Trainable)
			}
			want := e.Grads + e.Activations
			r := float64(got) / float64(want)
			t.Logf("graph allocates %d bytes, estimate %d (ratio %.3f)", got, want, r)
			if math.Abs(r-1) > 0.1 {
				t.Errorf("graph allocates %d bytes, estimate %d (ratio %.2f)", got, want, r)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	b := Breakdown{Total: 2e9, Weights: 1e9}
	if err := b.Check(3e9); err != nil {
		t.Error(err)
	}
	if err := b.Check(0); err != nil {
		t.Errorf("unknown memory: %v", err)
	}
	if err := b.Check(1e9); !errors.Is(err, ErrDoesNotFit) {
		t.Errorf("err %v, want ErrDoesNotFit", err)
	}
}

func TestAvailable(t *testing.T) {
	meminfo := "MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\n"
	for _, tc := range []struct {
		name string
		fs   fstest.MapFS
		want int64
	}{
		{"meminfo only", fstest.MapFS{"proc/meminfo": {Data: []byte(meminfo)}}, 20000000 << 10},
		{"no files", fstest.MapFS{}, 0},
		{"cgroup v2 root limit", fstest.MapFS{
			"proc/meminfo":                 {Data: []byte(meminfo)},
			"proc/self/cgroup":             {Data: []byte("0::/\n")},
			"sys/fs/cgroup/memory.max":     {Data: []byte("8000000000\n")},
			"sys/fs/cgroup/memory.current": {Data: []byte("1000000000\n")},
		}, 7000000000},
		{"cgroup v2 nested, max", fstest.MapFS{
			"proc/meminfo":                        {Data: []byte(meminfo)},
			"proc/self/cgroup":                    {Data: []byte("0::/job/42\n")},
			"sys/fs/cgroup/job/42/memory.max":     {Data: []byte("max\n")},
			"sys/fs/cgroup/memory.max":            {Data: []byte("1000\n")},
			"sys/fs/cgroup/job/42/memory.current": {Data: []byte("5\n")},
		}, 20000000 << 10},
		{"cgroup v1 nested", fstest.MapFS{
			"proc/meminfo":     {Data: []byte(meminfo)},
			"proc/self/cgroup": {Data: []byte("4:memory:/slurm/job7\n0::/\n")},
			"sys/fs/cgroup/memory/slurm/job7/memory.limit_in_bytes": {Data: []byte("4000000000\n")},
			"sys/fs/cgroup/memory/slurm/job7/memory.usage_in_bytes": {Data: []byte("500000000\n")},
		}, 3500000000},
		{"cgroup v1 unlimited", fstest.MapFS{
			"proc/meminfo": {Data: []byte(meminfo)},
			"sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")},
		}, 20000000 << 10},
		{"limit above meminfo", fstest.MapFS{
			"proc/meminfo":             {Data: []byte(meminfo)},
			"sys/fs/cgroup/memory.max": {Data: []byte("100000000000\n")},
		}, 20000000 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := availableIn(tc.fs); got != tc.want {
				t.Errorf("available = %d, want %d", got, tc.want)
			}
		})
	}
	if runtime.GOOS == "linux" && Available() <= 0 {
		t.Error("Available() on Linux is not positive")
	}
}

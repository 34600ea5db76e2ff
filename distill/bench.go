package distill

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/student/blas"
	"github.com/distill-dev/distill/student/graph"
	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
)

// BenchTrain are the options of `distill bench train`.
type BenchTrain struct {
	Student string
	SeqLen  int
	Batch   int
	Steps   int
	Threads int // 0: leave GOMAXPROCS and OpenBLAS as they are
	Seed    uint64
	LoRA    int // > 0: adapters of this rank on every projection, base frozen
	// Recompute turns gradient checkpointing on.
	Recompute bool
	Out       io.Writer
}

func init() {
	register(&cli.Command{
		Name:  "bench",
		Usage: "measure the student's speed",
		Subcommands: []*cli.Command{{
			Name:  "train",
			Usage: "time forward+backward training steps of a preset on random tokens",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "student", Value: "qwen-tiny", Usage: "student preset"},
				&cli.IntFlag{Name: "seq-len", Value: 256, Usage: "tokens per row"},
				&cli.IntFlag{Name: "batch", Value: 8, Usage: "rows per step"},
				&cli.IntFlag{Name: "steps", Value: 5, Usage: "steps to time (the first is reported as warm-up)"},
				&cli.IntFlag{Name: "threads", Usage: "Go and OpenBLAS threads (0: all cores)"},
				&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed for weights and tokens"},
				&cli.IntFlag{Name: "lora-rank", Usage: "time a LoRA step: adapters of this rank on every projection, base frozen"},
				&cli.BoolFlag{Name: "gradient-checkpointing", Usage: "time a step that recomputes each layer's activations"},
			},
			Action: func(c *cli.Context) error {
				return runBenchTrain(c.Context, BenchTrain{
					Student: c.String("student"), SeqLen: c.Int("seq-len"), Batch: c.Int("batch"),
					Steps: c.Int("steps"), Threads: c.Int("threads"), Seed: c.Uint64("seed"), LoRA: c.Int("lora-rank"), Recompute: c.Bool("gradient-checkpointing"), Out: c.App.Writer,
				})
			},
		}},
	})
}

// runBenchTrain builds the preset with random weights and times steps of
// zero-grad, Forward and Backward of the mean cross-entropy (the step that
// scripts/bench/torch_train_step.py times in PyTorch). Its last line is
// "tokens/s: X" over the steps after the first, which is warm-up.
func runBenchTrain(ctx context.Context, o BenchTrain) error {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.SeqLen <= 0 || o.Batch <= 0 || o.Steps <= 0 || o.LoRA < 0 {
		return fmt.Errorf("bench train: --seq-len, --batch and --steps must be positive and --lora-rank not negative (got %d, %d, %d, %d)", o.SeqLen, o.Batch, o.Steps, o.LoRA)
	}
	cfg, err := model.LookupPreset(o.Student)
	if err != nil {
		return fmt.Errorf("bench train: --student: %w", err)
	}
	blas.SetThreads(o.Threads)
	w := model.NewWeights(cfg)
	w.Init(o.Seed)
	var g *graph.Graph
	var gopts []graph.Option
	mode := "full"
	if o.Recompute {
		gopts = append(gopts, graph.GradientCheckpointing())
		mode = "full, gradient checkpointing"
	}
	if o.LoRA > 0 {
		a, err := lora.New(cfg, o.LoRA, 2*float64(o.LoRA), lora.Modules)
		if err != nil {
			return fmt.Errorf("bench train: --lora-rank: %w", err)
		}
		a.Init(o.Seed)
		g, err = graph.NewLoRA(w, a, o.Batch, o.SeqLen, gopts...)
		mode = fmt.Sprintf("LoRA rank %d (%.2fM trainable)%s", o.LoRA, float64(a.NumParams())/1e6, strings.TrimPrefix(mode, "full"))
	} else {
		g, err = graph.New(w, o.Batch, o.SeqLen, gopts...)
	}
	if err != nil {
		return fmt.Errorf("bench train: %w", err)
	}
	n := o.Batch * o.SeqLen
	rng := rand.New(rand.NewPCG(o.Seed, 1))
	tokens, targets, coef := make([]int32, n+1), make([]int32, n), make([]float32, n)
	for i := range tokens {
		tokens[i] = int32(rng.IntN(cfg.VocabSize))
	}
	copy(targets, tokens[1:])
	for i := range coef {
		coef[i] = 1 / float32(n)
	}
	fmt.Fprintf(o.Out, "bench train: %s (%.2fM parameters), %s, batch %d × seq %d, threads %d, BLAS %s\n",
		o.Student, float64(cfg.NumParams())/1e6, mode, o.Batch, o.SeqLen, o.Threads, blas.Backend())
	var total, cpu time.Duration
	for s := range o.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0, c0 := time.Now(), benchCPUTime()
		g.ZeroGrads()
		lp, err := g.Forward(tokens[:n], targets, nil)
		if err != nil {
			return fmt.Errorf("bench train: %w", err)
		}
		if err := g.Backward(coef); err != nil {
			return fmt.Errorf("bench train: %w", err)
		}
		dt, dc := time.Since(t0), benchCPUTime()-c0
		var loss float64
		for _, x := range lp {
			loss -= float64(x) / float64(n)
		}
		fmt.Fprintf(o.Out, "step %d: %.1f ms, cpu %.1f ms, loss %.4f\n", s+1, float64(dt.Microseconds())/1e3, float64(dc.Microseconds())/1e3, loss)
		if s > 0 || o.Steps == 1 {
			total += dt
			cpu += dc
		}
	}
	timed := max(o.Steps-1, 1)
	// tokens per CPU-second tells more than wall time on a busy machine
	fmt.Fprintf(o.Out, "tokens/cpu-s: %.1f\n", float64(n*timed)/cpu.Seconds())
	fmt.Fprintf(o.Out, "peak RSS: %.0f MB\n", float64(benchPeakRSS())/1e6)
	fmt.Fprintf(o.Out, "tokens/s: %.1f\n", float64(n*timed)/total.Seconds())
	return nil
}

// benchCPUTime is the user+system time of the process so far.
func benchCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPeakRSS is the process's peak resident set in bytes (Linux reports KB).
func benchPeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

package distill

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/distill-dev/distill/student/train"
	"github.com/urfave/cli/v2"
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
	// CPUProfile, when set, gets a CPU profile (pprof) of the timed steps.
	CPUProfile string
	Out        io.Writer
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
				&cli.IntFlag{Name: "threads", Usage: "cores the products split over (GOMAXPROCS; 0: all cores); OpenBLAS runs single-threaded on each"},
				&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed for weights and tokens"},
				&cli.IntFlag{Name: "lora-rank", Usage: "time a LoRA step: adapters of this rank on every projection, base frozen"},
				&cli.BoolFlag{Name: "gradient-checkpointing", Usage: "time a step that recomputes each layer's activations"},
				&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile (pprof) of the timed steps to `FILE`"},
			},
			Action: func(c *cli.Context) error {
				return runBenchTrain(c.Context, BenchTrain{
					Student: c.String("student"), SeqLen: c.Int("seq-len"), Batch: c.Int("batch"),
					Steps: c.Int("steps"), Threads: c.Int("threads"), Seed: c.Uint64("seed"), LoRA: c.Int("lora-rank"), Recompute: c.Bool("gradient-checkpointing"),
					CPUProfile: c.String("cpuprofile"), Out: c.App.Writer,
				})
			},
		}},
	})
}

// runBenchTrain times steps of zero-grad, Forward and Backward of the mean
// cross-entropy on random weights and tokens (train.Bench). Its last line is
// "tokens/s: X" over the steps after the first, which is warm-up.
func runBenchTrain(ctx context.Context, o BenchTrain) error {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Steps <= 0 {
		return fmt.Errorf("bench train: --steps must be positive (got %d)", o.Steps)
	}
	b, err := train.NewBench(train.BenchConfig{Student: o.Student, SeqLen: o.SeqLen, Batch: o.Batch, Threads: o.Threads,
		Seed: o.Seed, LoRA: o.LoRA, Recompute: o.Recompute})
	if err != nil {
		return fmt.Errorf("bench train: %w", err)
	}
	fmt.Fprintf(o.Out, "bench train: %s (%.2fM parameters), %s, batch %d × seq %d, threads %d, BLAS %s\n",
		o.Student, float64(b.Params)/1e6, b.Mode, o.Batch, o.SeqLen, o.Threads, b.Backend)
	var total, cpu time.Duration
	stop := func() error { return nil }
	defer func() { _ = stop() }()
	for s := range o.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s == min(1, o.Steps-1) { // the warm-up step is not profiled
			if stop, err = startProfiles(o.CPUProfile, ""); err != nil {
				return fmt.Errorf("bench train: %w", err)
			}
		}
		t0, c0 := time.Now(), benchCPUTime()
		loss, err := b.Step()
		if err != nil {
			return fmt.Errorf("bench train: %w", err)
		}
		dt, dc := time.Since(t0), benchCPUTime()-c0
		fmt.Fprintf(o.Out, "step %d: %.1f ms, cpu %.1f ms, loss %.4f\n", s+1, float64(dt.Microseconds())/1e3, float64(dc.Microseconds())/1e3, loss)
		if s > 0 || o.Steps == 1 {
			total += dt
			cpu += dc
		}
	}
	if err := stop(); err != nil {
		return fmt.Errorf("bench train: %w", err)
	}
	stop = func() error { return nil }
	n := b.Tokens * max(o.Steps-1, 1)
	// tokens per CPU-second tells more than wall time on a busy machine
	fmt.Fprintf(o.Out, "tokens/cpu-s: %.1f\n", float64(n)/cpu.Seconds())
	fmt.Fprintf(o.Out, "peak RSS: %.0f MB\n", float64(benchPeakRSS())/1e6)
	fmt.Fprintf(o.Out, "tokens/s: %.1f\n", float64(n)/total.Seconds())
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

package distill

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/model"
)

// LogitsOptions configure `distill logits`.
type LogitsOptions struct {
	Model string    // checkpoint directory: config.json and safetensors
	In    io.Reader // one JSON array of token ids per line
	Out   io.Writer // one JSON array of last-position logits per line
	// Greedy, when positive, prints the Greedy tokens greedy decoding
	// appends to each sequence instead of its logits: distill's own decoder
	// (KV cache, argmax), with no stop token, for comparison with
	// generate(do_sample=False) elsewhere.
	Greedy int
}

func init() {
	register(&cli.Command{
		Name:  "logits",
		Usage: "print the last position's logits for token id sequences (for parity checks against other implementations)",
		Description: "Reads one JSON array of token ids per line on stdin and prints one JSON array of\n" +
			"float32 logits per line. Needs only config.json and the safetensors, no tokenizer.\n" +
			"With --greedy N, prints instead the N token ids greedy decoding appends to each\n" +
			"sequence (the decoder eval and serve use, at temperature 0; stop tokens do not stop it).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "checkpoint `DIR` (config.json + model.safetensors)", Required: true},
			&cli.IntFlag{Name: "greedy", Usage: "print the `N` greedy next tokens of each sequence instead of its logits"},
		},
		Action: func(c *cli.Context) error {
			return runLogits(c.Context, LogitsOptions{Model: c.String("model"), Greedy: c.Int("greedy"), In: os.Stdin, Out: os.Stdout})
		},
	})
}

func runLogits(ctx context.Context, opts LogitsOptions) error {
	if opts.Greedy < 0 {
		return fmt.Errorf("logits: --greedy must not be negative, got %d", opts.Greedy)
	}
	w, err := checkpoint.Load(opts.Model)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	in := bufio.NewReaderSize(opts.In, 1<<16)
	out := bufio.NewWriter(opts.Out)
	var buf []byte
	for line := 1; ; line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, rerr := in.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return fmt.Errorf("logits: stdin: %w", rerr)
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			var ids []int32
			if err := json.Unmarshal(b, &ids); err != nil {
				return fmt.Errorf("logits: stdin line %d: want a JSON array of token ids: %w", line, err)
			}
			if err := w.CheckTokens(ids); err != nil {
				return fmt.Errorf("logits: stdin line %d: %w", line, err)
			}
			if opts.Greedy > 0 {
				buf, err = greedyAppendJSON(ctx, buf[:0], w, ids, opts.Greedy)
			} else {
				buf, err = logitsAppendJSON(buf[:0], w.Logits(ids))
			}
			if err != nil {
				return fmt.Errorf("logits: stdin line %d: %w", line, err)
			}
			if _, err := out.Write(buf); err != nil {
				return err
			}
			// Flush per line so that a caller can use it as a co-process.
			if err := out.Flush(); err != nil {
				return err
			}
		}
		if rerr != nil {
			return nil
		}
	}
}

// logitsAppendJSON writes xs as a JSON array line with the shortest decimal
// of each float32 that reads back to the same value.
func logitsAppendJSON(b []byte, xs []float32) ([]byte, error) {
	b = append(b, '[')
	for i, x := range xs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, errors.New("the model produced a non-finite logit (check the weights)")
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
	}
	return append(b, ']', '\n'), nil
}

// greedyAppendJSON writes the n tokens greedy decoding appends to ids as a
// JSON array line.
func greedyAppendJSON(ctx context.Context, b []byte, w *model.Weights, ids []int32, n int) ([]byte, error) {
	cs, err := model.Generate(ctx, w, [][]int32{ids}, model.SampleOptions{MaxNewTokens: n})
	if err != nil {
		return nil, err
	}
	b = append(b, '[')
	for i, t := range cs[0].Tokens {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(t), 10)
	}
	return append(b, ']', '\n'), nil
}

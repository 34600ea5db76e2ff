package distill

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/export/gguf"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/memory"
)

// ExportGGUFOptions configure `distill export gguf`.
type ExportGGUFOptions struct {
	Model string // checkpoint directory
	Out   string // the .gguf file; the Modelfile goes beside it
	Type  string // f32, f16, q8_0, q4_k_m or q4_0
	Log   io.Writer
}

func init() {
	registerExport(&cli.Command{
		Name:      "gguf",
		Usage:     "write a checkpoint as a GGUF file for llama.cpp, with an Ollama Modelfile beside it",
		UsageText: "distill export gguf --model CKPT_DIR --out FILE.gguf [--type f32|f16|q8_0|q4_k_m|q4_0]",
		Description: "Writes GGUF v3 with llama.cpp's qwen2 or llama architecture, tensor names and layout (q and k\n" +
			"reordered for llama, rope_freqs for Llama 3.1 RoPE scaling), the BPE vocabulary with its\n" +
			"pre-tokenizer name, merges, special ids and the chat template. Quantised types follow\n" +
			"llama.cpp's llama-quantize: q8_0 and q4_0 for the weight matrices (q4_0 keeps the output\n" +
			"matrix in Q6_K), q4_k_m mixes Q4_K and Q6_K; norms and biases stay f32. Rows that are not\n" +
			"whole blocks fall back as llama-quantize does (Q4_K to Q5_0, Q6_K to Q8_0, then f16).\n" +
			"Also writes Modelfile next to the output for `ollama create NAME -f Modelfile`.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "checkpoint `DIR` (config.json, model.safetensors, tokenizer.json)", Required: true},
			&cli.StringFlag{Name: "out", Usage: "output `FILE`.gguf", Required: true},
			&cli.StringFlag{Name: "type", Value: "f16", Usage: "weight type: " + strings.Join(gguf.FileTypeNames(), ", ")},
		},
		Action: func(c *cli.Context) error {
			return runExportGGUF(c.Context, ExportGGUFOptions{Model: c.String("model"), Out: c.String("out"), Type: c.String("type"), Log: os.Stderr})
		},
	})
}

func runExportGGUF(ctx context.Context, opts ExportGGUFOptions) error {
	ft, err := gguf.ParseFileType(opts.Type)
	if err != nil {
		return fmt.Errorf("export gguf: --type: %w", err)
	}
	if !strings.HasSuffix(opts.Out, ".gguf") {
		return fmt.Errorf("export gguf: --out %s: want a file name ending in .gguf", opts.Out)
	}
	st, err := student.Open(opts.Model)
	if err != nil {
		return fmt.Errorf("export gguf: --model: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(opts.Out), 0o755); err != nil {
		return fmt.Errorf("export gguf: --out: %w", err)
	}
	name := filepath.Base(filepath.Clean(opts.Model))
	res, err := gguf.Write(opts.Out, st.Weights, st.Tok, st.Template, gguf.Options{Type: ft, Name: name})
	if err != nil {
		return err
	}
	mf, err := gguf.Modelfile(filepath.Base(opts.Out), st.Tok, st.Template)
	if err != nil {
		return fmt.Errorf("export gguf: %w", err)
	}
	mfPath := filepath.Join(filepath.Dir(opts.Out), "Modelfile")
	if err := os.WriteFile(mfPath, []byte(mf), 0o644); err != nil {
		return fmt.Errorf("export gguf: %w", err)
	}
	fp32 := 4 * st.Weights.Config.NumParams()
	fmt.Fprintf(opts.Log, "wrote %s (%s, %s, %.2f× the fp32 weights' %s; tensors %v) and %s\n", opts.Out, ft,
		memory.Format(res.Bytes), float64(res.Bytes)/float64(fp32), memory.Format(fp32), res.Tensors, mfPath)
	return nil
}

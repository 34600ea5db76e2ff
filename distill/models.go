package distill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/export/gguf"
	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
)

// ModelsOptions configure `distill models`.
type ModelsOptions struct {
	JSON   bool // one JSON array instead of a table
	Batch  int  // micro-batch of the training estimate
	SeqLen int  // sequence length of the training estimate
	Out    io.Writer
}

func init() {
	register(&cli.Command{
		Name:  "models",
		Usage: "list the student presets with their parameter counts and memory needs",
		Description: "Parameter counts are computed from each preset's config. Memory: weights in fp32, bf16,\n" +
			"and as a GGUF of `distill export gguf --type q8_0` and q4_k_m (each tensor's bytes from the\n" +
			"ggml block sizes of the type llama.cpp gives it; metadata excluded); full fine-tuning with\n" +
			"AdamW at 16 bytes per parameter (fp32 weights, gradients and two moments; bf16 mixed\n" +
			"precision with fp32 master weights needs the same); and the native trainer's whole\n" +
			"estimate including activations for --batch × --seq-len tokens.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
			&cli.IntFlag{Name: "batch", Value: 1, Usage: "micro-batch `SEQUENCES` for the training estimate"},
			&cli.IntFlag{Name: "seq-len", Value: 2048, Usage: "`TOKENS` per sequence for the training estimate"},
		},
		Action: func(c *cli.Context) error {
			return runModels(c.Context, ModelsOptions{JSON: c.Bool("json"), Batch: c.Int("batch"), SeqLen: c.Int("seq-len"), Out: os.Stdout})
		},
	})
}

// modelsRow is one preset; the JSON field names are the output contract.
type modelsRow struct {
	Name              string `json:"name"`
	Published         string `json:"published,omitempty"`
	ModelType         string `json:"model_type"`
	Params            int64  `json:"params"`
	Layers            int    `json:"layers"`
	Hidden            int    `json:"hidden"`
	Intermediate      int    `json:"intermediate"`
	Heads             int    `json:"heads"`
	KVHeads           int    `json:"kv_heads"`
	Vocab             int    `json:"vocab"`
	TieWordEmbeddings bool   `json:"tie_word_embeddings"`
	FP32Bytes         int64  `json:"fp32_bytes"`
	BF16Bytes         int64  `json:"bf16_bytes"`
	Q8_0Bytes         int64  `json:"q8_0_bytes"`
	Q4KMBytes         int64  `json:"q4_k_m_bytes"`
	FullFTBytes       int64  `json:"full_ft_adamw_bytes"`
	TrainBytes        int64  `json:"train_bytes"`
	LoRATrainBytes    int64  `json:"lora16_checkpointing_train_bytes"`
	TrainBatch        int    `json:"train_batch"`
	TrainSeqLen       int    `json:"train_seq_len"`
}

func modelsRows(batch, seqLen int) ([]modelsRow, error) {
	var rows []modelsRow
	for _, name := range model.PresetNames() {
		p := model.Presets[name]
		c := p.Config
		n := c.NumParams()
		q8, err := gguf.Size(&c, gguf.MostlyQ8_0)
		if err != nil {
			return nil, fmt.Errorf("models: %s: %w", name, err)
		}
		q4, err := gguf.Size(&c, gguf.MostlyQ4_KM)
		if err != nil {
			return nil, fmt.Errorf("models: %s: %w", name, err)
		}
		rows = append(rows, modelsRow{
			Name: name, Published: p.Published, ModelType: c.ModelType, Params: n,
			Layers: c.NumHiddenLayers, Hidden: c.HiddenSize, Intermediate: c.IntermediateSize,
			Heads: c.NumAttentionHeads, KVHeads: c.NumKeyValueHeads, Vocab: c.VocabSize,
			TieWordEmbeddings: c.TieWordEmbeddings,
			FP32Bytes:         4 * n, BF16Bytes: 2 * n, Q8_0Bytes: q8, Q4KMBytes: q4, FullFTBytes: 16 * n,
			TrainBytes:     memory.Estimate(&c, batch, seqLen, memory.Options{}).Total,
			LoRATrainBytes: memory.Estimate(&c, batch, seqLen, memory.Options{LoRARank: 16, GradientCheckpointing: true}).Total,
			TrainBatch:     batch, TrainSeqLen: seqLen,
		})
	}
	return rows, nil
}

func runModels(ctx context.Context, opts ModelsOptions) error {
	if opts.Batch <= 0 || opts.SeqLen <= 0 {
		return fmt.Errorf("models: --batch and --seq-len must be positive, got %d and %d", opts.Batch, opts.SeqLen)
	}
	rows, err := modelsRows(opts.Batch, opts.SeqLen)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(opts.Out, 0, 0, 2, ' ', tabwriter.AlignRight)
	w := len("PRESET")
	for _, r := range rows {
		w = max(w, len(r.Name))
	}
	// Right-aligned numbers; the names either side stay left-aligned.
	fmt.Fprintf(tw, "%-*s\tPARAMS\tLAYERS\tHIDDEN\tHEADS\tFP32\tBF16\tQ8_0\tQ4_K_M\tFULL FT\tTRAIN %d×%d\tLORA+CKPT\t  BASE MODEL\n", w, "PRESET", opts.Batch, opts.SeqLen)
	for _, r := range rows {
		base := r.Published
		if base == "" {
			base = "-"
		}
		fmt.Fprintf(tw, "%-*s\t%s\t%d\t%d\t%d/%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t  %s\n", w, r.Name, memory.FormatParams(r.Params), r.Layers, r.Hidden,
			r.Heads, r.KVHeads, memory.Format(r.FP32Bytes), memory.Format(r.BF16Bytes), memory.Format(r.Q8_0Bytes), memory.Format(r.Q4KMBytes),
			memory.Format(r.FullFTBytes), memory.Format(r.TrainBytes), memory.Format(r.LoRATrainBytes), base)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.Out, "\nHEADS: query/key-value. Q8_0, Q4_K_M: the tensors of `distill export gguf --type q8_0|q4_k_m`\n"+
		"(llama.cpp's per-tensor types and block sizes, metadata excluded). FULL FT: AdamW at\n"+
		"16 bytes per parameter (fp32 weights, grads, 2 moments; bf16 mixed precision with fp32 master\n"+
		"weights is the same), activations excluded. TRAIN: the native fp32 trainer's estimate for a\n"+
		"micro-batch of %d × %d tokens, activations included; LORA+CKPT: the same with rank-16 adapters\n"+
		"on every projection and --gradient-checkpointing.\n", opts.Batch, opts.SeqLen)
	return err
}

package gguf

import (
	"fmt"
	"os"

	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// Options configure Write.
type Options struct {
	Type FileType
	Name string // general.name, e.g. the checkpoint directory's name
}

// Result describes a written file.
type Result struct {
	Bytes   int64        // file size
	Tensors map[Type]int // how many tensors of each type
}

// Write exports a student as a GGUF v3 file at path: llama.cpp's metadata
// for its architecture, the tokenizer and chat template, and every tensor
// under llama.cpp's name in the type opts.Type implies for it.
func Write(path string, w *model.Weights, tok *tokenizer.Tokenizer, tmpl *tokenizer.Template, opts Options) (*Result, error) {
	cfg := w.Config
	arch, err := archOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("export gguf: %w", err)
	}
	if _, ok := fileTypeNames[opts.Type]; !ok {
		return nil, fmt.Errorf("export gguf: file type %d is not supported", opts.Type)
	}
	hp, err := hyperparameters(cfg)
	if err != nil {
		return nil, fmt.Errorf("export gguf: %w", err)
	}
	voc, err := vocabulary(tok, tmpl, cfg.VocabSize)
	if err != nil {
		return nil, fmt.Errorf("export gguf: %w", err)
	}
	slots, err := plan(cfg, opts.Type)
	if err != nil {
		return nil, fmt.Errorf("export gguf: %w", err)
	}
	kvs := []kv{
		{"general.architecture", arch},
		{"general.type", "model"},
		{"general.name", opts.Name},
	}
	kvs = append(kvs, hp...)
	kvs = append(kvs, kv{"general.file_type", uint32(opts.Type)})
	kvs = append(kvs, voc...)
	kvs = append(kvs, kv{"general.quantization_version", uint32(2)}) // GGML_QNT_VERSION
	res := &Result{Tensors: map[Type]int{}}
	ts := make([]*tensor, len(slots))
	for i := range slots {
		s := &slots[i]
		ts[i] = &tensor{name: s.name, shape: s.shape, typ: s.typ, encode: func() ([]byte, error) {
			return Quantize(s.typ, s.data(w), s.shape[len(s.shape)-1])
		}}
		res.Tensors[s.typ]++
	}
	if err := writeFile(path, kvs, ts); err != nil {
		return nil, fmt.Errorf("export gguf: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	res.Bytes = fi.Size()
	return res, nil
}

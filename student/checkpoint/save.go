// Package checkpoint saves and loads student weights as Hugging Face
// checkpoint directories: config.json, generation_config.json,
// tokenizer.json and model.safetensors (or shards with an index), the files
// AutoModelForCausalLM.from_pretrained and vLLM read.
//
// Of ours it may import only `internal/atomicfile`, `student/model` and
// `student/safetensors`.
package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/safetensors"
)

// File names inside a checkpoint directory.
const (
	ConfigName           = "config.json"
	GenerationConfigName = "generation_config.json"
	TokenizerName        = "tokenizer.json"
)

// SaveOption changes how Save writes.
type SaveOption func(*saveOptions)

type saveOptions struct{ dtype string }

// BF16 stores the weights as bfloat16 (half the size; what the published
// R1 distills ship) instead of float32.
func BF16() SaveOption { return func(o *saveOptions) { o.dtype = "BF16" } }

// Save writes w as a checkpoint in dir. Everything is written into a
// temporary sibling directory first and renamed into place, so a crash never
// leaves a half-written directory under dir's name. An existing dir is
// replaced only if it is empty or holds a config.json (a checkpoint), never
// another kind of directory. tokenizerJSON may be nil (no tokenizer.json).
// gen's token ids default to the config's.
func Save(dir string, w *model.Weights, tokenizerJSON []byte, gen GenerationConfig, opts ...SaveOption) (err error) {
	if w == nil || w.Config == nil {
		return fmt.Errorf("save %s: weights without a config", dir)
	}
	o := saveOptions{dtype: "F32"}
	for _, opt := range opts {
		opt(&o)
	}
	dir = filepath.Clean(dir)
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}

	cfg := *w.Config
	cfg.TorchDtype = map[string]string{"F32": "float32", "BF16": "bfloat16"}[o.dtype]
	if err := cfg.Save(filepath.Join(tmp, ConfigName)); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	// HF's generation_config.json repeats the special token ids.
	if len(gen.BOSTokenID) == 0 {
		gen.BOSTokenID = cfg.BOSTokenID
	}
	if len(gen.EOSTokenID) == 0 {
		gen.EOSTokenID = cfg.EOSTokenID
	}
	if err := atomicfile.WriteJSON(filepath.Join(tmp, GenerationConfigName), gen); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if tokenizerJSON != nil {
		if err := atomicfile.WriteFile(filepath.Join(tmp, TokenizerName), tokenizerJSON, 0o644); err != nil {
			return fmt.Errorf("save %s: %w", dir, err)
		}
	}
	ps := w.Params()
	ts := make([]safetensors.NamedTensor, len(ps))
	for i, p := range ps {
		ts[i] = safetensors.NamedTensor{Name: p.Name, Shape: p.Tensor.Shape, Data: p.Tensor.Data, Dtype: o.dtype}
	}
	if err := safetensors.Write(filepath.Join(tmp, safetensors.SingleName), ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	return replaceDir(tmp, dir)
}

// checkReplaceable refuses to overwrite a directory that is not a checkpoint,
// so that a mistyped --out never deletes someone's data.
func checkReplaceable(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if len(ents) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, ConfigName)); err != nil {
		return fmt.Errorf("save checkpoint: %s exists and is not a checkpoint (no %s); refusing to replace it", dir, ConfigName)
	}
	return nil
}

// replaceDir moves tmp to dir. With an existing dir it first renames that
// aside, so at every instant dir is either the old complete checkpoint, the
// new one, or absent (with both kept under their temporary names).
func replaceDir(tmp, dir string) error {
	old := ""
	if _, err := os.Lstat(dir); err == nil {
		o, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".old-")
		if err != nil {
			return err
		}
		old = filepath.Join(o, "ckpt")
		if err := os.Rename(dir, old); err != nil {
			os.Remove(o)
			return fmt.Errorf("save checkpoint: move old %s aside: %w", dir, err)
		}
		defer os.RemoveAll(o)
	}
	if err := atomicfile.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir) // put the old checkpoint back
		}
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

package checkpoint

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/safetensors"
)

// IsCheckpoint tells whether dir is a checkpoint directory (it holds a
// config.json), as opposed to a preset or hub name.
func IsCheckpoint(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ConfigName))
	return err == nil
}

// LoadConfig reads dir/config.json.
func LoadConfig(dir string) (*model.Config, error) {
	return model.LoadConfig(filepath.Join(dir, ConfigName))
}

// Load reads a checkpoint directory's config.json and weights (single file
// or sharded; F32, BF16 or F16) into float32 weights. Every parameter the
// config implies must be present with its exact shape and nothing else may
// be: a tensor the model would silently ignore means the checkpoint is not
// what the config says. Two exceptions follow transformers: lm_head.weight
// is ignored when the embeddings are tied, and rotary inv_freq buffers that
// old exports contain are skipped.
func Load(dir string) (*model.Weights, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	st, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	w := model.NewWeights(cfg)
	want := map[string]bool{}
	var missing, mismatched []string
	for _, p := range w.Params() {
		want[p.Name] = true
		_, shape, err := st.Info(p.Name)
		if err != nil {
			missing = append(missing, p.Name)
			continue
		}
		if !slices.Equal(shape, p.Tensor.Shape) {
			mismatched = append(mismatched, fmt.Sprintf("%s %v (config wants %v)", p.Name, shape, p.Tensor.Shape))
			continue
		}
		if err := st.ReadFloat32(p.Name, p.Tensor.Data); err != nil {
			return nil, err
		}
	}
	var unexpected []string
	for _, n := range st.Names() {
		if want[n] || (n == "lm_head.weight" && cfg.TieWordEmbeddings) || strings.HasSuffix(n, ".rotary_emb.inv_freq") {
			continue
		}
		unexpected = append(unexpected, n)
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "missing "+list(missing))
	}
	if len(mismatched) > 0 {
		problems = append(problems, "wrong shape "+list(mismatched))
	}
	if len(unexpected) > 0 {
		problems = append(problems, "unexpected "+list(unexpected))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("load %s: %w: %s", dir, ErrMismatch, strings.Join(problems, "; "))
	}
	return w, nil
}

// ErrMismatch is wrapped when a checkpoint's tensors do not match its config.
var ErrMismatch = fmt.Errorf("weights do not match config")

// list names up to five items and counts the rest, so one error line stays
// readable for a checkpoint of the wrong family (hundreds of names).
func list(names []string) string {
	sort.Strings(names)
	const show = 5
	if len(names) <= show {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:show], ", "), len(names)-show)
}

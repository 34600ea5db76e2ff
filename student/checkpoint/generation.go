package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/distill-dev/distill/student/model"
)

// GenerationConfig is HF's generation_config.json: the sampling defaults
// transformers and vLLM apply when a request does not override them. Zero
// fields are left out of the file.
type GenerationConfig struct {
	BOSTokenID   model.TokenIDs `json:"bos_token_id,omitempty"`
	EOSTokenID   model.TokenIDs `json:"eos_token_id,omitempty"`
	PadTokenID   *int           `json:"pad_token_id,omitempty"`
	DoSample     bool           `json:"do_sample,omitempty"`
	Temperature  float64        `json:"temperature,omitempty"`
	TopP         float64        `json:"top_p,omitempty"`
	TopK         int            `json:"top_k,omitempty"`
	MaxNewTokens int            `json:"max_new_tokens,omitempty"`
}

// LoadGenerationConfig reads dir/generation_config.json; a checkpoint
// without one gives the zero value (no sampling defaults), as in transformers.
func LoadGenerationConfig(dir string) (GenerationConfig, error) {
	var g GenerationConfig
	path := filepath.Join(dir, GenerationConfigName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return g, nil
	}
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal(b, &g); err != nil {
		return g, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

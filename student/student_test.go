package student

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// Open finds the template a checkpoint was saved with wherever transformers
// keeps its source: tokenizer_config.json (Save), or chat_template.jinja
// (transformers 5's save_pretrained, which takes it out of the config).
// chatml is the case that matters: the tokens alone would say qwen2.5.
func TestOpenFindsTemplate(t *testing.T) {
	chatml, err := tokenizer.TemplateFor("chatml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config string // tokenizer_config.json; "" keeps Save's
		jinja  string // chat_template.jinja; "" writes none
		want   string
	}{
		{"tokenizer_config.json", "", "", "chatml"},
		{"chat_template.jinja", `{"eos_token": "<|im_end|>"}`, chatml.Jinja, "chatml"},
		{"jinja file first", "", "{{ other }}", "qwen2.5"},
		{"neither: by tokens", `{"eos_token": "<|im_end|>"}`, "", "qwen2.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			tok := tokenizer.NewByteLevel(nil)
			cfg := &model.Config{Architectures: []string{"Qwen2ForCausalLM"}, ModelType: "qwen2", VocabSize: tok.VocabSize(),
				HiddenSize: 8, IntermediateSize: 16, NumHiddenLayers: 1, NumAttentionHeads: 2, NumKeyValueHeads: 1,
				MaxPositionEmbeddings: 64, RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true}
			w := model.NewWeights(cfg)
			if err := (&Student{Weights: w, Tok: tok, Template: chatml}).Save(dir, checkpoint.GenerationConfig{}); err != nil {
				t.Fatal(err)
			}
			if tt.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(tt.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.jinja != "" {
				if err := os.WriteFile(filepath.Join(dir, "chat_template.jinja"), []byte(tt.jinja), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			st, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if st.Template.Name != tt.want {
				t.Errorf("template %s, want %s", st.Template.Name, tt.want)
			}
		})
	}
}

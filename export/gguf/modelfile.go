package gguf

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/distill-dev/distill/student/tokenizer"
)

// ollamaTemplates are the chat templates in Ollama's Go template syntax
// (TEMPLATE, over .Messages), rendering what the Jinja templates render
// with the generation prompt. Two simplifications, both Ollama's own
// practice: llama3 does not trim the content (Ollama's template functions
// have no trim), and deepseek-r1 keeps the reasoning of earlier assistant
// turns (Ollama passes it apart from the content).
var ollamaTemplates = map[string]string{
	"chatml": `{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
`,
	"qwen2.5": `{{- if or (not .Messages) (ne (index .Messages 0).Role "system") }}<|im_start|>system
You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>
{{ end }}
{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
`,
	"llama3": `<|begin_of_text|>
{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}<|eot_id|>
{{- end }}<|start_header_id|>assistant<|end_header_id|>

`,
	"deepseek-r1": `{{- $system := "" }}{{ range .Messages }}{{ if eq .Role "system" }}{{ $system = .Content }}{{ end }}{{ end -}}
<｜begin▁of▁sentence｜>{{ $system }}
{{- range .Messages }}
{{- if eq .Role "user" }}<｜User｜>{{ .Content }}
{{- else if eq .Role "assistant" }}<｜Assistant｜>{{ .Content }}<｜end▁of▁sentence｜>
{{- end }}
{{- end }}<｜Assistant｜><think>
`,
}

// Modelfile is an Ollama Modelfile for a GGUF written beside it: FROM the
// file, the chat template, and the tokens generation stops at.
func Modelfile(ggufName string, tok *tokenizer.Tokenizer, tmpl *tokenizer.Template) (string, error) {
	if tmpl == nil {
		return "", fmt.Errorf("modelfile: the checkpoint has no chat template")
	}
	t, ok := ollamaTemplates[tmpl.Name]
	if !ok {
		return "", fmt.Errorf("modelfile: no Ollama template for chat template %s", tmpl.Name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "FROM ./%s\n\nTEMPLATE \"\"\"%s\"\"\"\n\n", ggufName, t)
	for _, id := range tmpl.StopTokens(tok) {
		s, _ := tok.Token(id)
		fmt.Fprintf(&b, "PARAMETER stop %s\n", strconv.Quote(s))
	}
	return b.String(), nil
}

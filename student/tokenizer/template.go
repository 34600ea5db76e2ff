package tokenizer

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ErrMissingToken is returned when a template needs a special token the
// tokenizer lacks: encoding it as text would silently train on the wrong
// ids.
var ErrMissingToken = errors.New("tokenizer lacks a template token")

// Template renders chat messages as a model family's chat_template does
// (without tools). Each is written out by hand from the Jinja template and
// checked against its output in the tests.
type Template struct {
	// Name is the canonical name TemplateFor accepts.
	Name string
	// EndOfTurn is the token closing an assistant turn: trained on, and the
	// token generation stops at.
	EndOfTurn string
	// Tokens are the added tokens the template writes; Render checks the
	// tokenizer has them.
	Tokens []string
	// Jinja is the same template as a Hugging Face chat_template, written to
	// tokenizer_config.json so that transformers renders what Render does.
	Jinja string
	// TrainingJinja renders the same text with {% generation %} around
	// what Render trains on, for engines that take the loss mask from the
	// template (TRL's assistant_only_loss).
	TrainingJinja string
	render        func(msgs []Message, addGenerationPrompt bool) ([]part, error)
}

// part is a stretch of rendered text; assistant parts are trained on.
type part struct {
	text      string
	assistant bool
}

var templates = map[string]*Template{}
var templateAliases = map[string]string{}

func registerTemplate(t *Template, aliases ...string) {
	templates[t.Name] = t
	for _, a := range aliases {
		templateAliases[a] = t.Name
	}
}

// TemplateFor returns the template called name, or the one of a model
// family or preset name ("qwen2.5", "qwen-tiny", "llama-8b",
// "deepseek-r1-distill-qwen-7b", ...). Distill models are matched before the
// family their weights come from, since they use the DeepSeek format.
func TemplateFor(name string) (*Template, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	if t, ok := templates[key]; ok {
		return t, nil
	}
	if n, ok := templateAliases[key]; ok {
		return templates[n], nil
	}
	switch {
	case strings.Contains(key, "deepseek") || strings.Contains(key, "r1-distill"):
		return templates["deepseek-r1"], nil
	case strings.Contains(key, "llama"):
		return templates["llama3"], nil
	case strings.Contains(key, "qwen"):
		return templates["qwen2.5"], nil
	}
	return nil, fmt.Errorf("chat template %q: unknown (want one of %s, or a qwen/llama/deepseek model name)", name, strings.Join(TemplateNames(), ", "))
}

// TemplateNames lists the canonical template names.
func TemplateNames() []string {
	var names []string
	for n := range templates {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Format returns the rendered text, as apply_chat_template(tokenize=False)
// gives it.
func (t *Template) Format(msgs []Message, addGenerationPrompt bool) (string, error) {
	parts, err := t.render(msgs, addGenerationPrompt)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.text)
	}
	return b.String(), nil
}

// Render returns the ids of the rendered conversation and a mask marking
// the tokens to train on: the content of every assistant turn and the token
// that ends it, as TRL's assistant_only_loss does. The whole text is
// encoded at once (so ids equal Encode of Format's text); a token is masked
// when its bytes overlap an assistant part.
func (t *Template) Render(tok *Tokenizer, msgs []Message, addGenerationPrompt bool) (ids []int32, assistantMask []bool, err error) {
	if err := t.Check(tok); err != nil {
		return nil, nil, err
	}
	norm := make([]Message, len(msgs))
	for i, m := range msgs {
		// Normalize first so that token spans are spans of the text we built.
		norm[i] = Message{Role: m.Role, Content: tok.norm.apply(validUTF8(m.Content))}
	}
	parts, err := t.render(norm, addGenerationPrompt)
	if err != nil {
		return nil, nil, err
	}
	var b strings.Builder
	var spans [][2]int
	for _, p := range parts {
		if p.assistant && p.text != "" {
			spans = append(spans, [2]int{b.Len(), b.Len() + len(p.text)})
		}
		b.WriteString(p.text)
	}
	ids, tokSpans := tok.encodeSpans(b.String())
	assistantMask = make([]bool, len(ids))
	k := 0
	for i, ts := range tokSpans {
		for k < len(spans) && spans[k][1] <= ts[0] {
			k++
		}
		assistantMask[i] = k < len(spans) && spans[k][0] < ts[1] && ts[0] < spans[k][1]
	}
	return ids, assistantMask, nil
}

// RenderPrompt returns the ids of msgs followed by the generation prompt
// (the assistant header, plus "<think>\n" for DeepSeek-R1), ready to sample
// from.
func (t *Template) RenderPrompt(tok *Tokenizer, msgs []Message) ([]int32, error) {
	ids, _, err := t.Render(tok, msgs, true)
	return ids, err
}

// StopTokens returns the ids generation should stop at: the end-of-turn
// token and the tokenizer's EOS.
func (t *Template) StopTokens(tok *Tokenizer) []int32 {
	var stop []int32
	if id, ok := tok.TokenID(t.EndOfTurn); ok {
		stop = append(stop, id)
	}
	if id, ok := tok.EOS(); ok && (len(stop) == 0 || stop[0] != id) {
		stop = append(stop, id)
	}
	return stop
}

// Check reports whether tok has every added token the template writes.
func (t *Template) Check(tok *Tokenizer) error {
	for _, s := range t.Tokens {
		id, ok := tok.TokenID(s)
		if !ok || !tok.IsAdded(id) {
			return fmt.Errorf("chat template %s needs %q: %w", t.Name, s, ErrMissingToken)
		}
	}
	return nil
}

func checkRoles(name string, msgs []Message) error {
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return fmt.Errorf("chat template %s: message %d: role %q not supported (want system, user or assistant)", name, i, m.Role)
		}
	}
	return nil
}

// chatML renders '<|im_start|>' + role + '\n' + content + '<|im_end|>' + '\n'
// per message and '<|im_start|>assistant\n' as the generation prompt. With a
// defaultSystem it is Qwen2.5's template, which adds that system message
// when the conversation has none.
func chatML(name, defaultSystem string) func([]Message, bool) ([]part, error) {
	return func(msgs []Message, gen bool) ([]part, error) {
		if err := checkRoles(name, msgs); err != nil {
			return nil, err
		}
		var parts []part
		if defaultSystem != "" && (len(msgs) == 0 || msgs[0].Role != "system") {
			parts = append(parts, part{text: "<|im_start|>system\n" + defaultSystem + "<|im_end|>\n"})
		}
		for _, m := range msgs {
			if m.Role == "assistant" {
				parts = append(parts,
					part{text: "<|im_start|>assistant\n"},
					part{text: m.Content + "<|im_end|>", assistant: true},
					part{text: "\n"})
				continue
			}
			parts = append(parts, part{text: "<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n"})
		}
		if gen {
			parts = append(parts, part{text: "<|im_start|>assistant\n"})
		}
		return parts, nil
	}
}

// llama3 is Meta-Llama-3-Instruct's template: BOS, then per message
// '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + content|trim +
// '<|eot_id|>'. (Llama 3.1's adds a dated system block and tools; students
// are trained with the plain 3.0 form, which 3.1 models also read.)
func llama3(msgs []Message, gen bool) ([]part, error) {
	if err := checkRoles("llama3", msgs); err != nil {
		return nil, err
	}
	parts := []part{{text: "<|begin_of_text|>"}}
	for _, m := range msgs {
		head := "<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n"
		body := strings.TrimSpace(m.Content) + "<|eot_id|>"
		parts = append(parts, part{text: head}, part{text: body, assistant: m.Role == "assistant"})
	}
	if gen {
		parts = append(parts, part{text: "<|start_header_id|>assistant<|end_header_id|>\n\n"})
	}
	return parts, nil
}

// deepseekR1 is the DeepSeek-R1(-Distill) template: BOS, the (last) system
// message, then '<｜User｜>' + content and '<｜Assistant｜>' + content +
// '<｜end▁of▁sentence｜>'; the generation prompt is '<｜Assistant｜><think>\n'.
// The HF template drops everything up to '</think>' from every assistant
// message. That is right for history but would delete the reasoning SFT
// trains on, so, as Qwen3's template does, it is dropped only from assistant
// turns before the last user message.
func deepseekR1(msgs []Message, gen bool) ([]part, error) {
	if err := checkRoles("deepseek-r1", msgs); err != nil {
		return nil, err
	}
	system, lastUser := "", -1
	for i, m := range msgs {
		switch m.Role {
		case "system":
			system = m.Content
		case "user":
			lastUser = i
		}
	}
	parts := []part{{text: "<｜begin▁of▁sentence｜>" + system}}
	for i, m := range msgs {
		switch m.Role {
		case "user":
			parts = append(parts, part{text: "<｜User｜>" + m.Content})
		case "assistant":
			content := m.Content
			if i < lastUser {
				if k := strings.LastIndex(content, "</think>"); k >= 0 {
					content = content[k+len("</think>"):]
				}
			}
			parts = append(parts, part{text: "<｜Assistant｜>"},
				part{text: content + "<｜end▁of▁sentence｜>", assistant: true})
		}
	}
	if gen {
		parts = append(parts, part{text: "<｜Assistant｜><think>\n"})
	}
	return parts, nil
}

// qwenDefaultSystem is what Qwen2.5-Instruct's template adds when the
// conversation has no system message.
const qwenDefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

func init() {
	registerTemplate(&Template{
		Name: "chatml", EndOfTurn: "<|im_end|>",
		Tokens: []string{"<|im_start|>", "<|im_end|>"},
		Jinja:  jinjaChatML, TrainingJinja: jinjaChatMLTraining,
		render: chatML("chatml", ""),
	})
	registerTemplate(&Template{
		Name: "qwen2.5", EndOfTurn: "<|im_end|>",
		Tokens: []string{"<|im_start|>", "<|im_end|>"},
		Jinja:  jinjaQwen25, TrainingJinja: jinjaQwen25Training,
		render: chatML("qwen2.5", qwenDefaultSystem),
	}, "qwen", "qwen2")
	registerTemplate(&Template{
		Name: "llama3", EndOfTurn: "<|eot_id|>",
		Tokens: []string{"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"},
		Jinja:  jinjaLlama3, TrainingJinja: jinjaLlama3Training,
		render: llama3,
	}, "llama", "llama3.1", "llama-3")
	registerTemplate(&Template{
		Name: "deepseek-r1", EndOfTurn: "<｜end▁of▁sentence｜>",
		Tokens: []string{"<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>"},
		Jinja:  jinjaDeepSeekR1, TrainingJinja: jinjaDeepSeekR1Training,
		render: deepseekR1,
	}, "r1", "deepseek")
}

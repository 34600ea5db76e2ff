package local

import (
	"context"
	"errors"
	"testing"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
	"github.com/distill-dev/distill/teacher"
)

func TestSplitThink(t *testing.T) {
	tests := []struct {
		text              string
		opened            bool
		reasoning, answer string
	}{
		{"<think>\n1+1=2\n</think>\n\n\\boxed{2}", false, "1+1=2", "\\boxed{2}"},
		{"  <think>a</think>b", false, "a", "b"},
		{"1+1=2\n</think>\n\n2", true, "1+1=2", "2"},
		{"1+1=2\n</think>2", false, "1+1=2", "2"},
		{"still thinking", true, "still thinking", ""},
		{"<think>cut off", false, "cut off", ""},
		{"just an answer", false, "", "just an answer"},
		{"", true, "", ""},
	}
	for _, tt := range tests {
		r, a := splitThink(tt.text, tt.opened)
		if r != tt.reasoning || a != tt.answer {
			t.Errorf("splitThink(%q, %v) = %q, %q; want %q, %q", tt.text, tt.opened, r, a, tt.reasoning, tt.answer)
		}
	}
}

// newCheckpoint saves a random qwen2 student with a byte-level tokenizer
// and the given template, as training does, and returns its directory.
func newCheckpoint(t *testing.T, tmpl string, edit func(*model.Weights, *tokenizer.Tokenizer)) string {
	t.Helper()
	tok := tokenizer.NewByteLevel(nil)
	tp, err := tokenizer.TemplateFor(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	c := model.Presets["qwen-nano"].Config
	c.VocabSize, c.HiddenSize, c.IntermediateSize = tok.VocabSize(), 32, 64
	c.InitializerRange = 0.2
	w := model.NewWeights(&c)
	w.Init(7)
	if edit != nil {
		edit(w, tok)
	}
	dir := t.TempDir() + "/ckpt"
	st := &student.Student{Weights: w, Tok: tok, Template: tp}
	if err := st.Save(dir, checkpoint.GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCompleteMatchesGenerate(t *testing.T) {
	dir := newCheckpoint(t, "chatml", nil)
	lt, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []teacher.Message{{Role: "user", Content: "What is 2+3?"}}
	resp, err := lt.Complete(t.Context(), teacher.Request{Messages: msgs, MaxTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	// The same prompt through the template and Generate by hand.
	st := lt.st
	ids, err := st.Template.RenderPrompt(st.Tok, []tokenizer.Message{{Role: "user", Content: "What is 2+3?"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := model.Generate(t.Context(), st.Weights, [][]int32{ids}, model.SampleOptions{MaxNewTokens: 12, StopTokens: lt.stop})
	if err != nil {
		t.Fatal(err)
	}
	gen := out[0].Tokens
	if out[0].FinishReason == "stop" {
		gen = gen[:len(gen)-1]
	}
	r, a := splitThink(st.Tok.Decode(gen), false)
	if resp.Reasoning != r || resp.Content != a || resp.FinishReason != out[0].FinishReason {
		t.Errorf("Complete gave %q/%q (%s), Generate %q/%q (%s)", resp.Reasoning, resp.Content, resp.FinishReason, r, a, out[0].FinishReason)
	}
	if resp.Usage.PromptTokens != len(ids) || resp.Usage.CompletionTokens != len(out[0].Tokens) {
		t.Errorf("usage %+v, want %d prompt and %d completion tokens", resp.Usage, len(ids), len(out[0].Tokens))
	}
	if resp.Model != "ckpt" {
		t.Errorf("model %q, want the directory name", resp.Model)
	}

	// A seed makes sampling reproducible.
	seed := int64(5)
	req := teacher.Request{Messages: msgs, MaxTokens: 20, Temperature: 1, TopP: 0.95, Seed: &seed}
	a1, err1 := lt.Complete(t.Context(), req)
	a2, err2 := lt.Complete(t.Context(), req)
	if err1 != nil || err2 != nil || a1.Content != a2.Content || a1.Reasoning != a2.Reasoning {
		t.Errorf("same seed, different answers: %q vs %q (%v, %v)", a1.Content, a2.Content, err1, err2)
	}
}

func TestCompleteStopsAtEndOfTurn(t *testing.T) {
	// Every embedding row the same and zero blocks: the last hidden state is
	// the same at every position, and the head (tied) favours <|im_end|>,
	// whose row is that vector scaled up.
	dir := newCheckpoint(t, "chatml", func(w *model.Weights, tok *tokenizer.Tokenizer) {
		h := w.Config.HiddenSize
		end, _ := tok.TokenID("<|im_end|>")
		for v := 0; v < w.Config.VocabSize; v++ {
			for i := 0; i < h; i++ {
				w.Embed.Data[v*h+i] = 0.1
				if int32(v) == end {
					w.Embed.Data[v*h+i] = 0.2
				}
			}
		}
		for l := range w.Layers {
			clear(w.Layers[l].O.Data)
			clear(w.Layers[l].Down.Data)
		}
	})
	lt, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := lt.Complete(t.Context(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != "stop" || resp.Content != "" || resp.Usage.CompletionTokens != 1 {
		t.Errorf("got %+v, want an empty answer that stops at once", resp)
	}
}

func TestCompleteErrors(t *testing.T) {
	dir := newCheckpoint(t, "chatml", nil)
	lt, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	long := make([]byte, 3000)
	for i := range long {
		long[i] = 'a'
	}
	_, err = lt.Complete(t.Context(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: string(long)}}})
	var te *teacher.Error
	if !errors.As(err, &te) || te.Retryable {
		t.Errorf("prompt over the context: err %v, want a non-retryable teacher.Error", err)
	}
	_, err = lt.Complete(t.Context(), teacher.Request{Messages: []teacher.Message{{Role: "robot", Content: "x"}}})
	if !errors.As(err, &te) {
		t.Errorf("unknown role: err %v, want a teacher.Error", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := lt.Complete(ctx, teacher.Request{Messages: []teacher.Message{{Role: "user", Content: "x"}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("Open of an empty directory: no error")
	}
}

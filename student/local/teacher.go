// Package local is a teacher.Teacher backed by a student checkpoint run
// in-process: chat template, KV-cached generation, decoding, and the split
// of R1-style "<think>…</think>" output into reasoning and answer. It serves
// `distill serve --model DIR` and `distill generate --teacher local:DIR`.
//
// Of ours it may import only `student`, `student/memory`, `student/model`,
// `student/tokenizer` and `teacher`. It implements the teacher interface, so
// that teacher stays a leaf.
package local

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
	"github.com/distill-dev/distill/teacher"
)

// DefaultMaxTokens bounds a completion whose request sets no max_tokens
// (the context limit bounds it too).
const DefaultMaxTokens = 4096

// MaxBatch is the most requests that share one forward pass; more wait.
const MaxBatch = 64

// Teacher answers chat requests with a student checkpoint. It is safe for
// concurrent use: concurrent requests share forward passes (model.Batcher),
// so a worker pool or a server gets batched matrix products.
type Teacher struct {
	st    *student.Student
	gen   *model.Batcher
	name  string
	stop  []int32
	think int32 // id of "</think>", -1 when the tokenizer has none
}

// Open loads the checkpoint in dir (config.json, safetensors, tokenizer.json
// and, when present, tokenizer_config.json naming the chat template).
func Open(dir string) (*Teacher, error) {
	st, err := student.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := CheckMemory(st.Weights.Config); err != nil {
		return nil, err
	}
	return New(st), nil
}

// CheckMemory refuses a checkpoint whose full batch cannot be served: the
// weights and MaxBatch sequences, each of which may fill the context
// (requests choose their max_tokens). No flag of the commands that serve a
// local teacher shrinks that, so the advice names none.
func CheckMemory(cfg *model.Config) error {
	context := cfg.MaxPositionEmbeddings
	if context <= 0 {
		context = DefaultMaxTokens
	}
	need := memory.Generation(cfg, MaxBatch, context, true)
	a := memory.Advice{Avail: memory.Available()}
	if need.Check(a.Avail) == nil {
		need.Hold()
		return nil
	}
	a.Add("a smaller checkpoint or a machine with more memory")
	return a.Refuse(fmt.Sprintf("serving this %s-parameter checkpoint to %d requests at a time", memory.FormatParams(cfg.NumParams()), MaxBatch), need)
}

// New wraps a loaded student. Its model name is the checkpoint directory's
// base name.
func New(st *student.Student) *Teacher {
	t := &Teacher{st: st, gen: model.NewBatcher(st.Weights, MaxBatch), name: filepath.Base(filepath.Clean(st.Dir)),
		stop: st.Template.StopTokens(st.Tok), think: -1}
	if id, ok := st.Tok.TokenID("</think>"); ok {
		t.think = id
	}
	return t
}

// Name is the model name responses carry when the request names none.
func (t *Teacher) Name() string { return t.name }

// Complete renders the messages with the checkpoint's chat template,
// generates (temperature 0 is greedy; top_p as HF's warper; the seed, when
// set, makes the answer reproducible) and splits the reasoning off.
func (t *Teacher) Complete(ctx context.Context, req teacher.Request) (teacher.Response, error) {
	msgs := make([]tokenizer.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
	}
	ids, err := t.st.Template.RenderPrompt(t.st.Tok, msgs)
	if err != nil {
		return teacher.Response{}, &teacher.Error{Kind: "client", Message: err.Error()}
	}
	c := t.st.Weights.Config
	room := c.MaxPositionEmbeddings - len(ids)
	if room <= 0 {
		return teacher.Response{}, &teacher.Error{Kind: "client", Message: fmt.Sprintf(
			"prompt of %d tokens fills the model's context of %d", len(ids), c.MaxPositionEmbeddings)}
	}
	maxNew := req.MaxTokens
	if maxNew <= 0 {
		maxNew = DefaultMaxTokens
	}
	maxNew = min(maxNew, room)
	seed := rand.Uint64()
	if req.Seed != nil {
		seed = uint64(*req.Seed)
	}
	opts := model.SampleOptions{Temperature: req.Temperature, TopP: req.TopP, MaxNewTokens: maxNew, StopTokens: t.stop, Seed: seed}
	out, err := t.gen.Generate(ctx, ids, opts)
	if err != nil {
		if ctx.Err() != nil {
			return teacher.Response{}, ctx.Err()
		}
		if errors.Is(err, model.ErrContextTooLong) {
			return teacher.Response{}, &teacher.Error{Kind: "client", Message: err.Error()}
		}
		return teacher.Response{}, err
	}
	gen := out.Tokens
	if out.FinishReason == "stop" {
		gen = gen[:len(gen)-1] // the end-of-turn token is not text
	}
	// The R1 template ends the prompt with "<think>\n": the completion then
	// starts inside the reasoning.
	opened := strings.HasSuffix(strings.TrimRight(t.st.Tok.Decode(ids[max(0, len(ids)-4):]), " \n"), "<think>")
	reasoning, content := splitThink(t.st.Tok.Decode(gen), opened)
	resp := teacher.Response{
		Model:        req.Model,
		Reasoning:    reasoning,
		Content:      content,
		FinishReason: out.FinishReason,
		Usage:        teacher.Usage{PromptTokens: len(ids), CompletionTokens: len(out.Tokens)},
	}
	if resp.Model == "" {
		resp.Model = t.name
	}
	if reasoning != "" {
		resp.Usage.ReasoningTokens = len(gen)
		if k := slices.Index(gen, t.think); t.think >= 0 && k >= 0 {
			resp.Usage.ReasoningTokens = k
		}
	}
	return resp, nil
}

// splitThink separates "<think>reasoning</think>answer", or
// "reasoning</think>answer" when the prompt opened the block (opened, as
// R1's template does). Without a closing tag the text is reasoning cut short
// when the block was opened, else all answer.
func splitThink(text string, opened bool) (reasoning, content string) {
	trimmed := strings.TrimLeft(text, " \t\r\n")
	if strings.HasPrefix(trimmed, "<think>") {
		opened, text = true, strings.TrimPrefix(trimmed, "<think>")
	}
	if end := strings.Index(text, "</think>"); end >= 0 {
		return strings.TrimSpace(text[:end]), strings.TrimSpace(text[end+len("</think>"):])
	}
	if opened {
		return strings.TrimSpace(text), ""
	}
	return "", strings.TrimSpace(text)
}

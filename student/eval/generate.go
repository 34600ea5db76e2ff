package eval

import (
	"context"
	"fmt"
	"strings"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// Params are the sampling settings of an evaluation (R1: temperature 0.6,
// top-p 0.95).
type Params struct {
	Temperature float64
	TopP        float64
	MaxTokens   int
	Seed        uint64
}

// Generator samples k answers to each user message.
type Generator interface {
	Generate(ctx context.Context, userMessages []string, k int, p Params) ([][]Sample, error)
}

// Checkpoint samples from a student in-process, batching all samples of
// many prompts through one KV-cached generation.
type Checkpoint struct {
	Student *student.Student
	Batch   int // sequences generated together (default 64)
	// Progress, when set, is told after each batch how many of the total
	// samples are done.
	Progress func(done, total int)
}

// render tokenizes the user messages with the chat template and says which
// prompts opened the reasoning themselves (DeepSeek-R1's template leaves
// "<think>\n" in the prompt: Generate puts it back in front of the answer).
func (c *Checkpoint) render(msgs []string) (prompts [][]int32, opened []bool, err error) {
	st := c.Student
	prompts = make([][]int32, len(msgs))
	opened = make([]bool, len(msgs))
	for i, m := range msgs {
		ids, err := st.Template.RenderPrompt(st.Tok, []tokenizer.Message{{Role: "user", Content: m}})
		if err != nil {
			return nil, nil, err
		}
		prompts[i] = ids
		text := st.Tok.Decode(ids[max(0, len(ids)-4):])
		opened[i] = strings.HasSuffix(strings.TrimRight(text, "\n"), "<think>")
	}
	return prompts, opened, nil
}

// BatchSize is the number of sequences generated together (64 when Batch
// is unset).
func (c *Checkpoint) BatchSize() int {
	if c.Batch <= 0 {
		return 64
	}
	return c.Batch
}

// Memory is what generating k samples of each message takes, batch by
// batch: every sequence of a batch holds the longest prompt and MaxTokens.
func (c *Checkpoint) Memory(msgs []string, k int, p Params) (memory.Breakdown, error) {
	prompts, _, err := c.render(msgs)
	if err != nil {
		return memory.Breakdown{}, err
	}
	longest := 0
	for _, ids := range prompts {
		longest = max(longest, len(ids))
	}
	return memory.Generation(c.Student.Weights.Config, min(c.BatchSize(), len(msgs)*k), longest+p.MaxTokens, p.Temperature > 0), nil
}

// CheckMemory refuses an evaluation whose batches need more memory than
// the machine has (the weights are loaded by then: the prompts' lengths
// need the tokenizer); its advice names only `distill eval` flags.
func (c *Checkpoint) CheckMemory(msgs []string, k int, p Params) error {
	need, err := c.Memory(msgs, k, p)
	if err != nil {
		return err
	}
	a := memory.Advice{Avail: memory.Available()}
	if need.Check(a.Avail) == nil {
		need.Hold()
		return nil
	}
	for b := c.BatchSize() / 2; b >= 1; b /= 2 {
		smaller := *c
		smaller.Batch = b
		alt, _ := smaller.Memory(msgs, k, p)
		if a.Try(alt, "--batch %d (needs %s)", b) {
			break
		}
	}
	a.Add("a smaller --batch or --max-tokens, or a machine with more memory")
	return a.Refuse(fmt.Sprintf("evaluating this %s-parameter student, %d sequences at a time",
		memory.FormatParams(c.Student.Weights.Config.NumParams()), min(c.BatchSize(), len(msgs)*k)), need)
}

// Generate implements Generator. Sequence j of the flattened (message,
// sample) list draws from its own random stream, so results depend on the
// seed and the batch size only.
func (c *Checkpoint) Generate(ctx context.Context, msgs []string, k int, p Params) ([][]Sample, error) {
	st := c.Student
	batch := c.BatchSize()
	prompts, opened, err := c.render(msgs)
	if err != nil {
		return nil, err
	}
	stop := st.Template.StopTokens(st.Tok)
	out := make([][]Sample, len(msgs))
	total := len(msgs) * k
	for start, chunk := 0, 0; start < total; start, chunk = start+batch, chunk+1 {
		end := min(start+batch, total)
		in := make([][]int32, 0, end-start)
		for j := start; j < end; j++ {
			in = append(in, prompts[j/k])
		}
		comps, err := model.Generate(ctx, st.Weights, in, model.SampleOptions{
			Temperature: p.Temperature, TopP: p.TopP, MaxNewTokens: p.MaxTokens, StopTokens: stop,
			Seed: p.Seed + uint64(chunk)*0x9E3779B97F4A7C15,
		})
		if err != nil {
			return nil, err
		}
		for j, cpl := range comps {
			i := (start + j) / k
			toks := cpl.Tokens
			if cpl.FinishReason == "stop" && len(toks) > 0 {
				toks = toks[:len(toks)-1]
			}
			text := st.Tok.Decode(toks)
			if opened[i] {
				text = "<think>\n" + text
			}
			out[i] = append(out[i], Sample{Content: text, FinishReason: cpl.FinishReason, Tokens: len(cpl.Tokens)})
		}
		if c.Progress != nil {
			c.Progress(end, total)
		}
	}
	return out, nil
}

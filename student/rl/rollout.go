package rl

import (
	"context"
	"fmt"
	"strings"

	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// group is one prompt with its G sampled completions, their rewards and
// advantages.
type group struct {
	prompt  record.Prompt
	ids     []int32   // the rendered prompt
	comps   [][]int32 // completion tokens, stop token included
	samples []reward.Sample
	scores  [][]float64 // [reward function][completion]
	total   []float64   // weighted sum per completion
	adv     []float64
}

// UserMessage is the user turn GRPO sends for p: userTemplate with the
// problem in place of "{problem}", or the problem alone.
func UserMessage(userTemplate string, p record.Prompt) string {
	if userTemplate == "" {
		return p.Problem
	}
	return strings.Replace(userTemplate, "{problem}", p.Problem, 1)
}

// renderPrompt is the token ids the policy continues for p, and whether
// the template opened the reasoning itself (DeepSeek-R1's "<think>\n").
func renderPrompt(st *student.Student, userTemplate string, p record.Prompt) ([]int32, bool, error) {
	ids, err := st.Template.RenderPrompt(st.Tok, []tokenizer.Message{{Role: "user", Content: UserMessage(userTemplate, p)}})
	if err != nil {
		return nil, false, fmt.Errorf("prompt %s: %w", p.ID, err)
	}
	tail := st.Tok.Decode(ids[max(0, len(ids)-4):])
	return ids, strings.HasSuffix(strings.TrimRight(tail, "\n"), "<think>"), nil
}

// rollout samples g completions of each prompt from the policy in one
// batched generation and scores them.
func rollout(ctx context.Context, st *student.Student, o *Options, rs []reward.Weighted, prompts []record.Prompt, seed uint64) ([]*group, error) {
	groups := make([]*group, len(prompts))
	in := make([][]int32, 0, len(prompts)*o.NumGenerations)
	opened := make([]bool, len(prompts))
	for i, p := range prompts {
		ids, op, err := renderPrompt(st, o.UserTemplate, p)
		if err != nil {
			return nil, err
		}
		groups[i] = &group{prompt: p, ids: ids}
		opened[i] = op
		for range o.NumGenerations {
			in = append(in, ids)
		}
	}
	comps, err := model.Generate(ctx, st.Weights, in, model.SampleOptions{
		Temperature: o.Temperature, TopP: o.TopP, MaxNewTokens: o.MaxNewTokens,
		StopTokens: st.Template.StopTokens(st.Tok), Seed: seed,
	})
	if err != nil {
		return nil, err
	}
	for j, c := range comps {
		gr := groups[j/o.NumGenerations]
		toks := c.Tokens
		if c.FinishReason == "stop" && len(toks) > 0 {
			toks = toks[:len(toks)-1]
		}
		text := st.Tok.Decode(toks)
		if opened[j/o.NumGenerations] {
			text = "<think>\n" + text
		}
		gr.comps = append(gr.comps, c.Tokens)
		gr.samples = append(gr.samples, reward.Sample{Prompt: gr.prompt, Content: text, FinishReason: c.FinishReason,
			Tokens: len(c.Tokens), MaxTokens: o.MaxNewTokens})
	}
	for _, gr := range groups {
		gr.score(rs, o.ScaleRewards)
	}
	return groups, nil
}

// signal tells whether the group's completions got different rewards:
// only then are its advantages, and its gradient, not zero.
func (gr *group) signal() bool {
	for _, v := range gr.total {
		if v != gr.total[0] {
			return true
		}
	}
	return false
}

// score computes the rewards of every completion and the advantages.
func (gr *group) score(rs []reward.Weighted, scale string) {
	gr.scores = make([][]float64, len(rs))
	for k := range rs {
		gr.scores[k] = make([]float64, len(gr.samples))
	}
	gr.total = make([]float64, len(gr.samples))
	one := make([]float64, len(rs))
	for i := range gr.samples {
		gr.total[i] = reward.Score(rs, &gr.samples[i], one)
		for k, v := range one {
			gr.scores[k][i] = v
		}
	}
	gr.adv = Advantages(gr.total, scale)
}

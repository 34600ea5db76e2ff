package teacher

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/distill-dev/distill/internal/tokens"
)

// BuiltinModel is the model name of the builtin teacher.
const BuiltinModel = "builtin"

// BuiltinConfig sets the builtin teacher's seed and how often it makes each
// kind of mistake, so that every filter of the dataset stage has work. Rates
// are probabilities per completion, drawn independently. The zero value is a
// perfect teacher that never self-checks.
type BuiltinConfig struct {
	Seed uint64

	WrongRate       float64 // an arithmetic slip in one step, carried to a wrong final answer
	TruncateRate    float64 // cut off mid-reasoning: no answer, finish_reason "length"
	LanguageMixRate float64 // a Chinese phrase inside the reasoning
	RepeatRate      float64 // overlong, repetitive reasoning (the steps redone many times)
	MissingTagsRate float64 // no think tags: reasoning and answer all in Content

	// CheckRate is how often a correct trace ends its reasoning with a
	// self-check ("Check: 267 - 198 = 69."). Style, not a mistake.
	CheckRate float64
}

// DefaultBuiltinConfig has small but nonzero imperfection rates.
func DefaultBuiltinConfig() BuiltinConfig {
	return BuiltinConfig{
		WrongRate:       0.04,
		TruncateRate:    0.03,
		LanguageMixRate: 0.03,
		RepeatRate:      0.03,
		MissingTagsRate: 0.02,
		CheckRate:       0.10,
	}
}

// Perfect returns c with every imperfection rate zero (seed and self-check
// rate kept).
func (c BuiltinConfig) Perfect() BuiltinConfig {
	return BuiltinConfig{Seed: c.Seed, CheckRate: c.CheckRate}
}

// Validate reports a rate outside [0, 1], naming it as its flag is named.
func (c BuiltinConfig) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"wrong-rate", c.WrongRate}, {"truncate-rate", c.TruncateRate}, {"language-mix-rate", c.LanguageMixRate},
		{"repeat-rate", c.RepeatRate}, {"missing-tags-rate", c.MissingTagsRate}, {"check-rate", c.CheckRate},
	} {
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("builtin teacher: %s %v: want a probability in [0, 1]", r.name, r.v)
		}
	}
	return nil
}

// Builtin is the embedded offline teacher. It answers the problems of its own
// suites and plain arithmetic questions, read back from the prompt text alone
// as a teacher behind HTTP would, with R1-format step-by-step traces.
type Builtin struct {
	cfg BuiltinConfig
}

// NewBuiltin returns a builtin teacher.
func NewBuiltin(cfg BuiltinConfig) *Builtin { return &Builtin{cfg: cfg} }

// Config returns the teacher's configuration.
func (b *Builtin) Config() BuiltinConfig { return b.cfg }

// errNoProblem is the message of the 422 error for prompts the builtin
// teacher cannot read.
const errNoProblem = "builtin teacher: no arithmetic problem found in the last user message (it answers builtin:arith problems and plain questions such as \"What is 12 + 30?\")"

// mixPhrases are what a model mixing languages writes between steps.
var mixPhrases = []string{"我们先计算这一步。", "所以结果是", "接下来，", "让我再检查一下。"}

// Complete answers req. The trace is a pure function of (config seed, last
// user message, req.Seed): give each sample its own Seed to vary them.
func (b *Builtin) Complete(ctx context.Context, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	text, ok := lastUser(req.Messages)
	if !ok {
		return Response{}, &Error{Status: 422, Kind: "client", Message: "builtin teacher: the request has no user message"}
	}
	sol, ok := readProblem(text)
	if !ok {
		return Response{}, &Error{Status: 422, Kind: "client", Message: errNoProblem}
	}
	var reqSeed uint64
	if req.Seed != nil {
		reqSeed = uint64(*req.Seed)
	}
	r := newRNG(b.cfg.Seed^mix64(reqSeed), fnv64(text))
	// Draw every decision, used or not, so each rate is an exact marginal.
	wrong := r.float() < b.cfg.WrongRate
	truncate := r.float() < b.cfg.TruncateRate
	mix := r.float() < b.cfg.LanguageMixRate
	repeat := r.float() < b.cfg.RepeatRate
	noTags := r.float() < b.cfg.MissingTagsRate
	check := r.float() < b.cfg.CheckRate

	if wrong {
		k := r.intn(len(sol.steps))
		deltas := [...]int64{1, -1, 2, -2, 10, -10}
		sol.steps[k].r += deltas[r.intn(len(deltas))]
		sol.recompute(k + 1)
	}

	buf := make([]byte, 0, 64*len(sol.steps)+32)
	mixAt := -1
	if mix {
		mixAt = r.intn(len(sol.steps) + 1)
	}
	for i, st := range sol.steps {
		if i == mixAt {
			buf = append(buf, mixPhrases[r.intn(len(mixPhrases))]...)
			buf = append(buf, '\n')
		}
		buf = appendStep(buf, sol.steps, st)
		buf = append(buf, '\n')
	}
	if mixAt == len(sol.steps) {
		buf = append(buf, mixPhrases[r.intn(len(mixPhrases))]...)
		buf = strconv.AppendInt(buf, sol.answer(), 10)
		buf = append(buf, "。\n"...)
	}
	if repeat {
		n := 8 + r.intn(16)
		for j := 0; j < n; j++ {
			buf = append(buf, "Wait, let me recompute.\n"...)
			for _, st := range sol.steps {
				buf = appendStep(buf, sol.steps, st)
				buf = append(buf, '\n')
			}
		}
	}
	if check && !wrong {
		buf = appendCheck(buf, sol.steps, sol.steps[len(sol.steps)-1])
	}
	reasoning := strings.TrimSuffix(string(buf), "\n")
	content := answerText(sol)

	resp := Response{Model: BuiltinModel, Reasoning: reasoning, Content: content, FinishReason: "stop"}
	if noTags {
		resp.Reasoning, resp.Content = "", reasoning+"\n\n"+content
	}
	budget := req.MaxTokens
	if truncate {
		// Cut somewhere in the reasoning, as a max_tokens limit would,
		// leaving at least one token of it.
		lo, full := 1, tokens.Estimate(resp.Content)
		if resp.Reasoning != "" {
			lo, full = thinkTagTokens+1, tokens.Estimate(resp.Reasoning)+thinkTagTokens
		}
		cut := lo + r.intn(max(full-lo, 1))
		if budget <= 0 || cut < budget {
			budget = cut
		}
	}
	if budget > 0 {
		resp = truncateTo(resp, budget)
	}
	resp.Usage = Usage{
		PromptTokens:     promptTokens(req.Messages),
		CompletionTokens: tokens.Estimate(resp.Content),
	}
	if resp.Reasoning != "" {
		resp.Usage.ReasoningTokens = tokens.Estimate(resp.Reasoning) + thinkTagTokens
		resp.Usage.CompletionTokens += resp.Usage.ReasoningTokens
	}
	return resp, nil
}

// thinkTagTokens counts "<think>\n" and "\n</think>\n\n" around the reasoning.
const thinkTagTokens = 4

func lastUser(msgs []Message) (string, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content, true
		}
	}
	return "", false
}

func answerText(sol solution) string {
	ans := strconv.FormatInt(sol.answer(), 10)
	if w := sol.word; w != nil {
		return w.name + " has \\boxed{" + ans + "} " + w.item + " now."
	}
	return "\\boxed{" + ans + "}"
}

// appendCheck verifies the last step by its inverse operation.
func appendCheck(dst []byte, steps []step, st step) []byte {
	a, b := st.a.value(steps), st.b.value(steps)
	var op byte
	switch st.op {
	case '+':
		op = '-'
	case '-':
		op = '+'
	case '*':
		if b == 0 {
			return dst
		}
		op = '/'
	case '/':
		op = '*'
	}
	dst = append(dst, "Check: "...)
	dst = strconv.AppendInt(dst, st.r, 10)
	dst = appendOp(dst, op)
	dst = strconv.AppendInt(dst, b, 10)
	dst = append(dst, " = "...)
	dst = strconv.AppendInt(dst, a, 10)
	return append(dst, '.')
}

// truncateTo keeps the first budget tokens of the completion (reasoning
// first, as a model writes it) and marks it cut by the length limit.
func truncateTo(resp Response, budget int) Response {
	rt := 0
	if resp.Reasoning != "" {
		rt = tokens.Estimate(resp.Reasoning) + thinkTagTokens
	}
	if rt+tokens.Estimate(resp.Content) <= budget {
		return resp
	}
	resp.FinishReason = "length"
	if rt >= budget {
		resp.Reasoning = prefixTokens(resp.Reasoning, budget-thinkTagTokens)
		resp.Content = ""
		return resp
	}
	resp.Content = prefixTokens(resp.Content, budget-rt)
	return resp
}

// prefixTokens returns the longest prefix of s with at most n tokens.
func prefixTokens(s string, n int) string {
	if n <= 0 {
		return ""
	}
	lo, hi := 0, len(s) // binary search on byte length at rune boundaries
	for lo < hi {
		mid := (lo + hi + 1) / 2
		for mid > 0 && mid < len(s) && !utf8.RuneStart(s[mid]) {
			mid--
		}
		if mid <= lo {
			break
		}
		if tokens.Estimate(s[:mid]) <= n {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return s[:lo]
}

// promptTokens counts the messages plus a few tokens of chat template each.
func promptTokens(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		n += tokens.Estimate(m.Content) + 4
	}
	return n
}

// fnv64 is FNV-1a over s, without the allocation hash/fnv needs for a string.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

package rl

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// BenchmarkGRPOUpdate times one GRPO update (reference forward, policy
// forward, coefficients, backward, AdamW) of 64 completions against the
// plain forward+backward of the same rows (what SFT would pay for them),
// measured in the same run, at the qwen-nano shape. The ratio is the
// overhead of the objective: about 1 without a reference model, about 1.3
// with one (an extra forward pass).
func BenchmarkGRPOUpdate(b *testing.B) {
	for _, beta := range []float64{0, 0.001} {
		name := "beta=0"
		if beta != 0 {
			name = "beta=0.001"
		}
		b.Run(name, func(b *testing.B) {
			r, groups := benchRun(b, beta)
			bt, _ := r.collect(&r.t.State, groups, groups)
			var grpo, plain time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := r.update(&r.t.State, groups, groups, r.t.Update(0)); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				r.pol.ZeroGrads()
				if err := r.chunks(bt, func(cs []*sequence) error {
					if _, err := r.pol.Forward(bt.rows.tokens, bt.rows.targets, nil); err != nil {
						return err
					}
					for i, t := range bt.rows.targets {
						bt.rows.coef[i] = 0
						if t >= 0 {
							bt.rows.coef[i] = 1
						}
					}
					return r.pol.Backward(bt.rows.coef)
				}); err != nil {
					b.Fatal(err)
				}
				grpo += t1.Sub(t0)
				plain += time.Since(t1)
			}
			b.ReportMetric(float64(grpo)/float64(plain), "grpo/fwd+bwd")
			b.ReportMetric(float64(grpo.Milliseconds())/float64(b.N), "grpo-ms/update")
		})
	}
}

func benchRun(b *testing.B, beta float64) (*run, []*group) {
	tok := tokenizer.NewByteLevel(nil)
	tmpl, _ := tokenizer.TemplateFor("chatml")
	cfg, err := model.LookupPreset("qwen-nano")
	if err != nil {
		b.Fatal(err)
	}
	cfg.VocabSize = tok.VocabSize()
	w := model.NewWeights(cfg)
	w.Init(1)
	dir := filepath.Join(b.TempDir(), "nano")
	if err := (&student.Student{Weights: w, Tok: tok, Template: tmpl}).Save(dir, checkpoint.GenerationConfig{}); err != nil {
		b.Fatal(err)
	}
	o := Defaults
	o.Model, o.Out = dir, b.TempDir()
	o.Rewards = map[string]float64{"accuracy": 1}
	o.Beta, o.MicroBatch = beta, 32
	o.PromptsPerStep, o.NumGenerations, o.MaxNewTokens = 8, 8, 64
	if err := o.fill(); err != nil {
		b.Fatal(err)
	}
	r := &run{o: &o, obj: Objective{Epsilon: o.Epsilon, Beta: o.Beta}, prompts: testPrompts(8, 0)}
	if r.rs, err = reward.Resolve(o.Rewards); err != nil {
		b.Fatal(err)
	}
	if err := r.setup(); err != nil {
		b.Fatal(err)
	}
	groups, err := rollout(context.Background(), r.st, &o, r.rs, r.prompts, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, g := range groups { // every completion carries a gradient
		for i := range g.adv {
			g.adv[i] = float64(i%2)*2 - 1
		}
	}
	return r, groups
}

package rl

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/studenttest"
)

// setupRun builds a run of GRPO on the tiny model init, with adapters of
// the given rank on targets (rank 0: every weight), a reference that
// differs from the policy (beta 0.5) and two iterations per batch.
func setupRun(t *testing.T, init string, rank int, targets string) *run {
	t.Helper()
	o := digitOptions(t, init)
	o.Beta, o.NumIterations, o.MicroBatch = 0.5, 2, 3
	o.PromptsPerStep, o.NumGenerations, o.MaxNewTokens = 2, 4, 6
	o.LoRARank, o.LoRATargets = rank, targets
	return newRun(t, o, testPrompts(4, 0))
}

// closeTo reports whether got is within tol of want, relative to scale.
func closeTo(got, want, scale, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(scale, 1e-3)
}

// A GRPO step with adapters (B ≠ 0) is a step of the merged model W +
// (alpha/rank)·B·A: the same sampling weights, the same per-token
// log-probabilities of the policy and (adapters disabled) of the
// reference, the same objective, and adapter gradients that are the chain
// rule of the merged weight's gradient dW: dB = s·dW·Aᵀ, dA = s·Bᵀ·dW.
func TestGRPOLoRAMatchesMerged(t *testing.T) {
	init := studenttest.Tiny(t, 3)
	for _, targets := range []string{"all-linear", "q_proj,v_proj"} {
		t.Run(targets, func(t *testing.T) {
			ad, merged := setupRun(t, init, 4, targets), setupRun(t, init, 0, "")
			a := ad.t.Adapters
			if a == nil || merged.t.Adapters != nil {
				t.Fatal("want adapters on one run only")
			}
			rng := rand.New(rand.NewPCG(5, 5))
			for i := range a.List {
				for j := range a.List[i].B.Data {
					a.List[i].B.Data[j] = float32(0.05 * rng.NormFloat64())
				}
			}
			a.AddTo(merged.st.Weights)

			// The rollouts sample from the merged weights.
			pol := ad.t.Policy(nil).Params()
			for i, p := range merged.st.Weights.Params() {
				for j, x := range p.Tensor.Data {
					if pol[i].Tensor.Data[j] != x {
						t.Fatalf("sampling weights %s[%d] = %g, merged model %g", p.Name, j, pol[i].Tensor.Data[j], x)
					}
				}
			}

			groups, err := rollout(context.Background(), merged.st, merged.o, merged.rs, merged.prompts[:2], 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range groups { // fixed advantages: the test does not depend on what was sampled
				for i := range g.adv {
					g.adv[i] = float64(i%3) - 1
				}
			}
			var res [2]objectiveResult
			var bs [2]*batch
			for k, r := range []*run{ad, merged} {
				b, _ := r.collect(&r.t.State, groups, groups)
				if err := r.logProbs(b); err != nil {
					t.Fatal(err)
				}
				for j, s := range b.seqs { // some ratios leave the clip range
					for i := range s.old {
						s.old[i] += 0.3 * float64((j+i)%3-1)
					}
				}
				r.pol.ZeroGrads()
				if res[k], err = r.objective(b, true); err != nil {
					t.Fatal(err)
				}
				bs[k] = b
			}
			for j, s := range bs[0].seqs {
				m := bs[1].seqs[j]
				for i := range s.n {
					if s.ref[i] != m.ref[i] {
						t.Fatalf("sequence %d token %d: reference log-prob %g with adapters, %g merged: the reference is not the base", j, i, s.ref[i], m.ref[i])
					}
					if !closeTo(s.old[i], m.old[i], 1, 1e-4) {
						t.Fatalf("sequence %d token %d: policy log-prob %g with adapters, %g merged", j, i, s.old[i], m.old[i])
					}
				}
			}
			if !closeTo(res[0].loss, res[1].loss, math.Abs(res[1].loss), 1e-4) || !closeTo(res[0].kl, res[1].kl, res[1].kl, 1e-4) ||
				res[0].clipped != res[1].clipped {
				t.Fatalf("objective with adapters %+v, merged %+v", res[0], res[1])
			}
			if res[1].kl == 0 || res[1].clipped == 0 {
				t.Fatalf("merged objective %+v: want a KL term and clipped tokens", res[1])
			}

			_, grads := ad.pol.Trainable() // dA, dB of each adapter in a.List order
			s := a.Scale()
			for i := range a.List {
				A, B := a.List[i].A, a.List[i].B
				out, in, rank := B.Shape[0], A.Shape[1], a.Rank
				dW := lora.Base(merged.pol.Grads, a.List[i].Layer, a.List[i].Module).Data
				dA, dB := grads[2*i].Tensor.Data, grads[2*i+1].Tensor.Data
				wantA, wantB := make([]float64, rank*in), make([]float64, out*rank)
				for o := range out {
					for k := range rank {
						for j := range in {
							wantB[o*rank+k] += s * float64(dW[o*in+j]) * float64(A.Data[k*in+j])
							wantA[k*in+j] += s * float64(B.Data[o*rank+k]) * float64(dW[o*in+j])
						}
					}
				}
				for _, c := range []struct {
					name string
					got  []float32
					want []float64
				}{{"dA", dA, wantA}, {"dB", dB, wantB}} {
					var scale float64
					for _, x := range c.want {
						scale = math.Max(scale, math.Abs(x))
					}
					if scale == 0 {
						t.Fatalf("layer %d %s: zero reference gradient %s", a.List[i].Layer, a.List[i].Module, c.name)
					}
					for j, x := range c.want {
						if !closeTo(float64(c.got[j]), x, scale, 1e-3) {
							t.Fatalf("layer %d %s %s[%d] = %g, chain rule of the merged gradient gives %g (scale %g)",
								a.List[i].Layer, a.List[i].Module, c.name, j, c.got[j], x, scale)
						}
					}
				}
			}
		})
	}
}

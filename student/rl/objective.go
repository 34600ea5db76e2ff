package rl

import "math"

// Objective holds the constants of the GRPO loss of one token t of a
// completion with advantage A:
//
//	r_t  = exp(logp_t - old_t)
//	L_t  = -min(r_t·A, clip(r_t, 1-Epsilon, 1+EpsilonHigh)·A) + Beta·k3_t
//	k3_t = exp(ref_t - logp_t) - (ref_t - logp_t) - 1   (Schulman's KL estimator)
//
// and the batch loss is Σ_t L_t / T over all T completion tokens of the
// batch (token-level aggregation, as DAPO and TRL's "token" loss).
type Objective struct {
	Epsilon     float64
	EpsilonHigh float64 // upper clip; 0 means Epsilon (symmetric)
	Beta        float64
}

// Token is one completion token's inputs to the loss.
type Token struct {
	LogP, Old, Ref float64 // log-probabilities under the policy, the sampling policy, the reference
	Adv            float64
}

func (o Objective) high() float64 {
	if o.EpsilonHigh > 0 {
		return o.EpsilonHigh
	}
	return o.Epsilon
}

// Loss is L_t of one token (before the 1/T), with its clipped flag: the
// clipped branch is the smaller one, so the token gives no policy gradient.
func (o Objective) Loss(t Token) (loss float64, clipped bool) {
	r := math.Exp(t.LogP - t.Old)
	rc := min(max(r, 1-o.Epsilon), 1+o.high())
	pg := min(r*t.Adv, rc*t.Adv)
	clipped = rc*t.Adv < r*t.Adv
	return -pg + o.Beta*k3(t), clipped
}

// Coef is -dL_t/dlogp_t, the coefficient graph.Backward takes (it
// accumulates the gradient of -Σ coef·logp), before the 1/T:
//
//	unclipped branch: d(r·A)/dlogp = r·A;  clipped branch: 0 (rc is constant)
//	KL term: d k3/dlogp = 1 - exp(ref - logp)
//	coef = [r·A if not clipped] - Beta·(1 - exp(ref - logp))
func (o Objective) Coef(t Token) (coef float64, clipped bool) {
	r := math.Exp(t.LogP - t.Old)
	rc := min(max(r, 1-o.Epsilon), 1+o.high())
	clipped = rc*t.Adv < r*t.Adv
	if !clipped {
		coef = r * t.Adv
	}
	if o.Beta != 0 {
		coef -= o.Beta * (1 - math.Exp(t.Ref-t.LogP))
	}
	return coef, clipped
}

// k3 is the KL estimator of the policy from the reference at one token;
// always ≥ 0, and 0 where the two agree.
func k3(t Token) float64 {
	d := t.Ref - t.LogP
	return math.Exp(d) - d - 1
}

package rl

import (
	"math"
	"testing"
)

// The coefficient Backward takes must be -dL/dlogp: checked against central
// finite differences of Loss in float64, on both sides of each clip and
// with and without the KL term.
func TestCoefFiniteDifference(t *testing.T) {
	objs := []Objective{
		{Epsilon: 0.2, Beta: 0},
		{Epsilon: 0.2, Beta: 0.04},
		{Epsilon: 0.2, EpsilonHigh: 0.28, Beta: 0.001},
	}
	tokens := []struct {
		name string
		tok  Token
	}{
		{"ratio 1, positive advantage", Token{LogP: -1.2, Old: -1.2, Ref: -1.0, Adv: 0.8}},
		{"ratio 1, negative advantage", Token{LogP: -2.0, Old: -2.0, Ref: -2.5, Adv: -1.3}},
		{"inside the clip range", Token{LogP: -1.0, Old: -1.1, Ref: -0.7, Adv: 0.5}},
		{"above the range, A>0 (clipped)", Token{LogP: -0.5, Old: -1.0, Ref: -0.9, Adv: 1.1}},
		{"above the range, A<0 (not clipped)", Token{LogP: -0.5, Old: -1.0, Ref: -0.9, Adv: -1.1}},
		{"below the range, A<0 (clipped)", Token{LogP: -2.0, Old: -1.0, Ref: -1.5, Adv: -0.7}},
		{"below the range, A>0 (not clipped)", Token{LogP: -2.0, Old: -1.0, Ref: -1.5, Adv: 0.7}},
		{"zero advantage", Token{LogP: -3.0, Old: -2.9, Ref: -1.0, Adv: 0}},
	}
	const h = 1e-6
	for _, o := range objs {
		for _, tc := range tokens {
			coef, clipped := o.Coef(tc.tok)
			up, dn := tc.tok, tc.tok
			up.LogP += h
			dn.LogP -= h
			lu, _ := o.Loss(up)
			ld, _ := o.Loss(dn)
			fd := -(lu - ld) / (2 * h)
			if math.Abs(fd-coef) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("%+v %s: coef %.9f, finite difference %.9f", o, tc.name, coef, fd)
			}
			_, lclip := o.Loss(tc.tok)
			if lclip != clipped {
				t.Errorf("%+v %s: Coef says clipped=%v, Loss says %v", o, tc.name, clipped, lclip)
			}
		}
	}
}

// With the ratio at 1 (μ = 1) the coefficient is the advantage plus the KL
// pull, and k3 is zero exactly where policy and reference agree.
func TestCoefAtRatioOne(t *testing.T) {
	o := Objective{Epsilon: 0.2, Beta: 0.1}
	tok := Token{LogP: -1, Old: -1, Ref: -1, Adv: 0.37}
	if c, clipped := o.Coef(tok); c != 0.37 || clipped {
		t.Errorf("coef %v clipped %v, want 0.37 false", c, clipped)
	}
	if k := k3(tok); k != 0 {
		t.Errorf("k3 %v at ref = logp, want 0", k)
	}
	// the policy more likely than the reference: the KL term pushes logp down
	tok.Ref = -2
	if c, _ := o.Coef(tok); c >= 0.37 {
		t.Errorf("coef %v: KL should lower it below the advantage", c)
	}
}

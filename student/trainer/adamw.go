package trainer

import (
	"math"
	"strings"

	"github.com/distill-dev/distill/student/model"
)

// adamW is Adam with decoupled weight decay (Loshchilov & Hutter), as
// torch.optim.AdamW. Decay applies to matrices only, not to norms, biases or
// (as in nanoGPT) anything one-dimensional.
type adamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	Step                           int64       // updates done
	M, V                           [][]float32 // moments, one per parameter, in Params() order
}

// newAdamW allocates the moments for params.
func newAdamW(params []model.Named, beta1, beta2, eps, weightDecay float64) *adamW {
	o := &adamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay}
	for _, p := range params {
		o.M = append(o.M, make([]float32, len(p.Tensor.Data)))
		o.V = append(o.V, make([]float32, len(p.Tensor.Data)))
	}
	return o
}

func decays(p model.Named) bool {
	return len(p.Tensor.Shape) >= 2 && !strings.HasSuffix(p.Name, "norm.weight")
}

// Update applies one step with learning rate lr: params -= lr·(m̂/(√v̂+eps) + wd·params).
func (o *adamW) Update(params, grads []model.Named, lr float64) {
	o.Step++
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1 := 1 - math.Pow(o.Beta1, float64(o.Step))
	c2 := 1 - math.Pow(o.Beta2, float64(o.Step))
	stepSize := float32(lr / c1)
	invC2 := float32(1 / c2)
	eps := float32(o.Eps)
	for i, p := range params {
		w, g, m, v := p.Tensor.Data, grads[i].Tensor.Data, o.M[i], o.V[i]
		decay := float32(1)
		if o.WeightDecay != 0 && decays(p) {
			decay = float32(1 - lr*o.WeightDecay)
		}
		for j := range w {
			gj := g[j]
			m[j] = b1*m[j] + (1-b1)*gj
			v[j] = b2*v[j] + (1-b2)*gj*gj
			w[j] = w[j]*decay - stepSize*m[j]/(float32(math.Sqrt(float64(v[j]*invC2)))+eps)
		}
	}
}

// clipGradNorm scales grads so that their global L2 norm is at most max (no
// clipping when max <= 0) and returns the norm before clipping.
func clipGradNorm(grads []model.Named, max float64) float64 {
	var ss float64
	for _, g := range grads {
		for _, x := range g.Tensor.Data {
			ss += float64(x) * float64(x)
		}
	}
	norm := math.Sqrt(ss)
	if max > 0 && norm > max {
		s := float32(max / (norm + 1e-6))
		for _, g := range grads {
			for j := range g.Tensor.Data {
				g.Tensor.Data[j] *= s
			}
		}
	}
	return norm
}

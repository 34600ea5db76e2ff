package model

// swiglu computes the gated activation of the MLP in place:
// gate = silu(gate) * up, with silu(x) = x·σ(x). The projections around it
// (gate/up before, down after) are matrix products in forward.go.
//
//	gate, up: [n, I]
func swiglu(gate, up []float32) {
	for i, g := range gate {
		gate[i] = g / (1 + expf(-g)) * up[i]
	}
}

package graph

// embedForward looks up token rows:
//
//	tokens [n], E [V,h] -> x [n,h] = E[tokens]
func embedForward[T Float](x, e []T, tokens []int32, h int) {
	for r, t := range tokens {
		copy(x[r*h:(r+1)*h], e[int(t)*h:(int(t)+1)*h])
	}
}

// embedBackward scatters the gradient back: dE[tokens[r]] += dx[r].
func embedBackward[T Float](de, dx []T, tokens []int32, h int) {
	for r, t := range tokens {
		axpy(1, dx[r*h:(r+1)*h], de[int(t)*h:(int(t)+1)*h])
	}
}

// embedOp: E [V,h] and the bound tokens [n] -> x [n,h].
type embedOp[T Float] struct {
	tokens *[]int32
	h      int
}

func (o *embedOp[T]) name() string          { return "Embedding" }
func (o *embedOp[T]) fwd(in [][]T, out []T) { embedForward(out, in[0], *o.tokens, o.h) }
func (o *embedOp[T]) bwd(_, dIn [][]T, _, dOut []T) {
	if dIn[0] == nil { // frozen
		return
	}
	embedBackward(dIn[0], dOut, *o.tokens, o.h)
}

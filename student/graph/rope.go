package graph

import (
	"github.com/distill-dev/distill/student/kernel"
	"github.com/distill-dev/distill/student/model"
)

// ropeTables fills cos and sin [maxPos, d/2] for positions 0..maxPos-1.
func ropeTables[T Float](cfg *model.Config, maxPos int) (cos, sin []T) {
	inv := model.RopeInvFreq(cfg)
	pos := make([]int, maxPos)
	for p := range pos {
		pos[p] = p
	}
	cos, sin = make([]T, maxPos*len(inv)), make([]T, maxPos*len(inv))
	kernel.RopeTables(cos, sin, inv, pos)
	return cos, sin
}

// ropeForward rotates every head of every row by its position (kernel.Rope):
//
//	x [n, heads*d], pos [n] -> y [n, heads*d]
func ropeForward[T Float](y, x, cos, sin []T, pos []int32, heads, d int) {
	half, row := d/2, heads*d
	for r, p := range pos {
		kernel.Rope(y[r*row:(r+1)*row], x[r*row:(r+1)*row], cos[int(p)*half:(int(p)+1)*half], sin[int(p)*half:(int(p)+1)*half])
	}
}

// ropeBackward accumulates dx += R(pos)ᵀ·dy, the inverse rotation.
func ropeBackward[T Float](dx, dy, cos, sin []T, pos []int32, heads, d int) {
	half := d / 2
	for r, p := range pos {
		c, s := cos[int(p)*half:(int(p)+1)*half], sin[int(p)*half:(int(p)+1)*half]
		for h := range heads {
			o := (r*heads + h) * d
			g1, g2 := dy[o:o+half], dy[o+half:o+d]
			d1, d2 := dx[o:o+half], dx[o+half:o+d]
			for i := range half {
				a, b := g1[i], g2[i]
				d1[i] += a*c[i] + b*s[i]
				d2[i] += b*c[i] - a*s[i]
			}
		}
	}
}

// ropeOp: x [n, heads*d] and the bound positions [n] -> rotated x.
type ropeOp[T Float] struct {
	heads, d int
	cos, sin []T
	pos      *[]int32
}

func (o *ropeOp[T]) name() string { return "RoPE" }
func (o *ropeOp[T]) fwd(in [][]T, out []T) {
	pos, row := *o.pos, o.heads*o.d
	parallelFor(workers(), len(pos), func(_, lo, hi int) {
		ropeForward(out[lo*row:hi*row], in[0][lo*row:hi*row], o.cos, o.sin, pos[lo:hi], o.heads, o.d)
	})
}
func (o *ropeOp[T]) bwd(_, dIn [][]T, _, dOut []T) {
	pos, row := *o.pos, o.heads*o.d
	parallelFor(workers(), len(pos), func(_, lo, hi int) {
		ropeBackward(dIn[0][lo*row:hi*row], dOut[lo*row:hi*row], o.cos, o.sin, pos[lo:hi], o.heads, o.d)
	})
}

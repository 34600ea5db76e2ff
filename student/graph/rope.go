package graph

import (
	"math"

	"github.com/distill-dev/distill/student/model"
)

// ropeTables fills cos and sin [maxPos, d/2] for positions 0..maxPos-1.
func ropeTables[T Float](cfg *model.Config, maxPos int) (cos, sin []T) {
	inv := model.RopeInvFreq(cfg)
	half := len(inv)
	cos, sin = make([]T, maxPos*half), make([]T, maxPos*half)
	for p := range maxPos {
		for i, f := range inv {
			a := float64(p) * f
			cos[p*half+i], sin[p*half+i] = T(math.Cos(a)), T(math.Sin(a))
		}
	}
	return cos, sin
}

// ropeForward rotates every head of every row by its position, as HF's
// apply_rotary_pos_emb with rotate_half (pairs are i and i+d/2):
//
//	x [n, heads*d], pos [n] -> y [n, heads*d]
func ropeForward[T Float](y, x, cos, sin []T, pos []int32, heads, d int) {
	half := d / 2
	for r, p := range pos {
		c, s := cos[int(p)*half:(int(p)+1)*half], sin[int(p)*half:(int(p)+1)*half]
		for h := range heads {
			o := (r*heads + h) * d
			x1, x2 := x[o:o+half], x[o+half:o+d]
			y1, y2 := y[o:o+half], y[o+half:o+d]
			for i := range half {
				a, b := x1[i], x2[i]
				y1[i] = a*c[i] - b*s[i]
				y2[i] = b*c[i] + a*s[i]
			}
		}
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
	ropeForward(out, in[0], o.cos, o.sin, *o.pos, o.heads, o.d)
}
func (o *ropeOp[T]) bwd(_, dIn [][]T, _, dOut []T) {
	ropeBackward(dIn[0], dOut, o.cos, o.sin, *o.pos, o.heads, o.d)
}

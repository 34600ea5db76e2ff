package graph

import (
	"fmt"
	"hash"
	"hash/fnv"
	"slices"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// value is one tensor of the graph: its data, its gradient and its
// gorgonia node. Parameters alias the model's weights and gradients; the
// others are activations allocated once in New.
type value[T Float] struct {
	data, grad []T
	shape      tensor.Shape
	node       *G.Node
	dense      *tensor.Dense // data as a gorgonia Value, no copy
	shared     bool          // gradient buffer (and with gradient checkpointing data buffer) shared by the layers
}

// kernelImpl is what a fused op computes, on raw slices:
//
//	fwd: inputs -> out
//	bwd: dOut -> dIn[i] += ∂out/∂in[i]ᵀ·dOut, for each input
type kernelImpl[T Float] interface {
	name() string
	fwd(in [][]T, out []T)
	bwd(in, dIn [][]T, out, dOut []T)
}

// fusedOp is a gorgonia Op around a kernel. Inside the graph it is an
// ordinary node (typed, shaped, sortable, runnable by a gorgonia VM through
// Do); the trainer's own executor calls forward and backward on the bound
// buffers so that a step allocates nothing.
type fusedOp[T Float] struct {
	impl  kernelImpl[T]
	id    int
	layer int // decoder layer the op belongs to, -1 for embedding and head
	typ   hm.Type
	in    []*value[T]
	out   *value[T]

	ins, dIns [][]T // bound slices, prepared once

	// group, when set, holds this op and the linear layers of the same
	// input whose forward passes run as one (see together): the executor
	// calls forward on the first of them it meets and skips the others.
	group linearGroup[T]
}

var _ G.Op = (*fusedOp[float32])(nil)

func (op *fusedOp[T]) forward() {
	if op.group != nil {
		op.group.forward()
		return
	}
	op.impl.fwd(op.ins, op.out.data)
}

func (op *fusedOp[T]) backward() { op.impl.bwd(op.ins, op.dIns, op.out.data, op.out.grad) }

func (op *fusedOp[T]) Arity() int       { return len(op.in) }
func (op *fusedOp[T]) Type() hm.Type    { return op.typ }
func (op *fusedOp[T]) ReturnsPtr() bool { return true }

// CallsExtern is false: BLAS calls are synchronous cgo, nothing for a VM to
// schedule on a device.
func (op *fusedOp[T]) CallsExtern() bool     { return false }
func (op *fusedOp[T]) OverwritesInput() int  { return -1 }
func (op *fusedOp[T]) String() string        { return fmt.Sprintf("%s#%d", op.impl.name(), op.id) }
func (op *fusedOp[T]) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *fusedOp[T]) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *fusedOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.out.shape.Clone(), nil
}

// Do runs the kernel on the given values (as a gorgonia VM calls it) into
// the op's preallocated output, which it returns.
func (op *fusedOp[T]) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != len(op.in) {
		return nil, fmt.Errorf("%v: %d inputs, want %d", op, len(vals), len(op.in))
	}
	ins := make([][]T, len(vals))
	for i, v := range vals {
		d, ok := v.Data().([]T)
		if !ok {
			return nil, fmt.Errorf("%v: input %d holds %T", op, i, v.Data())
		}
		ins[i] = d
	}
	op.impl.fwd(ins, op.out.data)
	return op.out.dense, nil
}

// builder creates the graph's values and fused ops in execution order.
type builder[T Float] struct {
	g      *G.ExprGraph
	dtype  tensor.Dtype
	ops    []*fusedOp[T]
	acts   []*value[T]
	nextID int

	layer int // the layer being built, -1 outside the decoder layers

	// With sharing on, apply gives the k-th value of a shared stretch (a
	// layer's intermediates) the gradient buffer of the k-th value of the
	// first one: a layer's backward pass needs no other layer's
	// intermediate gradients, so every layer can keep them in one set of
	// buffers. With shareValues too, the data buffer as well: gradient
	// checkpointing rebuilds a layer's intermediates before its backward
	// pass.
	sharing, shareValues bool
	pool                 []*value[T]
	next                 int
}

func newBuilder[T Float]() *builder[T] {
	var z T
	dt := tensor.Float32
	if _, ok := any(z).(float64); ok {
		dt = tensor.Float64
	}
	return &builder[T]{g: G.NewGraph(), dtype: dt, layer: -1}
}

// share starts (on) or ends a stretch of values whose gradient buffers, and
// with values their data buffers, are shared with the same positions of the
// first stretch.
func (b *builder[T]) share(on, values bool) {
	b.sharing, b.shareValues, b.next = on, values, 0
}

// buffers returns the data and gradient slices of a new value of size
// elements: fresh, or the pool's in a shared stretch.
func (b *builder[T]) buffers(size int) (data, grad []T, err error) {
	if !b.sharing {
		return make([]T, size), make([]T, size), nil
	}
	defer func() { b.next++ }()
	if b.next == len(b.pool) {
		v := &value[T]{grad: make([]T, size)}
		if b.shareValues {
			v.data = make([]T, size)
		}
		b.pool = append(b.pool, v)
	}
	v := b.pool[b.next]
	if len(v.grad) != size {
		return nil, nil, fmt.Errorf("graph: shared value %d has %d elements, want %d (layers differ in shape)", b.next, len(v.grad), size)
	}
	if !b.shareValues {
		return make([]T, size), v.grad, nil
	}
	return v.data, v.grad, nil
}

// together makes the forward passes of the plain linear layers producing
// vs (all of the same input) run as one, so that their products share the
// workers whole (see linearsForward); layers with an adapter keep their
// own.
func (b *builder[T]) together(vs ...*value[T]) {
	g := make(linearGroup[T], 0, len(vs))
	for _, op := range b.ops {
		if slices.Contains(vs, op.out) {
			if _, ok := op.impl.(*linearOp[T]); !ok {
				return
			}
			g = append(g, op)
		}
	}
	for _, op := range g {
		op.group = g
	}
}

// param adds an input node over existing data and gradient slices.
func (b *builder[T]) param(name string, data, grad []T, shape ...int) *value[T] {
	d := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	n := G.NewTensor(b.g, b.dtype, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(d))
	return &value[T]{data: data, grad: grad, shape: tensor.Shape(shape), node: n, dense: d}
}

// apply adds a fused op producing a new activation of the given shape.
func (b *builder[T]) apply(impl kernelImpl[T], shape []int, in ...*value[T]) (*value[T], error) {
	size := 1
	for _, s := range shape {
		size *= s
	}
	data, grad, err := b.buffers(size)
	if err != nil {
		return nil, err
	}
	out := &value[T]{data: data, grad: grad, shape: tensor.Shape(shape), shared: b.sharing}
	out.dense = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	types := make([]hm.Type, 0, len(in)+1)
	children := make([]*G.Node, len(in))
	for i, v := range in {
		types = append(types, v.node.Type())
		children[i] = v.node
	}
	types = append(types, G.TensorType{Dims: len(shape), Of: b.dtype})
	b.nextID++
	op := &fusedOp[T]{impl: impl, id: b.nextID, layer: b.layer, typ: hm.NewFnType(types...), in: in, out: out}
	op.ins, op.dIns = make([][]T, len(in)), make([][]T, len(in))
	for i, v := range in {
		op.ins[i], op.dIns[i] = v.data, v.grad
	}
	n, err := G.ApplyOp(op, children...)
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", impl.name(), err)
	}
	out.node = n
	b.ops = append(b.ops, op)
	b.acts = append(b.acts, out)
	return out, nil
}

package compiler

import (
	"math"

	"github.com/dave/jennifer/jen"
)

// elementwise describes an activation applied to every value on its own: its generated
// forward value of v (or forward kernel) and backward gradient in terms of the output y and its gradient dy
// (float32), and the same in float64 for the reference, with the input x at hand too.
type elementwise struct {
	forward  func(v jen.Code) jen.Code
	backward jen.Code
	// forwardKernel, if set, names the runtime kernel that computes the forward pass in
	// place, on a copy of the input, instead of forward: func(x []float32).
	forwardKernel string
	// backwardKernel, if set, names the runtime kernel that computes the backward pass in
	// place, from y, on a copy of dy, instead of backward: func(y, dy []float32).
	backwardKernel string
	ref            func(x float64) float64
	refGrad        func(x, y float64) float64
	// helper, if any, is a package-level function backward calls, emitted once.
	helper     string
	helperCode []jen.Code
}

// emit returns the activation's layer code: one loop over the values forward, one
// backward.
func (a elementwise) emit(e Emitter, i int, l *Layer) LayerCode {
	if a.helper != "" {
		e.Helper(a.helper, a.helperCode...)
	}
	fwd := e.Views(i, "in", "out")
	if a.forwardKernel != "" {
		fwd = append(fwd, jen.Copy(id("out"), id("in")), kernel(a.forwardKernel).Call(id("out")))
	} else {
		fwd = append(fwd, jen.For(list(id("j"), id("v")).Op(":=").Range().Id("in")).Block(
			id("out").Index(id("j")).Op("=").Add(a.forward(id("v")))))
	}
	bwd := e.Views(i, "out", "dout", "din")
	if a.backwardKernel != "" {
		bwd = append(bwd, jen.Copy(id("din"), id("dout")), kernel(a.backwardKernel).Call(id("out"), id("din")))
		return LayerCode{Forward: fwd, Input: bwd}
	}
	bwd = append(bwd, jen.For(list(id("j"), id("y")).Op(":=").Range().Id("out")).Block(
		id("dy").Op(":=").Id("dout").Index(id("j")),
		id("din").Index(id("j")).Op("=").Add(a.backward)))
	return LayerCode{Forward: fwd, Input: bwd}
}

// forward64 is the float64 reference of the activation.
func (a elementwise) forward64(_ *Layer, r *Ref) []float64 {
	y := make([]float64, len(r.In))
	for i, v := range r.In {
		y[i] = a.ref(v)
	}
	return y
}

// backward64 multiplies dy by the activation's derivative.
func (a elementwise) backward64(_ *Layer, r *Ref, dy []float64) []float64 {
	dx := make([]float64, len(dy))
	for i := range dy {
		dx[i] = dy[i] * a.refGrad(r.In[i], r.Out[i])
	}
	return dx
}

// onnxNode returns the ONNX function of an activation that is one node without
// attributes.
func onnxNode(op string) func(g ONNXGraph, l *Layer) {
	return func(g ONNXGraph, l *Layer) { g.Node(op, l.Name, l.Name+"/out", []string{g.Cur()}) }
}

// kinkAtZero is the Kink64 of an activation whose derivative jumps at 0 (ReLU, leaky
// ReLU): the smallest magnitude among its inputs. Exact zeros do not count: a value that
// is 0 because a ReLU before made it so stays 0 under small changes of the parameters.
func kinkAtZero(_ *Layer, in []float64, _ int, _ []int32) float64 {
	dist := math.Inf(1)
	for _, v := range in {
		if v != 0 {
			dist = math.Min(dist, math.Abs(v))
		}
	}
	return dist
}

// positive reports whether input i of a ReLU or leaky ReLU counts as positive in the
// forward pass: whether it is > 0, or, in a Frozen pass, whether it was (see Ref).
func positive(r *Ref, i int) bool {
	return r.branch(i, func() int {
		if r.In[i] > 0 {
			return 1
		}
		return 0
	}) == 1
}

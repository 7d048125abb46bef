package compiler

import (
	"fmt"
	"strconv"
	"strings"
)

// Ref is what a layer's float64 reference (LayerType.Forward64 and Backward64) sees of a
// pass, in the layout package internal/reference documents: every buffer is batch images
// one after the other, each in C,H,W order.
type Ref struct {
	// Params are the network's flat parameters; DParams receives their gradients.
	Params, DParams []float64
	Batch           int
	Train           bool
	// Rand draws the uniform numbers in [0, 1) of dropout masks, in the order generated
	// code draws them.
	Rand func() float32
	// In and Out are the layer's input and output (Out is set for Backward64); Ins are a
	// merge's inputs (In is Ins[0]).
	In, Out []float64
	Ins     [][]float64
	// State is what Forward64 kept for Backward64 (dropout's mask).
	State []float64
	// Branches are the choices a layer that is not differentiable everywhere made in its
	// forward pass: for a ReLU, whether each input counted as positive; for a max pool,
	// the input index of each window's maximum. When Frozen, Forward64 takes them as
	// given instead of choosing again: a gradient check then differentiates the piece of
	// the function the unperturbed pass lies on, even when a step crosses a kink.
	Branches []int
	Frozen   bool
}

// branch returns choice k of a forward pass: choose()'s, recorded in r.Branches, or the
// recorded one when r is Frozen.
func (r *Ref) branch(k int, choose func() int) int {
	if r.Frozen {
		return r.Branches[k]
	}
	b := choose()
	r.Branches = append(r.Branches, b)
	return b
}

// at returns the index of (c, y, x) of image n in a batch buffer of images of shape s.
func at(s Shape, n, c, y, x int) int {
	return ((n*s.C+c)*s.H+y)*s.W + x
}

// ONNXGraph is what a layer's ONNX function sees of the graph being built (package onnx
// implements it). Values between nodes are named "<layer>/out", and "<layer>/<step>"
// inside a layer that takes several nodes.
type ONNXGraph interface {
	// Cur names the value flowing into the layer; Inputs names a merge's inputs.
	Cur() string
	Inputs() []string
	// Image makes the current value [N, C, H, W] again after a full layer, whose output
	// is flat ([N, features]); SetFlat says the layer's output is flat.
	Image(l *Layer)
	SetFlat()
	// Params are the network's flat parameters.
	Params() []float32
	// Weight adds a float initializer of the given shape and returns its name.
	Weight(name string, data []float32, dims ...int64) string
	// Node adds a node with one output, which becomes the current value.
	Node(op, name, out string, in []string, attrs ...ONNXAttr)
}

// ONNXAttr is one attribute of an ONNX node: an int, a list of ints or a float.
type ONNXAttr struct {
	Name  string
	Type  ONNXAttrType
	Int   int64
	Ints  []int64
	Float float32
}

// ONNXAttrType is the type of an ONNXAttr's value.
type ONNXAttrType int

// The attribute types netc writes.
const (
	AttrInt ONNXAttrType = iota
	AttrInts
	AttrFloat
)

func intAttr(name string, v int64) ONNXAttr { return ONNXAttr{Name: name, Type: AttrInt, Int: v} }

func intsAttr(name string, vs ...int64) ONNXAttr {
	return ONNXAttr{Name: name, Type: AttrInts, Ints: vs}
}

func floatAttr(name string, v float32) ONNXAttr {
	return ONNXAttr{Name: name, Type: AttrFloat, Float: v}
}

// LossArgs is what a loss's reference (LayerType.Loss64) sees besides the scores.
type LossArgs struct {
	Batch  int
	Labels []int32
	// Targets are the euclidean loss's regression targets (batch × outputs), or nil for
	// one-hot labels.
	Targets []float64
	// Smoothing is the softmax loss's label smoothing ε (nn.Workspace.LabelSmoothing).
	Smoothing float64
}

// lossRows is the float64 reference of a loss computed image by image: f gets image img's
// row of scores and of their gradient, writes the gradient, and returns the image's share
// of the batch's mean loss; lossRows returns the mean loss and the gradient of the batch.
func lossRows(l *Layer, s []float64, batch int, f func(img int, row, drow []float64) float64) (float64, []float64) {
	n := l.In.Size()
	ds := make([]float64, len(s))
	loss := 0.0
	for img := range batch {
		loss += f(img, s[img*n:(img+1)*n], ds[img*n:(img+1)*n])
	}
	return loss, ds
}

// PyTorchModule is what a layer's PyTorch function sees of the nn.Module being written
// (package pytorch implements it). forward's values are Python variables; a full layer's
// output is flat ([N, features]), every other value an image ([N, C, H, W]).
type PyTorchModule interface {
	// In is the expression of the layer's k-th input as it is; Flat says whether the
	// first is flat.
	In(k int) string
	Flat() bool
	// Image is the layer's k-th input as [N, C, H, W], reshaped if it is flat.
	Image(k int) string
	// SetFlat says the layer's output is flat.
	SetFlat()
	// Module declares the layer's submodule in __init__, self.<layer> = ctor, and returns
	// how forward calls it.
	Module(ctor string) string
	// Helper adds a module-level definition (a class or function) to the file, once
	// under its name.
	Helper(name, def string)
}

// PyFloat formats a float as a Python float literal: the shortest form that reads back.
func PyFloat(v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// pyPair formats a pair of sizes as PyTorch's arguments take it: one number when both
// are equal, else a tuple.
func pyPair(a, b int) string {
	if a == b {
		return strconv.Itoa(a)
	}
	return fmt.Sprintf("(%d, %d)", a, b)
}

// pyActivation returns the PyTorch function of an activation that is one call on its
// input, e.g. "torch.tanh".
func pyActivation(fn string) func(m PyTorchModule, l *Layer) string {
	return func(m PyTorchModule, _ *Layer) string { return fn + "(" + m.In(0) + ")" }
}

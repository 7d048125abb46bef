package compiler

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dave/jennifer/jen"
)

// KernelsPath is the import path of the runtime kernels generated code calls.
const KernelsPath = "github.com/netc-dev/netc/runtime/kernels"

// LayerCode is what a layer emits: its forward and backward bodies, the backward in two
// parts: the gradients of its parameters, then the gradient with respect to its input.
// Per-image layers get (img, w) parameters — the image and the worker — and batch layers
// none. A conv layer with a batch norm folded in (LayerPlan.FoldBN) also emits its
// forward body at inference, Infer, and Fold, which computes the folded weights (into
// Buf(i, "FoldW"), "FoldB" and, for a direct convolution, "FoldPacked").
//
// A split batch layer (LayerPlan.Split) also emits per-image code that the per-image
// stages around it run: Gather at the end of the stage before, on each image as it is
// computed (its share of the layer's reduction), Forward then reduces the shares of the
// batch, and Scatter at the start of the stage after (the layer's output for the image).
// Backward likewise: GradGather at the end of the backward pass of the stage after,
// Backward, then GradScatter at the start of the backward pass of the stage before.
type LayerCode struct {
	Forward, Backward, Input []jen.Code
	Infer, Fold              []jen.Code
	Gather, Scatter          []jen.Code
	GradGather, GradScatter  []jen.Code
}

// Emitter is what a layer's Emit sees of the file being generated (package gen implements
// it). Buffers are fields of the generated state s; a per-image layer's views slice one
// image's part of them.
type Emitter interface {
	// Views declares the usual locals of a per-image layer i, by name: in, out, din, dout,
	// aux (the layer's auxiliary buffer), arg (max pooling's argmax).
	Views(i int, names ...string) []jen.Code
	// Buf is the whole-batch buffer part ("Out", "Grad", "Aux", "Arg", "Col", or a
	// layer-specific scratch name) of layer i: s.<layer><part>.
	Buf(i int, part string) *jen.Statement
	// In and InGrad are the whole-batch input of layer i and the buffer that receives
	// the gradient with respect to it; Input and InputGrad the same of a merge's input k.
	In(i int) *jen.Statement
	InGrad(i int) *jen.Statement
	Input(i, k int) *jen.Statement
	InputGrad(i, k int) *jen.Statement
	// Param slices n parameters from offset off; GradParam slices the gradients layer i
	// accumulates into: the worker's for a per-image layer, the network's for a batch
	// layer.
	Param(off, n int) *jen.Statement
	GradParam(i, off, n int) *jen.Statement
	// Scratch is the worker's scratch buffer: "col" for the forward pass, "dcol" for the
	// backward pass.
	Scratch(name string) *jen.Statement
	// Gemm is the matrix product a per-image layer calls (kernels.Sgemm's signature).
	Gemm() *jen.Statement
	// Direct is the direct convolution a per-image layer calls (kernels.DirectConv's
	// signature).
	Direct() *jen.Statement
	// Batch is the number of images of the pass, Train whether it is a training pass, and
	// Workspace the nn.Workspace it runs on (RNG, Targets, InputGrad).
	Batch() *jen.Statement
	Train() *jen.Statement
	Workspace() *jen.Statement
	// ParallelFor runs the state's method of that name, func(lo, hi int), over the ranges
	// of [0, n) in parallel.
	ParallelFor(n int, method string) *jen.Statement
	// Helper emits package-level code once under name; Decl emits it unconditionally.
	Helper(name string, code ...jen.Code)
	Decl(code ...jen.Code)
	// Package is the generated package's name.
	Package() string
}

// The short jennifer helpers the layer files write code with.

func id(name string) *jen.Statement { return jen.Id(name) }

func lit(v any) *jen.Statement { return jen.Lit(v) }

func list(items ...jen.Code) *jen.Statement { return jen.List(items...) }

func kernel(fn string) *jen.Statement { return jen.Qual(KernelsPath, fn) }

// call is fn(args...), the arguments wrapped when they are many (see Wrap).
func call(fn *jen.Statement, args ...jen.Code) *jen.Statement { return fn.Call(Wrap(args...)...) }

// Generated lines stay within 120 columns (gen's TestLineLength): the items of a call or
// composite literal longer than maxItems characters wrap at itemsWidth, which leaves room
// for the indentation and what comes before.
const maxItems, itemsWidth = 96, 80

// Wrap returns items as they are if they take at most maxItems characters, and else puts
// a line break before each item that would take its line past itemsWidth: the arguments
// of a long call, the fields of a long literal.
func Wrap(items ...jen.Code) []jen.Code {
	widths, total := make([]int, len(items)), 0
	for i, item := range items {
		widths[i] = width(item) + len(", ")
		total += widths[i]
	}
	if total <= maxItems {
		return items
	}
	out := make([]jen.Code, len(items))
	line := 0
	for i, item := range items {
		if line > 0 && line+widths[i] > itemsWidth {
			item, line = jen.Line().Add(item), 0
		}
		out[i], line = item, line+widths[i]
	}
	return out
}

// width is the length of code as generated, near enough: its rendering, with each run of
// white space counted as one character.
func width(c jen.Code) int {
	return utf8.RuneCountInString(strings.Join(strings.Fields(fmt.Sprintf("%#v", c)), " "))
}

// Sel is a selector chain: Sel("s", "ws", "RNG") is s.ws.RNG.
func Sel(names ...string) *jen.Statement {
	s := jen.Id(names[0])
	for _, n := range names[1:] {
		s = s.Dot(n)
	}
	return s
}

// ForRange is "for v := lo; v < hi; v++ { body }".
func ForRange(v string, lo, hi jen.Code, body ...jen.Code) *jen.Statement {
	return jen.For(id(v).Op(":=").Add(lo), id(v).Op("<").Add(hi), id(v).Op("++")).Block(body...)
}

// Affine is v·mul + add with the constant folded away where it can: "v", "v*2", "v+3".
func Affine(v string, mul, add int) *jen.Statement {
	s := id(v)
	if mul != 1 {
		s = s.Op("*").Lit(mul)
	}
	switch {
	case add > 0:
		s = s.Op("+").Lit(add)
	case add < 0:
		s = s.Op("-").Lit(-add)
	}
	return s
}

// Image slices the part of a batch buffer that belongs to image img: buf[img*n : img*n+n].
func Image(buf *jen.Statement, n int) *jen.Statement {
	return buf.Index(id("img").Op("*").Lit(n), id("img").Op("*").Lit(n).Op("+").Lit(n))
}

// Exported turns a layer name into an exported Go identifier: "conv1" → "Conv1",
// "my-layer" → "MyLayer".
func Exported(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r)) || r >= 128 {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	s := b.String()
	if s == "" || unicode.IsDigit(rune(s[0])) {
		s = "L" + s
	}
	return s
}

// Local turns a layer name into an unexported identifier: "conv1" → "conv1".
func Local(name string) string {
	e := Exported(name)
	return string(e[0]+'a'-'A') + e[1:]
}

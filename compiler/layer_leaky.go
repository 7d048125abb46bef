package compiler

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// leaky is the leaky ReLU of Darknet and PyTorch's LeakyReLU: x for x > 0, else slope·x,
// with 0 ≤ slope < 1 (default 0.1), so that the output's sign is the input's and the
// backward pass can read the derivative from the output.
var _ = register(&LayerType{
	Kind:       Leaky,
	Doc:        "leaky ReLU, max(x, slope·x), slope in [0, 1) (default 0.1; Darknet's leaky)",
	Role:       RoleActivation,
	Syntax:     Syntax{Number: "slope", FloatNumber: true, OptionalNumber: true, Example: "leaky 0.1"},
	Build:      buildLeaky,
	Summary:    func(l *Layer) string { return fmt.Sprint(l.Slope) },
	Emit:       emitLeaky,
	Forward64:  leakyForward,
	Backward64: leakyBackward,
	Kink64:     kinkAtZero,
	ONNX: func(g ONNXGraph, l *Layer) {
		g.Node("LeakyRelu", l.Name, l.Name+"/out", []string{g.Cur()}, floatAttr("alpha", float32(l.Slope)))
	},
	PyTorch: func(m PyTorchModule, l *Layer) string {
		return "F.leaky_relu(" + m.In(0) + ", " + PyFloat(l.Slope) + ")"
	},
})

// defaultSlope is Darknet's slope of the leaky ReLU.
const defaultSlope = 0.1

func buildLeaky(c *checker, l *Layer, la layerArgs) bool {
	l.Slope, l.Out = defaultSlope, l.In
	if la.number == nil {
		return true
	}
	s, ok := parseFloat(*la.number, "leaky slope", &c.errs)
	if ok && !(s >= 0 && s < 1) {
		c.errorf(la.number.pos, "leaky slope must be at least 0 and less than 1, not %s", la.number.text)
		ok = false
	}
	l.Slope = s
	return ok
}

// emitLeaky emits y = max(x, slope·x) and, backward, dx = dy where y > 0, else slope·dy.
func emitLeaky(e Emitter, i int, l *Layer) LayerCode {
	slope := lit(float32(l.Slope))
	fwd := append(e.Views(i, "in", "out"), jen.For(list(id("j"), id("v")).Op(":=").Range().Id("in")).Block(
		id("out").Index(id("j")).Op("=").Max(id("v"), id("v").Op("*").Add(slope))))
	bwd := append(e.Views(i, "out", "dout", "din"), jen.For(list(id("j"), id("dy")).Op(":=").Range().Id("dout")).Block(
		jen.If(id("out").Index(id("j")).Op("<=").Lit(float32(0))).Block(id("dy").Op("*=").Add(slope)),
		id("din").Index(id("j")).Op("=").Id("dy")))
	return LayerCode{Forward: fwd, Input: bwd}
}

// leakyForward is x for positive x, else slope·x (the side of 0 as positive says).
func leakyForward(l *Layer, r *Ref) []float64 {
	y := make([]float64, len(r.In))
	for i, v := range r.In {
		y[i] = v
		if !positive(r, i) {
			y[i] = l.Slope * v
		}
	}
	return y
}

// leakyBackward passes dy where x > 0 and slope·dy elsewhere (also at 0, as PyTorch).
func leakyBackward(l *Layer, r *Ref, dy []float64) []float64 {
	dx := make([]float64, len(dy))
	for i, d := range dy {
		if r.In[i] <= 0 {
			d *= l.Slope
		}
		dx[i] = d
	}
	return dx
}

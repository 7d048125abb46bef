package compiler

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// dropout is inverted dropout: in training each value is kept with probability 1−p and
// scaled by 1/(1−p); at test time it is the identity.
var _ = register(&LayerType{
	Kind:       Dropout,
	Doc:        "inverted dropout with probability P in training, the identity at test time",
	Role:       RoleBatch,
	Syntax:     Syntax{Number: "probability", FloatNumber: true, Example: "dropout 0.5"},
	Build:      buildDropout,
	Summary:    func(l *Layer) string { return fmt.Sprint(l.Prob) },
	Plan:       func(p *planner, i int) { p.needAux(i, p.net.Layers[i].Out.Size()) },
	Emit:       emitDropout,
	Forward64:  dropoutForward,
	Backward64: dropoutBackward,
	// No ONNX node: dropout is the identity at inference.
	InferenceIdentity: true,
	PyTorch: func(m PyTorchModule, l *Layer) string {
		return m.Module("nn.Dropout("+PyFloat(l.Prob)+")") + "(" + m.In(0) + ")"
	},
})

func buildDropout(c *checker, l *Layer, la layerArgs) bool {
	p, ok := parseFloat(*la.number, "dropout probability", &c.errs)
	if !ok {
		return false
	}
	if !(p > 0 && p < 1) {
		c.errorf(la.number.pos, "dropout probability must be between 0 and 1 (exclusive), not %s", la.number.text)
		return false
	}
	l.Prob, l.Out = p, l.In
	return true
}

// emitDropout emits inverted dropout on the whole batch, the mask drawn from the
// workspace's generator in order.
func emitDropout(e Emitter, i int, l *Layer) LayerCode {
	p := float32(l.Prob)
	keep := float32(1) / (1 - p)
	in, out, mask := e.In(i), e.Buf(i, "Out"), e.Buf(i, "Aux")
	din, dout := e.InGrad(i), e.Buf(i, "Grad")
	fwd := []jen.Code{
		list(id("in"), id("out"), id("mask")).Op(":=").List(in, out, mask),
		jen.If(jen.Op("!").Add(e.Train())).Block(jen.Copy(id("out"), id("in")), jen.Return()),
		jen.For(id("j").Op(":=").Range().Id("mask")).Block(
			id("m").Op(":=").Lit(float32(0)),
			jen.If(e.Workspace().Dot("RNG").Dot("Float32").Call().Op(">=").Lit(p)).Block(id("m").Op("=").Lit(keep)),
			id("mask").Index(id("j")).Op("=").Id("m"),
			id("out").Index(id("j")).Op("=").Id("in").Index(id("j")).Op("*").Id("m")),
	}
	bwd := []jen.Code{
		list(id("din"), id("dout"), id("mask")).Op(":=").List(din, dout, e.Buf(i, "Aux")),
		jen.If(jen.Op("!").Add(e.Train())).Block(jen.Copy(id("din"), id("dout")), jen.Return()),
		jen.For(list(id("j"), id("m")).Op(":=").Range().Id("mask")).Block(
			id("din").Index(id("j")).Op("=").Id("dout").Index(id("j")).Op("*").Id("m")),
	}
	return LayerCode{Forward: fwd, Input: bwd}
}

// dropoutForward draws, in training, the layer's mask for the whole batch buffer, value by
// value (index image·size + j): a value is kept iff Rand() >= float32(p), kept values
// being scaled by 1/(1−p). It keeps the mask in r.State; in test mode it is the identity.
func dropoutForward(l *Layer, r *Ref) []float64 {
	y := append([]float64(nil), r.In...)
	if !r.Train {
		return y
	}
	r.State = make([]float64, len(y))
	for i := range y {
		if r.Rand() >= float32(l.Prob) {
			r.State[i] = 1 / (1 - l.Prob)
		}
		y[i] *= r.State[i]
	}
	return y
}

// dropoutBackward is dx = dy · mask, the same product as forward.
func dropoutBackward(l *Layer, r *Ref, dy []float64) []float64 {
	dx := append([]float64(nil), dy...)
	for i := range dx {
		if r.State != nil {
			dx[i] *= r.State[i]
		}
	}
	return dx
}

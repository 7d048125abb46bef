package gen

import (
	"github.com/dave/jennifer/jen"
	"github.com/netc-dev/netc/compiler"
)

// activation emits an elementwise ReLU, tanh or sigmoid that could not be fused into the
// layer before it. Backward uses the output: ReLU passes the gradient where y > 0, tanh
// multiplies it by 1 − y², sigmoid by y(1 − y).
func (g *generator) activation(i int, l *compiler.Layer) layerCode {
	v := id("v")
	var f, d jen.Code
	switch l.Kind {
	case compiler.ReLU:
		f = jen.Max(v, lit(float32(0)))
		d = jen.Id("dy").Op("*").Id("step").Call(id("y"))
		g.helper("step", jen.Comment("step is 1 for positive values, else 0: the derivative of ReLU in terms of its output."),
			jen.Func().Id("step").Params(id("y").Float32()).Float32().Block(
				jen.If(id("y").Op(">").Lit(float32(0))).Block(jen.Return(lit(float32(1)))),
				jen.Return(lit(float32(0)))))
	case compiler.Tanh:
		f = jen.Float32().Parens(jen.Qual("math", "Tanh").Call(jen.Float64().Parens(v)))
		d = id("dy").Op("*").Parens(lit(float32(1)).Op("-").Id("y").Op("*").Id("y"))
	default:
		f = lit(float32(1)).Op("/").Parens(lit(float32(1)).Op("+").Float32().Parens(jen.Qual("math", "Exp").Call(jen.Op("-").Float64().Parens(v))))
		d = id("dy").Op("*").Id("y").Op("*").Parens(lit(float32(1)).Op("-").Id("y"))
	}
	fwd := append(g.views(i, "in", "out"), jen.For(list(id("j"), id("v")).Op(":=").Range().Id("in")).Block(id("out").Index(id("j")).Op("=").Add(f)))
	bwd := append(g.views(i, "out", "dout", "din"), jen.For(list(id("j"), id("y")).Op(":=").Range().Id("out")).Block(
		id("dy").Op(":=").Id("dout").Index(id("j")),
		id("din").Index(id("j")).Op("=").Add(d)))
	return layerCode{forward: fwd, input: bwd}
}

// helper emits a package-level helper once.
func (g *generator) helper(name string, code ...jen.Code) {
	if g.helpers == nil {
		g.helpers = map[string]bool{}
	}
	if g.helpers[name] {
		return
	}
	g.helpers[name] = true
	for _, c := range code {
		g.f.Add(c)
	}
}

// meanSub emits the subtraction of the mean stored in the layer's buffer: one value per
// channel or a whole mean image. Its gradient passes through unchanged.
func (g *generator) meanSub(i int, l *compiler.Layer) layerCode {
	mean := param(l.BiasOff, l.Buffer)
	var fwd []jen.Code
	fwd = append(g.views(i, "in", "out"), id("mean").Op(":=").Add(mean))
	if l.MeanImage {
		fwd = append(fwd, jen.For(list(id("j"), id("v")).Op(":=").Range().Id("in")).Block(id("out").Index(id("j")).Op("=").Id("v").Op("-").Id("mean").Index(id("j"))))
	} else {
		hw := l.In.H * l.In.W
		fwd = append(fwd, forRange("c", lit(0), lit(l.In.C),
			id("m").Op(":=").Id("mean").Index(id("c")),
			id("o").Op(":=").Id("out").Index(id("c").Op("*").Lit(hw), id("c").Op("*").Lit(hw).Op("+").Lit(hw)),
			jen.For(list(id("j"), id("v")).Op(":=").Range().Id("in").Index(id("c").Op("*").Lit(hw), id("c").Op("*").Lit(hw).Op("+").Lit(hw))).Block(
				id("o").Index(id("j")).Op("=").Id("v").Op("-").Id("m"))))
	}
	bwd := append(g.views(i, "dout", "din"), jen.Copy(id("din"), id("dout")))
	return layerCode{forward: fwd, input: bwd}
}

package gen

import (
	"github.com/dave/jennifer/jen"
	"github.com/netc-dev/netc/compiler"
)

// norm emits local response normalization across channels, as Caffe and PyTorch define it:
// y = x / (k + alpha/size · Σ x²)^beta over the size channels around each one. The scale
// (the parenthesis) is kept for the backward pass:
// dx_c = dy_c·scale_c^−beta − (2·alpha·beta/size)·x_c·Σ_{j: c in window(j)} dy_j·y_j/scale_j.
func (g *generator) norm(i int, l *compiler.Layer) layerCode {
	hw := l.In.H * l.In.W
	pre, post := l.Size/2, (l.Size-1)/2
	aOverN := float32(l.Alpha / float64(l.Size))
	plane := func(name, v string) jen.Code {
		return id(v).Op(":=").Id(name).Index(id("c").Op("*").Lit(hw), id("c").Op("*").Lit(hw).Op("+").Lit(hw))
	}
	planeOf := func(name, v, ch string) jen.Code {
		return id(v).Op(":=").Id(name).Index(id(ch).Op("*").Lit(hw), id(ch).Op("*").Lit(hw).Op("+").Lit(hw))
	}
	fwd := append(g.views(i, "in", "out", "aux"),
		forRange("c", lit(0), lit(l.In.C),
			plane("aux", "scale"),
			jen.For(id("j").Op(":=").Range().Id("scale")).Block(id("scale").Index(id("j")).Op("=").Lit(float32(l.LRNK))),
			jen.For(id("n").Op(":=").Max(lit(0), id("c").Op("-").Lit(pre)), id("n").Op("<=").Min(lit(l.In.C-1), id("c").Op("+").Lit(post)), id("n").Op("++")).Block(
				planeOf("in", "xn", "n"),
				jen.For(list(id("j"), id("v")).Op(":=").Range().Id("xn")).Block(id("scale").Index(id("j")).Op("+=").Lit(aOverN).Op("*").Id("v").Op("*").Id("v"))),
			plane("in", "x"), plane("out", "y"),
			jen.For(list(id("j"), id("v")).Op(":=").Range().Id("x")).Block(
				id("y").Index(id("j")).Op("=").Id("v").Op("*").Add(g.powNegBeta(l.Beta, id("scale").Index(id("j")))))))
	// Backward: first ratio_c = dy_c·y_c/scale_c into din, then sum it over windows.
	coef := float32(2 * l.Alpha * l.Beta / float64(l.Size))
	bwd := append(g.views(i, "in", "out", "aux", "dout", "din"),
		jen.Comment("din holds dy·y/scale first; ratio sums it over each channel's windows."),
		jen.For(list(id("j"), id("dy")).Op(":=").Range().Id("dout")).Block(
			id("din").Index(id("j")).Op("=").Id("dy").Op("*").Id("out").Index(id("j")).Op("/").Id("aux").Index(id("j"))),
		id("ratio").Op(":=").Add(sel("s", "col").Index(id("w")).Index(jen.Empty(), lit(l.In.Size()))),
		jen.Copy(id("ratio"), id("din")),
		forRange("c", lit(0), lit(l.In.C),
			plane("din", "dx"), plane("dout", "dy"), plane("aux", "scale"), plane("in", "x"),
			jen.For(id("j").Op(":=").Range().Id("dx")).Block(id("dx").Index(id("j")).Op("=").Id("dy").Index(id("j")).Op("*").Add(g.powNegBeta(l.Beta, id("scale").Index(id("j"))))),
			jen.For(id("n").Op(":=").Max(lit(0), id("c").Op("-").Lit(post)), id("n").Op("<=").Min(lit(l.In.C-1), id("c").Op("+").Lit(pre)), id("n").Op("++")).Block(
				planeOf("ratio", "r", "n"),
				jen.For(list(id("j"), id("v")).Op(":=").Range().Id("r")).Block(id("dx").Index(id("j")).Op("-=").Lit(coef).Op("*").Id("x").Index(id("j")).Op("*").Id("v")))))
	return layerCode{forward: fwd, input: bwd}
}

// powNegBeta emits s^−beta, specialized for AlexNet's beta = 0.75 (1/√(s·√s)).
func (g *generator) powNegBeta(beta float64, s jen.Code) jen.Code {
	f64 := jen.Float64().Parens(s)
	if beta == 0.75 {
		return jen.Float32().Parens(lit(1.0).Op("/").Qual("math", "Sqrt").Call(f64.Clone().Op("*").Qual("math", "Sqrt").Call(f64.Clone())))
	}
	return jen.Float32().Parens(jen.Qual("math", "Pow").Call(f64, lit(-beta)))
}

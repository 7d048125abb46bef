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
	// planeOf slices channel ch's plane of a buffer; plane declares v as channel c's.
	planeOf := func(name, ch string) *jen.Statement {
		return id(name).Index(id(ch).Op("*").Lit(hw), id(ch).Op("*").Lit(hw).Op("+").Lit(hw))
	}
	plane := func(name, v string) jen.Code { return id(v).Op(":=").Add(planeOf(name, "c")) }
	fwd := append(g.views(i, "in", "out", "aux"),
		forRange("c", lit(0), lit(l.In.C),
			plane("aux", "scale"),
			jen.For(id("j").Op(":=").Range().Id("scale")).Block(id("scale").Index(id("j")).Op("=").Lit(float32(l.LRNK))),
			jen.For(id("n").Op(":=").Max(lit(0), id("c").Op("-").Lit(pre)), id("n").Op("<=").Min(lit(l.In.C-1), id("c").Op("+").Lit(post)), id("n").Op("++")).Block(
				jen.Qual(kernelsPath, "AddSquares").Call(lit(aOverN), planeOf("in", "n"), id("scale"))),
			g.divPowBeta(l.Beta, planeOf("in", "c"), planeOf("out", "c"))))
	// Backward: first ratio_c = dy_c·y_c/scale_c into din, then sum it over windows.
	coef := float32(2 * l.Alpha * l.Beta / float64(l.Size))
	bwd := append(g.views(i, "in", "out", "aux", "dout", "din"),
		jen.Comment("din holds dy·y/scale first; ratio sums it over each channel's windows."),
		jen.For(list(id("j"), id("dy")).Op(":=").Range().Id("dout")).Block(
			id("din").Index(id("j")).Op("=").Id("dy").Op("*").Id("out").Index(id("j")).Op("/").Id("aux").Index(id("j"))),
		id("ratio").Op(":=").Add(sel("s", "col").Index(id("w")).Index(jen.Empty(), lit(l.In.Size()))),
		jen.Copy(id("ratio"), id("din")),
		forRange("c", lit(0), lit(l.In.C),
			plane("din", "dx"), plane("aux", "scale"),
			g.divPowBeta(l.Beta, planeOf("dout", "c"), id("dx")),
			jen.For(id("n").Op(":=").Max(lit(0), id("c").Op("-").Lit(post)), id("n").Op("<=").Min(lit(l.In.C-1), id("c").Op("+").Lit(pre)), id("n").Op("++")).Block(
				jen.Qual(kernelsPath, "AddProduct").Call(lit(-coef), planeOf("in", "c"), planeOf("ratio", "n"), id("dx")))))
	return layerCode{forward: fwd, input: bwd}
}

// divPowBeta emits y = x / scale^beta for one plane (y may be x), through the runtime's
// kernel for AlexNet's beta = 0.75.
func (g *generator) divPowBeta(beta float64, x, y jen.Code) jen.Code {
	if beta == 0.75 {
		return jen.Qual(kernelsPath, "DivPow34").Call(x, id("scale"), y)
	}
	return jen.Block(id("x").Op(":=").Add(x), id("y").Op(":=").Add(y),
		jen.For(list(id("j"), id("v")).Op(":=").Range().Id("x")).Block(
			id("y").Index(id("j")).Op("=").Id("v").Op("*").Float32().Parens(jen.Qual("math", "Pow").Call(jen.Float64().Parens(id("scale").Index(id("j"))), lit(-beta)))))
}

package gen

import (
	"fmt"

	"github.com/dave/jennifer/jen"
	"github.com/netc-dev/netc/compiler"
)

// poolUnrollMax is the largest pooling window whose loop is unrolled.
const poolUnrollMax = 25

// pool emits max pooling (remembering each output's argmax, to which the backward pass
// routes the gradient) or average pooling, with the window unrolled. Each output row
// slices the KH input rows it reads once, and each window is a constant-length slice of
// them, so the window's elements are read without bounds checks.
func (g *generator) pool(i int, l *compiler.Layer) layerCode {
	if l.KH*l.KW > poolUnrollMax {
		return g.poolKernel(i, l)
	}
	w, ow := l.In.W, l.Out.W
	row := func(buf string, y int) jen.Code { // r<y> := buf[top+y*W : top+y*W+W]
		return id(fmt.Sprintf("%s%d", buf, y)).Op(":=").Id(buf).Index(affine("top", 1, y*w), affine("top", 1, y*w+w))
	}
	// loops runs body for every output, with top the input index of the window's first
	// row, rows <buf>0… of that window's rows from each buffer in bufs, and outs sliced to
	// the output row.
	loops := func(bufs, outs []string, body ...jen.Code) jen.Code {
		rowCode := []jen.Code{id("top").Op(":=").Id("c").Op("*").Lit(l.In.H * w).Op("+").Id("oy").Op("*").Lit(l.SH * w)}
		for _, b := range bufs {
			for y := range l.KH {
				rowCode = append(rowCode, row(b, y))
			}
		}
		rowCode = append(rowCode, id("o").Op(":=").Parens(id("c").Op("*").Lit(l.Out.H).Op("+").Id("oy")).Op("*").Lit(ow))
		for _, o := range outs {
			rowCode = append(rowCode, id(o+"Row").Op(":=").Id(o).Index(id("o"), id("o").Op("+").Lit(ow)))
		}
		rowCode = append(rowCode, forRange("ox", lit(0), lit(ow), body...))
		return forRange("c", lit(0), lit(l.Out.C), forRange("oy", lit(0), lit(l.Out.H), rowCode...))
	}
	windows := func(buf string) []jen.Code { // w<y> := r<y>[x : x+KW]
		code := []jen.Code{id("x").Op(":=").Add(affine("ox", l.SW, 0))}
		for y := range l.KH {
			code = append(code, id(fmt.Sprintf("w%d", y)).Op(":=").Id(fmt.Sprintf("%s%d", buf, y)).Index(id("x"), id("x").Op("+").Lit(l.KW)))
		}
		return code
	}
	elem := func(y, x int) *jen.Statement { return id(fmt.Sprintf("w%d", y)).Index(lit(x)) }
	if l.Avg {
		inv := float32(1) / float32(l.KH*l.KW)
		var sum *jen.Statement
		for y := range l.KH {
			for x := range l.KW {
				if sum == nil {
					sum = elem(y, x)
				} else {
					sum = sum.Op("+").Add(elem(y, x))
				}
			}
		}
		fwd := append(g.views(i, "in", "out"), loops([]string{"in"}, []string{"out"},
			append(windows("in"), id("outRow").Index(id("ox")).Op("=").Parens(sum).Op("*").Lit(inv))...))
		spread := append(windows("din"), id("d").Op(":=").Id("doutRow").Index(id("ox")).Op("*").Lit(inv))
		for y := range l.KH {
			for x := range l.KW {
				spread = append(spread, elem(y, x).Op("+=").Id("d"))
			}
		}
		bwd := append(g.views(i, "dout", "din"), jen.Clear(id("din")), loops([]string{"din"}, []string{"dout"}, spread...))
		return layerCode{forward: fwd, input: bwd}
	}
	body := append(windows("in"), id("i").Op(":=").Id("top").Op("+").Id("x"),
		list(id("best"), id("at")).Op(":=").List(elem(0, 0), id("i")))
	for y := range l.KH {
		for x := range l.KW {
			if y+x == 0 {
				continue
			}
			body = append(body, jen.If(id("v").Op(":=").Add(elem(y, x)), id("v").Op(">").Id("best")).Block(
				list(id("best"), id("at")).Op("=").List(id("v"), affine("i", 1, y*w+x))))
		}
	}
	body = append(body, list(id("outRow").Index(id("ox")), id("argRow").Index(id("ox"))).Op("=").List(id("best"), jen.Int32().Parens(id("at"))))
	fwd := append(g.views(i, "in", "out", "arg"), loops([]string{"in"}, []string{"out", "arg"}, body...))
	bwd := append(g.views(i, "dout", "din", "arg"), jen.Clear(id("din")),
		jen.For(list(id("o"), id("a")).Op(":=").Range().Id("arg")).Block(id("din").Index(id("a")).Op("+=").Id("dout").Index(id("o"))))
	return layerCode{forward: fwd, input: bwd}
}

// poolKernel emits calls to the runtime's generic pooling kernels, for large windows.
func (g *generator) poolKernel(i int, l *compiler.Layer) layerCode {
	geom := []jen.Code{lit(l.In.C), lit(l.In.H), lit(l.In.W), lit(l.KH), lit(l.KW), lit(l.SH), lit(l.SW)}
	if l.Avg {
		fwd := append(g.views(i, "in", "out"), jen.Qual(kernelsPath, "AvgPool").Call(append(append([]jen.Code{id("in")}, geom...), id("out"))...))
		bwd := append(g.views(i, "dout", "din"), jen.Clear(id("din")), jen.Qual(kernelsPath, "AvgPoolBackward").Call(append(append([]jen.Code{id("dout")}, geom...), id("din"))...))
		return layerCode{forward: fwd, input: bwd}
	}
	fwd := append(g.views(i, "in", "out", "arg"), jen.Qual(kernelsPath, "MaxPool").Call(append(append([]jen.Code{id("in")}, geom...), id("out"), id("arg"))...))
	bwd := append(g.views(i, "dout", "din", "arg"), jen.Clear(id("din")), jen.Qual(kernelsPath, "MaxPoolBackward").Call(id("dout"), id("arg"), id("din")))
	return layerCode{forward: fwd, input: bwd}
}

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

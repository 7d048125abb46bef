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
	if l.KH*l.KW > poolUnrollMax || isMaxPoolS2(l) {
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
			// The index moves by a conditional move and the maximum by max: no branch to
			// mispredict on random data (a NaN makes the maximum NaN).
			body = append(body, jen.If(id("v").Op(":=").Add(elem(y, x)), id("v").Op(">").Id("best")).Block(
				id("at").Op("=").Add(affine("i", 1, y*w+x))),
				id("best").Op("=").Max(id("best"), elem(y, x)))
		}
	}
	body = append(body, list(id("outRow").Index(id("ox")), id("argRow").Index(id("ox"))).Op("=").List(id("best"), jen.Int32().Parens(id("at"))))
	fwd := append(g.views(i, "in", "out", "arg"), loops([]string{"in"}, []string{"out", "arg"}, body...))
	bwd := append(g.views(i, "dout", "din", "arg"), jen.Clear(id("din")),
		jen.For(list(id("o"), id("a")).Op(":=").Range().Id("arg")).Block(id("din").Index(id("a")).Op("+=").Id("dout").Index(id("o"))))
	return layerCode{forward: fwd, input: bwd}
}

// reluFolded reports whether the ReLU fused into layer i has its backward pass folded into
// that of the 2×2 max pooling right after it (see kernels.MaxUnpool2Relu), which passes
// no gradient where the pooled maximum, a ReLU output, is zero. The fused ReLU is layer
// i+1, so the pooling is i+2.
func (g *generator) reluFolded(i int) bool {
	ls := g.net.Layers
	return ls[i].Plan.FuseReLU && i+2 < len(ls) && isMaxPoolS2(ls[i+2]) && ls[i+2].KH == 2
}

// isMaxPoolS2 reports whether l is a 2×2 or 3×3 max pooling with stride 2, which have
// SIMD kernels.
func isMaxPoolS2(l *compiler.Layer) bool {
	return !l.Avg && l.KH == l.KW && (l.KH == 2 || l.KH == 3) && l.SH == 2 && l.SW == 2
}

// poolKernel emits calls to the runtime's pooling kernels: the SIMD 2×2 and 3×3
// stride-2 max pooling, or the generic ones for large windows.
func (g *generator) poolKernel(i int, l *compiler.Layer) layerCode {
	geom := []jen.Code{lit(l.In.C), lit(l.In.H), lit(l.In.W), lit(l.KH), lit(l.KW), lit(l.SH), lit(l.SW)}
	if l.Avg {
		fwd := append(g.views(i, "in", "out"), jen.Qual(kernelsPath, "AvgPool").Call(append(append([]jen.Code{id("in")}, geom...), id("out"))...))
		bwd := append(g.views(i, "dout", "din"), jen.Clear(id("din")), jen.Qual(kernelsPath, "AvgPoolBackward").Call(append(append([]jen.Code{id("dout")}, geom...), id("din"))...))
		return layerCode{forward: fwd, input: bwd}
	}
	fwd := append(g.views(i, "in", "out", "arg"), jen.Qual(kernelsPath, "MaxPool").Call(append(append([]jen.Code{id("in")}, geom...), id("out"), id("arg"))...))
	bwd := append(g.views(i, "dout", "din", "arg"), jen.Clear(id("din")), jen.Qual(kernelsPath, "MaxPoolBackward").Call(id("dout"), id("arg"), id("din")))
	if isMaxPoolS2(l) {
		fwd = append(g.views(i, "in", "out", "arg"), jen.Qual(kernelsPath, "MaxPoolS2").Call(id("in"), lit(l.In.C), lit(l.In.H), lit(l.In.W), lit(l.KH), id("out"), id("arg")))
	}
	switch geom := []jen.Code{lit(l.In.C), lit(l.In.H), lit(l.In.W), id("din")}; {
	case isMaxPoolS2(l) && l.KH == 2 && i > 0 && g.reluFolded(g.owner(i-1)):
		bwd = append(g.views(i, "dout", "out", "din", "arg"), jen.Comment("The backward pass of the ReLU before the pooling, too."),
			jen.Qual(kernelsPath, "MaxUnpool2Relu").Call(append([]jen.Code{id("dout"), id("out"), id("arg")}, geom...)...))
	case isMaxPoolS2(l) && l.KH == 2: // windows that do not overlap: din is written once, not cleared and added to
		bwd = append(g.views(i, "dout", "din", "arg"), jen.Qual(kernelsPath, "MaxUnpool2").Call(append([]jen.Code{id("dout"), id("arg")}, geom...)...))
	}
	return layerCode{forward: fwd, input: bwd}
}

package compiler

import (
	"fmt"

	"github.com/dave/jennifer/jen"
	"github.com/netc-dev/netc/runtime/kernels"
)

// im2colFuncs returns <layer>Im2col and <layer>Col2im for a conv layer with a small
// kernel: one block per kernel tap, unrolled, in which the output rows and columns that
// read padding are known constants, so the interior runs without a branch (a plain copy at
// stride 1).
func im2colFuncs(l *Layer) []jen.Code {
	name := Local(l.Name)
	hw, ohw := l.In.H*l.In.W, l.Out.H*l.Out.W
	kk := l.KH * l.KW
	var fwd, bwd []jen.Code
	for ki := 0; ki < l.KH; ki++ {
		for kj := 0; kj < l.KW; kj++ {
			fwd = append(fwd, tap(l, ki, kj, false))
			bwd = append(bwd, tap(l, ki, kj, true))
		}
	}
	perChannel := func(src, dst string, srcN, dstN int, body []jen.Code) jen.Code {
		return ForRange("c", lit(0), lit(l.In.C),
			append([]jen.Code{
				id(src).Op(":=").Id(src+"All").Index(id("c").Op("*").Lit(srcN), id("c").Op("*").Lit(srcN).Op("+").Lit(srcN)),
				id(dst).Op(":=").Id(dst+"All").Index(id("c").Op("*").Lit(dstN), id("c").Op("*").Lit(dstN).Op("+").Lit(dstN)),
			}, body...)...)
	}
	return []jen.Code{
		jen.Comment(fmt.Sprintf("%sIm2col lays out an image (%s) as the %d×%d matrix whose row (c·%d + ki)·%d + kj",
			name, l.In, l.In.C*kk, ohw, l.KH, l.KW)),
		jen.Comment("holds, for every output position, the input under kernel tap (ki, kj) of channel c,"),
		jen.Comment("or zero where the tap falls in the padding."),
		jen.Func().Id(name+"Im2col").Params(id("imageAll"), id("colAll").Index().Float32()).Block(
			perChannel("image", "col", hw, kk*ohw, fwd)),
		jen.Comment(fmt.Sprintf("%sCol2im adds the %d×%d matrix back into an image, the adjoint of %sIm2col.",
			name, l.In.C*kk, ohw, name)),
		jen.Func().Id(name+"Col2im").Params(id("colAll"), id("imageAll").Index().Float32()).Block(
			perChannel("image", "col", hw, kk*ohw, bwd)),
	}
}

// tap emits the block of one kernel tap: copying image pixels into its row of the matrix
// (zero where padded) or, for the adjoint, adding the row back into the image.
func tap(l *Layer, ki, kj int, adjoint bool) jen.Code {
	ow, ohw := l.Out.W, l.Out.H*l.Out.W
	oyLo, oyHi := kernels.TapRange(l.In.H, l.Out.H, l.SH, l.PH, ki)
	oxLo, oxHi := kernels.TapRange(l.In.W, l.Out.W, l.SW, l.PW, kj)
	r := ki*l.KW + kj
	dy, dx := ki-l.PH, kj-l.PW
	body := []jen.Code{
		jen.Comment(fmt.Sprintf("tap (%d, %d): output rows [%d, %d) and columns [%d, %d) read the image", ki, kj, oyLo, oyHi, oxLo, oxHi)),
		id("d").Op(":=").Id("col").Index(lit(r*ohw), lit(r*ohw+ohw)),
	}
	if oyLo >= oyHi || oxLo >= oxHi {
		if !adjoint {
			body = append(body, jen.Clear(id("d")))
		}
		return jen.Block(body...)
	}
	if l.SH == 1 && l.SW == 1 && ow == l.In.W {
		return jen.Block(append(body, tapSpan(l, oyLo, oyHi, oxLo, oxHi, dy*l.In.W+dx, adjoint)...)...)
	}
	var row []jen.Code
	row = append(row,
		id("row").Op(":=").Id("d").Index(id("oy").Op("*").Lit(ow), id("oy").Op("*").Lit(ow).Op("+").Lit(ow)),
		id("src").Op(":=").Id("image").Index(
			Affine("oy", l.SH*l.In.W, dy*l.In.W),
			Affine("oy", l.SH*l.In.W, dy*l.In.W+l.In.W)))
	if !adjoint && oxLo > 0 {
		row = append(row, jen.Clear(id("row").Index(jen.Empty(), lit(oxLo))))
	}
	switch {
	case l.SW == 1 && !adjoint:
		row = append(row, jen.Copy(id("row").Index(lit(oxLo), lit(oxHi)), id("src").Index(lit(oxLo+dx), lit(oxHi+dx))))
	case l.SW == 1:
		row = append(row, kernel("Add").Call(id("row").Index(lit(oxLo), lit(oxHi)), id("src").Index(lit(oxLo+dx), lit(oxHi+dx))))
	case !adjoint:
		row = append(row, ForRange("ox", lit(oxLo), lit(oxHi), id("row").Index(id("ox")).Op("=").Id("src").Index(id("ox").Op("*").Lit(l.SW).Op("+").Lit(dx))))
	default:
		row = append(row, ForRange("ox", lit(oxLo), lit(oxHi), id("src").Index(Affine("ox", l.SW, dx)).Op("+=").Id("row").Index(id("ox"))))
	}
	if !adjoint && oxHi < ow {
		row = append(row, jen.Clear(id("row").Index(lit(oxHi), jen.Empty())))
	}
	if !adjoint && oyLo > 0 {
		body = append(body, jen.Clear(id("d").Index(jen.Empty(), lit(oyLo*ow))))
	}
	body = append(body, ForRange("oy", lit(oyLo), lit(oyHi), row...))
	if !adjoint && oyHi < l.Out.H {
		body = append(body, jen.Clear(id("d").Index(lit(oyHi*ow), jen.Empty())))
	}
	return jen.Block(body...)
}

// tapSpan emits a tap of a stride-1 convolution whose output rows are as wide as its input
// rows ("same" padding): then the tap's valid output positions read one contiguous span of
// the image, shifted by off, so one copy (or one vector add, for the adjoint) does the
// whole tap, and only the padding columns of each row need fixing: zeroed after the copy,
// or zeroed in the matrix before the add so that they add nothing.
func tapSpan(l *Layer, oyLo, oyHi, oxLo, oxHi, off int, adjoint bool) []jen.Code {
	ow := l.Out.W
	lo, hi := oyLo*ow+oxLo, (oyHi-1)*ow+oxHi
	span := id("d").Index(lit(lo), lit(hi))
	src := id("image").Index(lit(lo+off), lit(hi+off))
	var pads []jen.Code
	if oxLo > 0 {
		pads = append(pads, jen.Clear(id("d").Index(id("oy").Op("*").Lit(ow), id("oy").Op("*").Lit(ow).Op("+").Lit(oxLo))))
	}
	if oxHi < ow {
		pads = append(pads, jen.Clear(id("d").Index(id("oy").Op("*").Lit(ow).Op("+").Lit(oxHi), id("oy").Op("*").Lit(ow).Op("+").Lit(ow))))
	}
	var padLoop []jen.Code
	if len(pads) > 0 {
		padLoop = []jen.Code{ForRange("oy", lit(oyLo), lit(oyHi), pads...)}
	}
	if adjoint {
		return append(padLoop, kernel("Add").Call(span, src))
	}
	code := []jen.Code{jen.Copy(span, src)}
	if lo > 0 {
		code = append(code, jen.Clear(id("d").Index(jen.Empty(), lit(lo))))
	}
	if hi < l.Out.H*ow {
		code = append(code, jen.Clear(id("d").Index(lit(hi), jen.Empty())))
	}
	return append(code, padLoop...)
}

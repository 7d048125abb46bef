package gen

import (
	"fmt"

	"github.com/dave/jennifer/jen"
	"github.com/netc-dev/netc/compiler"
)

// layerCode is what a layer emits: its forward and backward bodies, the backward in two
// parts: the gradients of its parameters, then the gradient with respect to its input.
// Per-image layers get (img, w) parameters — the image and the worker — and batch layers
// none.
type layerCode struct {
	forward, backward, input []jen.Code
}

// layer emits the forward and backward methods of layer i (and any helpers it needs).
func (g *generator) layer(i int, l *compiler.Layer) {
	var c layerCode
	switch l.Kind {
	case compiler.Conv:
		c = g.conv(i, l)
	case compiler.Pool:
		c = g.pool(i, l)
	case compiler.ReLU, compiler.Tanh, compiler.Sigmoid:
		c = g.activation(i, l)
	case compiler.Norm:
		c = g.norm(i, l)
	case compiler.MeanSub:
		c = g.meanSub(i, l)
	case compiler.Full:
		c = g.full(i, l)
	case compiler.Dropout:
		c = g.dropout(i, l)
	default:
		g.loss(i, l)
		return
	}
	what := fmt.Sprintf("%s (%s %s, %s → %s)", l.Name, l.Kind, l.Options(), l.In, l.Out)
	if l.Plan.FuseReLU {
		what += " and the ReLU after it"
	}
	var params []jen.Code
	scope := "the whole batch"
	if l.Plan.PerImage {
		params = []jen.Code{id("img"), id("w").Int()}
		scope = "image img, on worker w"
	}
	name := local(l.Name)
	g.f.Comment(fmt.Sprintf("%sForward computes %s for %s.", name, what, scope))
	g.f.Func().Params(id("s").Op("*").Id("state")).Id(name + "Forward").Params(params...).Block(c.forward...)
	bwd := c.backward
	if g.inputGradOptional(i) && len(c.input) > 0 {
		bwd = append(bwd, jen.Comment("Nothing before this layer learns: the input gradient is for ws.InputGrad only."),
			jen.If(sel("s", "ws", "InputGrad").Op("==").Nil()).Block(jen.Return()))
	}
	bwd = append(bwd, c.input...)
	g.f.Comment(fmt.Sprintf("%sBackward propagates the gradient through %s for %s.", name, l.Name, scope))
	g.f.Func().Params(id("s").Op("*").Id("state")).Id(name + "Backward").Params(params...).Block(bwd...)
}

// views declares the usual locals of a per-image layer: in, out, din, dout.
func (g *generator) views(i int, names ...string) []jen.Code {
	l := g.net.Layers[i]
	var out []jen.Code
	for _, n := range names {
		var v *jen.Statement
		switch n {
		case "in":
			v = image(sel("s", g.inField(i)), l.In.Size())
		case "din":
			v = image(g.inGrad(i), l.In.Size())
		case "out":
			v = image(sel("s", g.field(i, "Out")), l.Out.Size())
		case "dout":
			v = image(sel("s", g.field(i, "Grad")), l.Out.Size())
		case "aux":
			v = image(sel("s", g.field(i, "Aux")), l.Out.Size())
		case "arg":
			v = image(sel("s", g.field(i, "Arg")), l.Out.Size())
		}
		out = append(out, id(n).Op(":=").Add(v))
	}
	return out
}

// forRange is "for v := lo; v < hi; v++ { body }".
func forRange(v string, lo, hi jen.Code, body ...jen.Code) *jen.Statement {
	return jen.For(id(v).Op(":=").Add(lo), id(v).Op("<").Add(hi), id(v).Op("++")).Block(body...)
}

// conv emits a convolution as im2col followed by one GEMM per group, with bias (and ReLU)
// applied in place, or as a direct convolution when the plan says so.
func (g *generator) conv(i int, l *compiler.Layer) layerCode {
	if l.Plan.Direct {
		return g.directConv(i, l)
	}
	name := local(l.Name)
	ohw := l.Out.H * l.Out.W
	k := l.In.C / l.Groups * l.KH * l.KW // GEMM depth per group
	fg := l.Filters / l.Groups
	w := param(l.WeightOff, l.Weights())
	b := param(l.BiasOff, l.Filters)
	col := id("col").Op(":=").Add(sel("s", "col").Index(id("w")))
	kept := l.Plan.KeptCol >= 0
	if kept {
		col = id("col").Op(":=").Add(image(sel("s", g.field(i, "Col")), l.Plan.Col))
	}
	var fwd []jen.Code
	fwd = append(fwd, g.views(i, "in", "out")...)
	switch l.Plan.Im2col {
	case "none":
		col = id("col").Op(":=").Id("in")
		fwd = append(fwd, col)
	case "unrolled":
		fwd = append(fwd, col, id(name+"Im2col").Call(id("in"), id("col")))
		g.im2col(l)
	default:
		fwd = append(fwd, col, g.kernelCall("Im2col", l, id("in"), id("col")))
	}
	fwd = append(fwd, id("weights").Op(":=").Add(w))
	fwd = append(fwd, g.groups(l, sel("s", "gemm").Call(jen.False(), jen.False(), lit(fg), lit(ohw), lit(k), lit(1),
		gs(l, "weights", fg*k), lit(k), gs(l, "col", k*ohw), lit(ohw), lit(0), gs(l, "out", fg*ohw), lit(ohw)))...)
	fwd = append(fwd, jen.Qual(kernelsPath, "BiasAct").Call(id("out"), b, lit(l.Filters), lit(ohw), jen.Lit(l.Plan.FuseReLU)))

	bwd := g.convParamGrads(i, l, kept, col)

	input := g.views(i, "din")
	if l.Plan.Im2col == "none" {
		input = append(input, id("dcol").Op(":=").Id("din"))
	} else {
		input = append(input, id("dcol").Op(":=").Add(sel("s", "dcol").Index(id("w"))))
	}
	input = append(input, id("weights").Op(":=").Add(w), jen.Comment("dcol = Wᵀ·dout, per group."))
	input = append(input, g.groups(l,
		sel("s", "gemm").Call(jen.True(), jen.False(), lit(k), lit(ohw), lit(fg), lit(1),
			gs(l, "weights", fg*k), lit(k), gs(l, "dout", fg*ohw), lit(ohw), lit(0), gs(l, "dcol", k*ohw), lit(ohw)))...)
	switch l.Plan.Im2col {
	case "unrolled":
		input = append(input, jen.Clear(id("din")), id(name+"Col2im").Call(id("dcol"), id("din")))
	case "kernel":
		input = append(input, jen.Clear(id("din")), g.kernelCall("Col2im", l, id("dcol"), id("din")))
	}
	return layerCode{fwd, bwd, input}
}

// directConv emits a stride-1 convolution computed by the runtime's direct convolution:
// the image is copied into the interior of the worker's padded buffer (whose border stays
// zero) and convolved with the weights packed at the start of the pass (see packWeights);
// the input gradient is the output gradient, padded by k−1−p, convolved with the flipped
// weights; the weight gradient is accumulated from the padded input and the transposed
// output gradient, image after image, and folded in once per worker (see imageStage).
func (g *generator) directConv(i int, l *compiler.Layer) layerCode {
	name := local(l.Name)
	in, out := l.In, l.Out
	ohw := out.H * out.W
	fwd := append(g.views(i, "in", "out"),
		id("pad").Op(":=").Add(sel("s", name+"Pad").Index(id("w"))),
		jen.Qual(kernelsPath, "PadInto").Call(id("pad"), id("in"), lit(in.C), lit(in.H), lit(in.W), lit(l.PH), lit(l.PW)),
		sel("s", "direct").Call(id("out"), lit(l.Filters), lit(out.H), lit(out.W), sel("s", name+"Packed"), id(name+"Offs"), id("pad"), lit(in.W+2*l.PW)),
		jen.Qual(kernelsPath, "BiasAct").Call(id("out"), param(l.BiasOff, l.Filters), lit(l.Filters), lit(ohw), jen.Lit(l.Plan.FuseReLU)))

	bwd := append(g.convOutGrad(i, l, true),
		jen.Comment("dW accumulates in the worker's "+name+"GradAcc, folded in after its last image."),
		id("pad").Op(":=").Add(sel("s", name+"Pad").Index(id("w"))),
		jen.Qual(kernelsPath, "PadInto").Call(id("pad"), id("in"), lit(in.C), lit(in.H), lit(in.W), lit(l.PH), lit(l.PW)),
		id("doutT").Op(":=").Add(sel("s", name+"DoutT").Index(id("w"))),
		jen.Qual(kernelsPath, "PackDirectGrad").Call(id("doutT"), id("dout"), lit(in.C*l.KH*l.KW), lit(l.Filters), lit(ohw)),
		jen.Qual(kernelsPath, "DirectWeightGrad").Call(sel("s", name+"GradAcc").Index(id("w")), lit(l.Filters), id("pad"), id(name+"Offs"), id(name+"Pixels"), id("doutT")))

	qh, qw := l.KH-1-l.PH, l.KW-1-l.PW
	input := append(g.views(i, "din"),
		id("dpad").Op(":=").Add(sel("s", name+"GradPad").Index(id("w"))),
		jen.Qual(kernelsPath, "PadInto").Call(id("dpad"), id("dout"), lit(l.Filters), lit(out.H), lit(out.W), lit(qh), lit(qw)),
		sel("s", "direct").Call(id("din"), lit(in.C), lit(in.H), lit(in.W), sel("s", name+"Flipped"), id(name+"GradOffs"), id("dpad"), lit(out.W+2*qw)))

	g.f.Comment(fmt.Sprintf("%sOffs and %sGradOffs locate the kernel taps in the padded input and output gradient,", name, name))
	g.f.Comment(fmt.Sprintf("%sPixels the output positions in the padded input.", name))
	g.f.Var().Defs(
		id(name+"Offs").Op("=").Qual(kernelsPath, "ConvOffsets").Call(lit(in.C), lit(l.KH), lit(l.KW), lit(in.H+2*l.PH), lit(in.W+2*l.PW)),
		id(name+"Pixels").Op("=").Qual(kernelsPath, "ConvOffsets").Call(lit(1), lit(out.H), lit(out.W), lit(0), lit(in.W+2*l.PW)),
		id(name+"GradOffs").Op("=").Qual(kernelsPath, "ConvOffsets").Call(lit(l.Filters), lit(l.KH), lit(l.KW), lit(out.H+2*qh), lit(out.W+2*qw)))
	return layerCode{fwd, bwd, input}
}

// convParamGrads emits the gradients of a conv layer's parameters (see convOutGrad), the
// weights' from the output gradient and the im2col matrix — the one the forward pass kept,
// or laid out again (col declares it).
func (g *generator) convParamGrads(i int, l *compiler.Layer, kept bool, col jen.Code) []jen.Code {
	name := local(l.Name)
	ohw := l.Out.H * l.Out.W
	k := l.In.C / l.Groups * l.KH * l.KW
	fg := l.Filters / l.Groups
	bwd := g.convOutGrad(i, l, !kept)
	bwd = append(bwd, id("dw").Op(":=").Add(g.gradParam(l.WeightOff, l.Weights())))
	switch {
	case l.Plan.Im2col == "none":
		bwd = append(bwd, id("col").Op(":=").Id("in"))
	case kept:
		bwd = append(bwd, jen.Comment("The forward pass kept the im2col matrix."), col)
	case l.Plan.Im2col == "unrolled":
		bwd = append(bwd, col, id(name+"Im2col").Call(id("in"), id("col")))
	default:
		bwd = append(bwd, col, g.kernelCall("Im2col", l, id("in"), id("col")))
	}
	return append(bwd, g.convWeightGrad(l, k, fg, ohw)...)
}

// convOutGrad declares dout (and in, if withIn), undoes the fused ReLU on dout (unless the
// pooling after it does, see reluFolded) and emits
// db += the sum of each filter's output gradient: how a conv layer's backward pass starts.
func (g *generator) convOutGrad(i int, l *compiler.Layer, withIn bool) []jen.Code {
	var code []jen.Code
	if withIn {
		code = g.views(i, "in", "dout")
	} else {
		code = g.views(i, "dout")
	}
	if l.Plan.FuseReLU && !g.reluFolded(i) {
		code = append(code, jen.Qual(kernelsPath, "ReluBackward").Call(image(sel("s", g.field(i, "Out")), l.Out.Size()), id("dout")))
	}
	ohw := l.Out.H * l.Out.W
	return append(code,
		id("db").Op(":=").Add(g.gradParam(l.BiasOff, l.Filters)),
		jen.Comment("db += the sum of each filter's output gradient, as a dot product with ones."),
		forRange("f", lit(0), lit(l.Filters),
			id("db").Index(id("f")).Op("+=").Qual(kernelsPath, "Dot").Call(
				id("dout").Index(id("f").Op("*").Lit(ohw), id("f").Op("*").Lit(ohw).Op("+").Lit(ohw)), id("ones").Index(jen.Empty(), lit(ohw)))))
}

// convWeightGrad emits dW += dout·colᵀ per group. Both factors have the reduction (the
// output positions) as their contiguous axis, so GEMM must transpose one of them while
// packing; the plan says when it is cheaper to compute dWᵀ = col·doutᵀ, transposing the
// small dout, into scratch (the worker's dcol, not yet in use), and add it transposed.
func (g *generator) convWeightGrad(l *compiler.Layer, k, fg, ohw int) []jen.Code {
	if !l.Plan.TransposedWeightGrad {
		return append([]jen.Code{jen.Comment("dW += dout·colᵀ, per group.")}, g.groups(l,
			sel("s", "gemm").Call(jen.False(), jen.True(), lit(fg), lit(k), lit(ohw), lit(1),
				gs(l, "dout", fg*ohw), lit(ohw), gs(l, "col", k*ohw), lit(ohw), lit(1), gs(l, "dw", fg*k), lit(k)))...)
	}
	return append([]jen.Code{
		jen.Comment("dWᵀ = col·doutᵀ into scratch, then dW += (dWᵀ)ᵀ, per group."),
		id("dwT").Op(":=").Add(sel("s", "dcol").Index(id("w")).Index(jen.Empty(), lit(k*fg))),
	}, g.groups(l,
		sel("s", "gemm").Call(jen.False(), jen.True(), lit(k), lit(fg), lit(ohw), lit(1),
			gs(l, "col", k*ohw), lit(ohw), gs(l, "dout", fg*ohw), lit(ohw), lit(0), id("dwT"), lit(fg)),
		jen.Qual(kernelsPath, "AddTransposed").Call(gs(l, "dw", fg*k), id("dwT"), lit(fg), lit(k)))...)
}

// groups wraps GEMM calls in a loop over the layer's groups (or emits them as they are for
// one group); groupSlice indexes by the loop variable.
func (g *generator) groups(l *compiler.Layer, calls ...jen.Code) []jen.Code {
	if l.Groups == 1 {
		return calls
	}
	return []jen.Code{forRange("g", lit(0), lit(l.Groups), calls...)}
}

// gs is the part of a slice owned by group g when each group has n values, or the whole
// slice when the layer has one group.
func gs(l *compiler.Layer, name string, n int) *jen.Statement {
	if l.Groups == 1 {
		return id(name)
	}
	return id(name).Index(id("g").Op("*").Lit(n), id("g").Op("*").Lit(n).Op("+").Lit(n))
}

// kernelCall calls a generic runtime kernel with the layer's geometry.
func (g *generator) kernelCall(fn string, l *compiler.Layer, src, dst jen.Code) jen.Code {
	return jen.Qual(kernelsPath, fn).Call(src, lit(l.In.C), lit(l.In.H), lit(l.In.W), lit(l.KH), lit(l.KW), lit(l.SH), lit(l.SW), lit(l.PH), lit(l.PW), dst)
}

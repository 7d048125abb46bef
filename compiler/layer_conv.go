package compiler

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// conv is a 2-D convolution (PyTorch's Conv2d): Filters output channels of KH×KW kernels,
// strides SH, SW, zero padding PH, PW, and Groups groups of channels.
var _ = register(&LayerType{
	Kind: Conv,
	Doc:  "2-D convolution: filters, kernel size, stride, zero padding, groups (PyTorch's Conv2d)",
	Syntax: Syntax{Number: "number of filters", Dims: "kernel size", Example: "conv 16 5x5 stride1 pad2",
		Options: []optionDef{{"stride", "s", pairValue}, {"pad", "p", pairValue}, {"group", "g", intValue}, lrOption}, Words: []string{floorWord, nobiasWord}},
	Build:      buildConv,
	Summary:    convSummary,
	Tensors:    convTensors,
	Plan:       planConv,
	Emit:       emitConv,
	Forward64:  convForward,
	Backward64: convBackward,
	ONNX:       convONNX,
	PyTorch:    convPyTorch,
})

func buildConv(c *checker, l *Layer, la layerArgs) bool {
	filters, ok1 := parseInt(*la.number, "number of filters", 1, &c.errs)
	k, ok2 := parseDims(*la.dims, "kernel size", 2, 1, true, &c.errs)
	s, ok3 := c.pair(la, "stride", 1, 1)
	p, ok4 := c.pair(la, "pad", 0, 0)
	groups, ok5 := 1, true
	if g, ok := la.options["group"]; ok {
		groups, ok5 = parseInt(g, "group", 1, &c.errs)
	}
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return false
	}
	l.Filters, l.KH, l.KW, l.SH, l.SW, l.PH, l.PW, l.Groups = filters, k[0], k[1], s[0], s[1], p[0], p[1], groups
	l.NoBias = la.words[nobiasWord]
	// These do not depend on the input shape, so they are checked even after an earlier
	// layer failed.
	valid := true
	if filters%groups != 0 {
		c.errorf(la.options["group"].pos, "group %d does not divide the %d filters", groups, filters)
		valid = false
	}
	if l.PH >= l.KH || l.PW >= l.KW {
		pad := la.options["pad"]
		c.errorf(pad.pos, "pad %s must be smaller than the kernel %dx%d", pad.text, l.KH, l.KW)
		valid = false
	}
	if !valid || !c.ok {
		return valid
	}
	if l.In.C%groups != 0 {
		c.errorf(la.options["group"].pos, "group %d does not divide the %d input channels", groups, l.In.C)
		return false
	}
	oh, ow, ok := c.window(l, la, l.KH, l.KW, l.SH, l.SW, l.PH, l.PW)
	if !ok {
		return false
	}
	l.Out = Shape{filters, oh, ow}
	return c.checkSize(l.Pos, "output", l.Out) && c.setCost(l, satMul(filters, l.In.C/groups, l.KH, l.KW), oh*ow)
}

func convSummary(l *Layer) string {
	s := fmt.Sprintf("%d %dx%d s%d p%d", l.Filters, l.KH, l.KW, l.SH, l.PH)
	if l.SH != l.SW || l.PH != l.PW {
		s = fmt.Sprintf("%d %dx%d s%dx%d p%dx%d", l.Filters, l.KH, l.KW, l.SH, l.SW, l.PH, l.PW)
	}
	if l.Groups > 1 {
		s += fmt.Sprintf(" g%d", l.Groups)
	}
	if l.NoBias {
		s += " " + nobiasWord
	}
	return s
}

// convTensors: weights [out, in/groups, kh, kw]; an input value reaches the filters of
// its group at every tap.
func convTensors(l *Layer) ([]int, int) {
	return []int{l.Filters, l.In.C / l.Groups, l.KH, l.KW}, l.Filters / l.Groups * l.KH * l.KW
}

// unrollMax is the largest kernel side whose im2col loops are unrolled in generated code;
// larger kernels use the runtime's generic im2col.
const unrollMax = 5

// directMaxDepth is the deepest convolution (input channels × kernel taps, for the forward
// pass and, with filters for channels, for the input gradient) computed directly: the
// runtime's tile kernel keeps a panel of that many weights per filter row in L1.
const directMaxDepth = 1024

// ConvAlgo is how a convolution is computed.
type ConvAlgo int

const (
	// ConvDirect: the runtime's direct convolution (stride 1, few channels) from a padded
	// copy of the input (or output gradient), forward, input gradient and weight gradient.
	ConvDirect ConvAlgo = iota + 1
	// ConvPointwise: a 1×1 convolution with stride 1 and no padding, whose input already
	// is the GEMM's matrix.
	ConvPointwise
	// ConvUnrolled: im2col in generated code, unrolled per kernel tap, then GEMM.
	ConvUnrolled
	// ConvIm2col: the runtime's generic im2col, then GEMM (large kernels).
	ConvIm2col
	// ConvDepthwise: one kernel per channel (groups = channels = filters), the runtime's
	// depthwise kernels.
	ConvDepthwise
)

func planConv(p *planner, i int) {
	l, lp := p.net.Layers[i], &p.layers[i]
	pointwise := l.KH == 1 && l.KW == 1 && l.SH == 1 && l.SW == 1 && l.PH == 0 && l.PW == 0
	direct := !pointwise && l.SH == 1 && l.SW == 1 && l.Groups == 1 &&
		l.PH < l.KH && l.PW < l.KW &&
		l.In.C*l.KH*l.KW <= directMaxDepth && l.Filters*l.KH*l.KW <= directMaxDepth
	switch {
	case direct:
		lp.Conv = ConvDirect
		return // no im2col matrix at all
	case l.Groups > 1 && l.Groups == l.In.C && l.Groups == l.Filters:
		lp.Conv = ConvDepthwise
		return
	case pointwise:
		lp.Conv = ConvPointwise
	case l.KH <= unrollMax && l.KW <= unrollMax:
		lp.Conv = ConvUnrolled
	default:
		lp.Conv = ConvIm2col
	}
	if lp.Conv != ConvPointwise {
		lp.Col = l.In.C * l.KH * l.KW * l.Out.H * l.Out.W
	}
	lp.TransposedWeightGrad = l.In.C/l.Groups*l.KH*l.KW > l.Filters/l.Groups
	p.scratch(lp.Col)
	if lp.TransposedWeightGrad {
		p.scratch(l.Weights() / l.Groups) // one group's dWᵀ, in dcol
	}
}

// emitConv emits a convolution as im2col followed by one GEMM per group, with bias (and
// ReLU) applied in place, or as a direct or depthwise convolution when the plan says so;
// with a batch norm folded in, also its forward pass at inference and the folding.
func emitConv(e Emitter, i int, l *Layer) LayerCode {
	var c LayerCode
	switch l.Plan.Conv {
	case ConvDirect:
		c = emitDirectConv(e, i, l)
	case ConvDepthwise:
		c = emitDepthwiseConv(e, i, l)
	default:
		c = emitGemmConv(e, i, l)
	}
	if bn := l.Plan.FoldBN; bn != nil {
		c.Infer = convForwardCode(e, i, l, convOut{e.Buf(i, "FoldW"), e.Buf(i, "FoldPacked"), e.Buf(i, "FoldB"),
			l.Plan.InferOut, l.Plan.InferReLU})
		var bias jen.Code = jen.Nil()
		if !l.NoBias {
			bias = e.Param(l.BiasOff, l.Filters)
		}
		c.Fold = []jen.Code{call(kernel("FoldBatchNorm"), e.Buf(i, "FoldW"), e.Buf(i, "FoldB"),
			e.Param(l.WeightOff, l.Weights()), bias, e.Param(bn.WeightOff, l.Filters), e.Param(bn.BiasOff, l.Filters),
			e.Param(bn.BufferOff, l.Filters), e.Param(bn.BufferOff+l.Filters, l.Filters), lit(float32(bnEps)))}
		if l.Plan.Conv == ConvDirect {
			c.Fold = append(c.Fold, kernel("PackDirect").Call(e.Buf(i, "FoldPacked"), e.Buf(i, "FoldW"),
				lit(l.Filters), lit(l.In.C*l.KH*l.KW), lit(l.Out.W)))
		}
	}
	return c
}

// convOut is what a conv layer's forward pass computes with and where it writes: its own
// weights (packed, for a direct convolution) and biases (nil: none), its own output and
// fused ReLU, or at inference those with a batch norm folded in (see LayerPlan.FoldBN).
type convOut struct {
	weights, packed, bias jen.Code
	// out is the layer whose output buffer the pass writes, relu whether it applies
	// max(0, ·) as it stores.
	out  int
	relu bool
}

// ownOut is the conv layer's own convOut.
func ownOut(e Emitter, i int, l *Layer) convOut {
	o := convOut{weights: e.Param(l.WeightOff, l.Weights()), packed: e.Buf(i, "Packed"), out: i, relu: l.Plan.FuseReLU}
	if !l.NoBias {
		o.bias = e.Param(l.BiasOff, l.Filters)
	}
	return o
}

// convForwardCode emits a conv layer's forward pass on one image with the weights, biases and
// output of o: the im2col matrix and GEMM, or the direct or depthwise convolution, then
// the biases and the ReLU in one pass.
func convForwardCode(e Emitter, i int, l *Layer, o convOut) []jen.Code {
	fwd := append(e.Views(i, "in"), id("out").Op(":=").Add(Image(e.Buf(o.out, "Out"), l.Out.Size())))
	in, out := l.In, l.Out
	switch l.Plan.Conv {
	case ConvDirect:
		fwd = append(fwd,
			id("pad").Op(":=").Add(e.Buf(i, "Pad").Index(id("w"))),
			kernel("PadInto").Call(id("pad"), id("in"), lit(in.C), lit(in.H), lit(in.W), lit(l.PH), lit(l.PW)),
			e.Direct().Call(id("out"), lit(l.Filters), lit(out.H), lit(out.W), o.packed, id(Local(l.Name)+"Offs"), id("pad"),
				lit(in.W+2*l.PW)))
	case ConvDepthwise:
		fwd = append(fwd, kernel("DepthwiseConv").Call(id("out"), id("in"), o.weights, id(Local(l.Name)+"Geom")))
	default:
		ohw := out.H * out.W
		k := in.C / l.Groups * l.KH * l.KW // GEMM depth per group
		fg := l.Filters / l.Groups
		fwd = append(fwd, gemmCol(e, i, l))
		switch l.Plan.Conv {
		case ConvUnrolled:
			fwd = append(fwd, id(Local(l.Name)+"Im2col").Call(id("in"), id("col")))
		case ConvIm2col:
			fwd = append(fwd, kernelCall("Im2col", l, id("in"), id("col")))
		}
		fwd = append(fwd, id("weights").Op(":=").Add(o.weights))
		fwd = append(fwd, groups(l, call(e.Gemm(), jen.False(), jen.False(), lit(fg), lit(ohw), lit(k), lit(1),
			gs(l, "weights", fg*k), lit(k), gs(l, "col", k*ohw), lit(ohw), lit(0), gs(l, "out", fg*ohw), lit(ohw)))...)
	}
	return append(fwd, convBiasAct(o.bias, l, o.relu)...)
}

// gemmCol declares col, the im2col matrix of a GEMM conv layer: the input itself
// (pointwise), the layer's own (kept for the backward pass), or the worker's scratch.
func gemmCol(e Emitter, i int, l *Layer) jen.Code {
	switch {
	case l.Plan.Conv == ConvPointwise:
		return id("col").Op(":=").Id("in")
	case l.Plan.KeptCol >= 0:
		return id("col").Op(":=").Add(Image(e.Buf(i, "Col"), l.Plan.Col))
	}
	return id("col").Op(":=").Add(e.Scratch("col"))
}

// emitGemmConv emits a convolution as im2col followed by one GEMM per group.
func emitGemmConv(e Emitter, i int, l *Layer) LayerCode {
	name := Local(l.Name)
	ohw := l.Out.H * l.Out.W
	k := l.In.C / l.Groups * l.KH * l.KW // GEMM depth per group
	fg := l.Filters / l.Groups
	if l.Plan.Conv == ConvUnrolled {
		e.Helper(name+"Im2col", im2colFuncs(l)...)
	}
	fwd := convForwardCode(e, i, l, ownOut(e, i, l))
	bwd := convParamGrads(e, i, l, l.Plan.KeptCol >= 0, gemmCol(e, i, l))

	input := e.Views(i, "din")
	if l.Plan.Conv == ConvPointwise {
		input = append(input, id("dcol").Op(":=").Id("din"))
	} else {
		input = append(input, id("dcol").Op(":=").Add(e.Scratch("dcol")))
	}
	input = append(input, id("weights").Op(":=").Add(e.Param(l.WeightOff, l.Weights())), jen.Comment("dcol = Wᵀ·dout, per group."))
	input = append(input, groups(l,
		call(e.Gemm(), jen.True(), jen.False(), lit(k), lit(ohw), lit(fg), lit(1),
			gs(l, "weights", fg*k), lit(k), gs(l, "dout", fg*ohw), lit(ohw), lit(0), gs(l, "dcol", k*ohw), lit(ohw)))...)
	switch l.Plan.Conv {
	case ConvUnrolled:
		input = append(input, jen.Clear(id("din")), id(name+"Col2im").Call(id("dcol"), id("din")))
	case ConvIm2col:
		input = append(input, jen.Clear(id("din")), kernelCall("Col2im", l, id("dcol"), id("din")))
	}
	return LayerCode{Forward: fwd, Backward: bwd, Input: input}
}

// emitDirectConv emits a stride-1 convolution computed by the runtime's direct
// convolution: the image is copied into the interior of the worker's padded buffer (whose
// border stays zero) and convolved with the weights packed at the start of the pass; the
// input gradient is the output gradient, padded by k−1−p, convolved with the flipped
// weights; the weight gradient is accumulated from the padded input and the transposed
// output gradient, image after image, and folded in once per worker.
func emitDirectConv(e Emitter, i int, l *Layer) LayerCode {
	name := Local(l.Name)
	in, out := l.In, l.Out
	ohw := out.H * out.W
	perWorker := func(part string) *jen.Statement { return e.Buf(i, part).Index(id("w")) }
	fwd := convForwardCode(e, i, l, ownOut(e, i, l))

	bwd := append(convOutGrad(e, i, l, true),
		jen.Comment("dW accumulates in the worker's "+name+"GradAcc, folded in after its last image."),
		id("pad").Op(":=").Add(perWorker("Pad")),
		kernel("PadInto").Call(id("pad"), id("in"), lit(in.C), lit(in.H), lit(in.W), lit(l.PH), lit(l.PW)),
		id("doutT").Op(":=").Add(perWorker("DoutT")),
		kernel("PackDirectGrad").Call(id("doutT"), id("dout"), lit(in.C*l.KH*l.KW), lit(l.Filters), lit(ohw)),
		kernel("DirectWeightGrad").Call(perWorker("GradAcc"), lit(l.Filters), id("pad"), id(name+"Offs"), id(name+"Pixels"),
			id("doutT")))

	qh, qw := l.KH-1-l.PH, l.KW-1-l.PW
	input := append(e.Views(i, "din"),
		id("dpad").Op(":=").Add(perWorker("GradPad")),
		kernel("PadInto").Call(id("dpad"), id("dout"), lit(l.Filters), lit(out.H), lit(out.W), lit(qh), lit(qw)),
		e.Direct().Call(id("din"), lit(in.C), lit(in.H), lit(in.W), e.Buf(i, "Flipped"), id(name+"GradOffs"), id("dpad"),
			lit(out.W+2*qw)))

	e.Decl(
		jen.Comment(fmt.Sprintf("%sOffs and %sGradOffs locate the kernel taps in the padded input and output gradient,",
			name, name)),
		jen.Comment(fmt.Sprintf("%sPixels the output positions in the padded input.", name)),
		jen.Var().Defs(
			id(name+"Offs").Op("=").Add(kernel("ConvOffsets")).Call(lit(in.C), lit(l.KH), lit(l.KW), lit(in.H+2*l.PH),
				lit(in.W+2*l.PW)),
			id(name+"Pixels").Op("=").Add(kernel("ConvOffsets")).Call(lit(1), lit(out.H), lit(out.W), lit(0), lit(in.W+2*l.PW)),
			id(name+"GradOffs").Op("=").Add(kernel("ConvOffsets")).Call(lit(l.Filters), lit(l.KH), lit(l.KW), lit(out.H+2*qh),
				lit(out.W+2*qw))))
	return LayerCode{Forward: fwd, Backward: bwd, Input: input}
}

// convBiasAct adds the biases (nil: none) to the output (and applies max(0, ·) if relu):
// one pass.
func convBiasAct(bias jen.Code, l *Layer, relu bool) []jen.Code {
	switch {
	case bias != nil:
		return []jen.Code{kernel("BiasAct").Call(id("out"), bias, lit(l.Filters), lit(l.Out.H*l.Out.W), jen.Lit(relu))}
	case relu:
		return []jen.Code{kernel("Relu").Call(id("out"))}
	}
	return nil
}

// emitDepthwiseConv emits a convolution with one kernel per channel through the runtime's
// depthwise kernels, whose geometry is the package-level <layer>Geom.
func emitDepthwiseConv(e Emitter, i int, l *Layer) LayerCode {
	geom := Local(l.Name) + "Geom"
	w := e.Param(l.WeightOff, l.Weights())
	fwd := convForwardCode(e, i, l, ownOut(e, i, l))
	bwd := append(convOutGrad(e, i, l, true),
		kernel("DepthwiseConvWeightGrad").Call(e.GradParam(i, l.WeightOff, l.Weights()), id("in"), id("dout"), id(geom)))
	input := append(e.Views(i, "din"),
		kernel("DepthwiseConvInputGrad").Call(id("din"), id("dout"), w, id(geom)))
	e.Decl(
		jen.Comment(fmt.Sprintf("%s is the geometry of %s, a depthwise convolution.", geom, l.Name)),
		jen.Var().Id(geom).Op("=").Add(kernel("DepthwiseGeom")).Values(jen.Dict{
			id("C"): lit(l.In.C), id("H"): lit(l.In.H), id("W"): lit(l.In.W), id("KH"): lit(l.KH), id("KW"): lit(l.KW),
			id("SH"): lit(l.SH), id("SW"): lit(l.SW), id("PH"): lit(l.PH), id("PW"): lit(l.PW),
			id("OH"): lit(l.Out.H), id("OW"): lit(l.Out.W),
		}))
	return LayerCode{Forward: fwd, Backward: bwd, Input: input}
}

// convParamGrads emits the gradients of a conv layer's parameters (see convOutGrad), the
// weights' from the output gradient and the im2col matrix — the one the forward pass kept,
// or laid out again (col declares it).
func convParamGrads(e Emitter, i int, l *Layer, kept bool, col jen.Code) []jen.Code {
	name := Local(l.Name)
	ohw := l.Out.H * l.Out.W
	k := l.In.C / l.Groups * l.KH * l.KW
	fg := l.Filters / l.Groups
	bwd := convOutGrad(e, i, l, !kept)
	bwd = append(bwd, id("dw").Op(":=").Add(e.GradParam(i, l.WeightOff, l.Weights())))
	switch {
	case l.Plan.Conv == ConvPointwise:
		bwd = append(bwd, id("col").Op(":=").Id("in"))
	case kept:
		bwd = append(bwd, jen.Comment("The forward pass kept the im2col matrix."), col)
	case l.Plan.Conv == ConvUnrolled:
		bwd = append(bwd, col, id(name+"Im2col").Call(id("in"), id("col")))
	default:
		bwd = append(bwd, col, kernelCall("Im2col", l, id("in"), id("col")))
	}
	return append(bwd, convWeightGrad(e, l, k, fg, ohw)...)
}

// convOutGrad declares dout (and in, if withIn), undoes the fused ReLU on dout (unless the
// pooling after it does, see LayerPlan.ReLUFolded) and, unless the layer has no biases,
// emits db += the sum of each filter's output gradient: how a conv layer's backward pass
// starts.
func convOutGrad(e Emitter, i int, l *Layer, withIn bool) []jen.Code {
	var code []jen.Code
	if withIn {
		code = e.Views(i, "in", "dout")
	} else {
		code = e.Views(i, "dout")
	}
	if l.Plan.FuseReLU && !l.Plan.ReLUFolded {
		code = append(code, kernel("ReluBackward").Call(Image(e.Buf(i, "Out"), l.Out.Size()), id("dout")))
	}
	if l.NoBias {
		return code
	}
	ohw := l.Out.H * l.Out.W
	return append(code,
		id("db").Op(":=").Add(e.GradParam(i, l.BiasOff, l.Filters)),
		jen.Comment("db += the sum of each filter's output gradient, as a dot product with ones."),
		ForRange("f", lit(0), lit(l.Filters),
			id("db").Index(id("f")).Op("+=").Add(kernel("Dot")).Call(
				id("dout").Index(id("f").Op("*").Lit(ohw), id("f").Op("*").Lit(ohw).Op("+").Lit(ohw)),
				id("ones").Index(jen.Empty(), lit(ohw)))))
}

// convWeightGrad emits dW += dout·colᵀ per group. Both factors have the reduction (the
// output positions) as their contiguous axis, so GEMM must transpose one of them while
// packing; the plan says when it is cheaper to compute dWᵀ = col·doutᵀ, transposing the
// small dout, into scratch (the worker's dcol, not yet in use), and add it transposed.
func convWeightGrad(e Emitter, l *Layer, k, fg, ohw int) []jen.Code {
	if !l.Plan.TransposedWeightGrad {
		return append([]jen.Code{jen.Comment("dW += dout·colᵀ, per group.")}, groups(l,
			call(e.Gemm(), jen.False(), jen.True(), lit(fg), lit(k), lit(ohw), lit(1),
				gs(l, "dout", fg*ohw), lit(ohw), gs(l, "col", k*ohw), lit(ohw), lit(1), gs(l, "dw", fg*k), lit(k)))...)
	}
	return append([]jen.Code{
		jen.Comment("dWᵀ = col·doutᵀ into scratch, then dW += (dWᵀ)ᵀ, per group."),
		id("dwT").Op(":=").Add(e.Scratch("dcol")).Index(jen.Empty(), lit(k*fg)),
	}, groups(l,
		call(e.Gemm(), jen.False(), jen.True(), lit(k), lit(fg), lit(ohw), lit(1),
			gs(l, "col", k*ohw), lit(ohw), gs(l, "dout", fg*ohw), lit(ohw), lit(0), id("dwT"), lit(fg)),
		kernel("AddTransposed").Call(gs(l, "dw", fg*k), id("dwT"), lit(fg), lit(k)))...)
}

// groups wraps GEMM calls in a loop over the layer's groups (or emits them as they are for
// one group); gs indexes by the loop variable.
func groups(l *Layer, calls ...jen.Code) []jen.Code {
	if l.Groups == 1 {
		return calls
	}
	return []jen.Code{ForRange("g", lit(0), lit(l.Groups), calls...)}
}

// gs is the part of a slice owned by group g when each group has n values, or the whole
// slice when the layer has one group.
func gs(l *Layer, name string, n int) *jen.Statement {
	if l.Groups == 1 {
		return id(name)
	}
	return id(name).Index(id("g").Op("*").Lit(n), id("g").Op("*").Lit(n).Op("+").Lit(n))
}

// kernelCall calls a generic runtime kernel with the layer's geometry.
func kernelCall(fn string, l *Layer, src, dst jen.Code) jen.Code {
	return kernel(fn).Call(src, lit(l.In.C), lit(l.In.H), lit(l.In.W), lit(l.KH), lit(l.KW), lit(l.SH), lit(l.SW),
		lit(l.PH), lit(l.PW), dst)
}

// convWeight returns the index of conv weight [o][ci][ky][kx] in the flat parameters.
func convWeight(l *Layer, o, ci, ky, kx int) int {
	return l.WeightOff + ((o*(l.In.C/l.Groups)+ci)*l.KH+ky)*l.KW + kx
}

// convForward is PyTorch's Conv2d: y[o][oy][ox] = b[o] + Σ w[o][ci][ky][kx] · x[g·cin+ci][iy][ix]
// with iy = oy·SH − PH + ky, ix = ox·SW − PW + kx, zero outside the input, g the group of
// filter o and cin = In.C/Groups the channels per group. The sum is taken weight by
// weight: each weight adds its products to every output position it reaches.
func convForward(l *Layer, r *Ref) []float64 {
	x, params := r.In, r.Params
	y := make([]float64, r.Batch*l.Out.Size())
	cin, fpg := l.In.C/l.Groups, l.Filters/l.Groups
	for n := range r.Batch {
		for o := range l.Filters {
			g := o / fpg
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					if !l.NoBias {
						y[at(l.Out, n, o, oy, ox)] = params[l.BiasOff+o]
					}
				}
			}
			for ci := range cin {
				for ky := range l.KH {
					for kx := range l.KW {
						w := params[convWeight(l, o, ci, ky, kx)]
						for oy := range l.Out.H {
							iy := oy*l.SH - l.PH + ky
							if iy < 0 || iy >= l.In.H {
								continue
							}
							yrow := y[at(l.Out, n, o, oy, 0):][:l.Out.W]
							xrow := x[at(l.In, n, g*cin+ci, iy, 0):][:l.In.W]
							for ox := range yrow {
								ix := ox*l.SW - l.PW + kx
								if ix < 0 || ix >= len(xrow) {
									continue
								}
								yrow[ox] += w * xrow[ix]
							}
						}
					}
				}
			}
		}
	}
	return y
}

// convBackward adds the conv layer's weight and bias gradients to r.DParams and returns
// the gradient of its input, walking the same loops as convForward:
// db[o] = Σ dy[o], dw[o][ci][ky][kx] = Σ dy[o][oy][ox] · x[..][iy][ix], and dx[..][iy][ix]
// gets dy[o][oy][ox] · w[o][ci][ky][kx] from every output it reaches.
func convBackward(l *Layer, r *Ref, dy []float64) []float64 {
	x, dparams := r.In, r.DParams
	dx := make([]float64, len(x))
	cin, fpg := l.In.C/l.Groups, l.Filters/l.Groups
	for n := range r.Batch {
		for o := range l.Filters {
			g := o / fpg
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					if !l.NoBias {
						dparams[l.BiasOff+o] += dy[at(l.Out, n, o, oy, ox)]
					}
				}
			}
			for ci := range cin {
				for ky := range l.KH {
					for kx := range l.KW {
						wi := convWeight(l, o, ci, ky, kx)
						w, dw := r.Params[wi], 0.0
						for oy := range l.Out.H {
							iy := oy*l.SH - l.PH + ky
							if iy < 0 || iy >= l.In.H {
								continue
							}
							dyrow := dy[at(l.Out, n, o, oy, 0):][:l.Out.W]
							xrow := x[at(l.In, n, g*cin+ci, iy, 0):][:l.In.W]
							dxrow := dx[at(l.In, n, g*cin+ci, iy, 0):][:l.In.W]
							for ox, d := range dyrow {
								ix := ox*l.SW - l.PW + kx
								if ix < 0 || ix >= len(xrow) {
									continue
								}
								dw += d * xrow[ix]
								dxrow[ix] += d * w
							}
						}
						dparams[wi] += dw
					}
				}
			}
		}
	}
	return dx
}

// convONNX adds Conv with the layer's weights [out, in/groups, kh, kw] and biases.
func convONNX(g ONNXGraph, l *Layer) {
	g.Image(l)
	p := g.Params()
	w := g.Weight(l.Name+".weight", p[l.WeightOff:l.WeightOff+l.Weights()],
		int64(l.Filters), int64(l.In.C/l.Groups), int64(l.KH), int64(l.KW))
	in := []string{g.Cur(), w}
	if !l.NoBias {
		in = append(in, g.Weight(l.Name+".bias", p[l.BiasOff:l.BiasOff+l.Filters], int64(l.Filters)))
	}
	g.Node("Conv", l.Name, l.Name+"/out", in,
		intAttr("group", int64(l.Groups)),
		intsAttr("kernel_shape", int64(l.KH), int64(l.KW)),
		intsAttr("pads", int64(l.PH), int64(l.PW), int64(l.PH), int64(l.PW)),
		intsAttr("strides", int64(l.SH), int64(l.SW)))
}

// convPyTorch declares Conv2d with the layer's sizes.
func convPyTorch(m PyTorchModule, l *Layer) string {
	args := fmt.Sprintf("%d, %d, %s", l.In.C, l.Filters, pyPair(l.KH, l.KW))
	if l.SH != 1 || l.SW != 1 {
		args += ", stride=" + pyPair(l.SH, l.SW)
	}
	if l.PH != 0 || l.PW != 0 {
		args += ", padding=" + pyPair(l.PH, l.PW)
	}
	if l.Groups != 1 {
		args += fmt.Sprintf(", groups=%d", l.Groups)
	}
	if l.NoBias {
		args += ", bias=False"
	}
	return m.Module("nn.Conv2d("+args+")") + "(" + m.Image(0) + ")"
}

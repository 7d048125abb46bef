package compiler

import (
	"fmt"
	"math"

	"github.com/dave/jennifer/jen"
)

// bn is batch normalization with PyTorch's semantics (BatchNorm2d, or BatchNorm1d after a
// full layer): in training each channel is normalized with the mean and biased variance
// of the whole mini-batch, and the running statistics move towards the batch's with
// momentum 0.1 (the variance unbiased); in evaluation the running statistics stand in.
// A learned scale (weight, starting at 1) and shift (bias) follow. The running statistics
// are stored with the weights as running_mean and running_var.
var _ = register(&LayerType{
	Kind:       BN,
	Doc:        "batch normalization over the mini-batch per channel, learned scale and shift (PyTorch's BatchNorm2d)",
	Role:       RoleBatch,
	Syntax:     Syntax{Example: "bn", Options: []optionDef{lrOption}},
	Build:      buildBN,
	Tensors:    func(l *Layer) ([]int, int) { return []int{l.Filters}, 1 },
	NormParams: true,
	Buffers: func(l *Layer) []BufferTensor {
		return []BufferTensor{{Part: "running_mean", Shape: []int{l.Filters}}, {Part: "running_var", Shape: []int{l.Filters}, Init: 1}}
	},
	Plan:       planBN,
	Emit:       emitBN,
	Forward64:  bnForward,
	Backward64: bnBackward,
	ONNX:       bnONNX,
	PyTorch:    bnPyTorch,
})

// PyTorch's defaults.
const (
	bnMomentum = 0.1
	bnEps      = 1e-5
)

func buildBN(c *checker, l *Layer, _ layerArgs) bool {
	l.Out, l.Filters, l.Groups = l.In, l.In.C, 1
	l.Buffer = 2 * l.In.C
	// Its multiply-adds are not counted, as PyTorch's profilers count only convolutions and
	// full layers.
	return c.setCost(l, int64(l.In.C), 0)
}

// planBN folds the bn into the conv before it at inference when it is that conv's one
// reader, and the ReLU after it too when it is the bn's one reader (see LayerPlan.FoldBN).
// In training such a bn is split (see LayerPlan.Split) when the layers around it are
// computed image by image: the stage before takes each image's moments as the conv
// computes it, the bn's own stage only combines them, and the stage after normalizes each
// image (and applies the ReLU, fused into the bn) before its first layer reads it.
func planBN(p *planner, i int) {
	if !p.onlyReader(i) || p.net.Layers[i-1].Kind != Conv {
		return
	}
	conv := &p.layers[i-1]
	conv.FoldBN, conv.InferOut, p.layers[i].InferSkip = p.net.Layers[i], i, true
	relu := i+1 < len(p.net.Layers) && p.net.Layers[i+1].Kind == ReLU && p.onlyReader(i+1)
	if relu {
		conv.InferReLU, conv.InferOut, p.layers[i+1].InferSkip = true, i+1, true
	}
	next := i + 1
	if relu {
		next = i + 2
	}
	if !p.layers[i-1].PerImage || next >= len(p.net.Layers) || !perImage(p.net.Layers[next]) {
		return
	}
	c := p.net.Layers[i].In.C
	p.layers[i].Split, p.layers[i].Reduced = true, 6*c // kernels.BatchNormCoefSize
	p.needAux(i, 2*c)
	if relu {
		p.layers[i+1].Fused, p.layers[i].FuseReLU = true, true
	}
}

// perImage reports whether layer l is computed image by image (see LayerPlan.PerImage).
func perImage(l *Layer) bool { t := l.Type(); return t.Role != RoleBatch && t.Role != RoleLoss }

// emitBN emits batch normalization on the whole batch, the statistics needing every
// image, or split into per-image code around the reduction (see planBN).
func emitBN(e Emitter, i int, l *Layer) LayerCode {
	c, hw := l.In.C, l.In.H*l.In.W
	if l.Plan.Split {
		return emitSplitBN(e, i, l)
	}
	stats := []jen.Code{e.Param(l.WeightOff, c), e.Param(l.BiasOff, c), e.Param(l.BufferOff, c), e.Param(l.BufferOff+c, c)}
	args := func(in, out jen.Code) []jen.Code {
		return append([]jen.Code{in, out, e.Batch(), lit(c), lit(hw)}, stats...)
	}
	train := call(kernel("BatchNormTrain"), append(args(e.In(i), e.Buf(i, "Out")), lit(float32(bnMomentum)), lit(float32(bnEps)))...)
	fwd := []jen.Code{jen.Comment("At inference the conv before computes this layer, folded in."), train}
	if !l.Plan.InferSkip {
		fwd = []jen.Code{
			jen.If(e.Train()).Block(train, jen.Return()),
			call(kernel("BatchNormInfer"), append(args(e.In(i), e.Buf(i, "Out")), lit(float32(bnEps)))...),
		}
	}
	bwd := []jen.Code{
		jen.Comment("The input gradient and those of the scale and shift come from one pass over the batch."),
		call(kernel("BatchNormBackward"), e.In(i), e.Buf(i, "Grad"), e.InGrad(i), e.Batch(), lit(c), lit(hw),
			e.Param(l.WeightOff, c), lit(float32(bnEps)), e.GradParam(i, l.WeightOff, c), e.GradParam(i, l.BiasOff, c)),
	}
	return LayerCode{Forward: fwd, Backward: bwd}
}

// emitSplitBN emits a split bn: each image's moments, their reduction into the
// coefficients (Reduced), each image's normalization, and the same for the gradient.
func emitSplitBN(e Emitter, i int, l *Layer) LayerCode {
	c, hw := l.In.C, l.In.H*l.In.W
	coef := e.Buf(i, "Reduced")
	gradGather := e.Views(i, "in", "dout", "aux")
	if l.Plan.FuseReLU {
		gradGather = append(gradGather,
			jen.Comment("dout becomes the gradient of the bn's output: zero where the fused ReLU cut it."),
			kernel("ReluBackward").Call(Image(e.Buf(i, "Out"), l.Out.Size()), id("dout")))
	}
	return LayerCode{
		Gather: append(e.Views(i, "in", "aux"), kernel("BatchNormMoments").Call(id("in"), lit(c), lit(hw), id("aux"))),
		Forward: []jen.Code{
			jen.Comment("The stage before took each image's moments, the stage after normalizes it."),
			call(kernel("BatchNormStats"), e.Buf(i, "Aux"), e.Batch(), lit(c), lit(hw), e.Param(l.WeightOff, c),
				e.Param(l.BufferOff, c), e.Param(l.BufferOff+c, c), lit(float32(bnMomentum)), lit(float32(bnEps)), coef),
		},
		Scatter: append(e.Views(i, "in", "out"),
			call(kernel("BatchNormApply"), id("in"), id("out"), lit(c), lit(hw), coef, e.Param(l.BiasOff, c), lit(l.Plan.FuseReLU))),
		GradGather: append(gradGather,
			call(kernel("BatchNormGradMoments"), id("in"), id("dout"), lit(c), lit(hw), coef, id("aux"))),
		Backward: []jen.Code{
			jen.Comment("The stage after took each image's gradient sums, the stage before writes its input gradient."),
			list(id("dgamma"), id("dbeta")).Op(":=").List(e.GradParam(i, l.WeightOff, c), e.GradParam(i, l.BiasOff, c)),
			call(kernel("BatchNormGradStats"), e.Buf(i, "Aux"), e.Batch(), lit(c), lit(hw), coef, id("dgamma"), id("dbeta")),
		},
		GradScatter: append(e.Views(i, "in", "dout", "din"),
			call(kernel("BatchNormGradApply"), id("in"), id("dout"), id("din"), lit(c), lit(hw), coef)),
	}
}

// bnStats returns the mean and 1/√(var + eps) of each channel: the batch's in training,
// the running statistics' in evaluation.
func bnStats(l *Layer, r *Ref) (mean, invStd []float64) {
	c, hw := l.In.C, l.In.H*l.In.W
	mean, invStd = make([]float64, c), make([]float64, c)
	for ch := range c {
		if !r.Train {
			mean[ch] = r.Params[l.BufferOff+ch]
			invStd[ch] = 1 / math.Sqrt(r.Params[l.BufferOff+c+ch]+bnEps)
			continue
		}
		m := float64(r.Batch * hw)
		var sum, sq float64
		for n := range r.Batch {
			for _, v := range r.In[(n*c+ch)*hw:][:hw] {
				sum += v
			}
		}
		mean[ch] = sum / m
		for n := range r.Batch {
			for _, v := range r.In[(n*c+ch)*hw:][:hw] {
				sq += (v - mean[ch]) * (v - mean[ch])
			}
		}
		invStd[ch] = 1 / math.Sqrt(sq/m+bnEps)
	}
	return mean, invStd
}

// bnForward is y = gamma·(x − mean)·invStd + beta per channel.
func bnForward(l *Layer, r *Ref) []float64 {
	c, hw := l.In.C, l.In.H*l.In.W
	mean, invStd := bnStats(l, r)
	y := make([]float64, len(r.In))
	for i, v := range r.In {
		ch := i / hw % c
		y[i] = r.Params[l.WeightOff+ch]*(v-mean[ch])*invStd[ch] + r.Params[l.BiasOff+ch]
	}
	return y
}

// bnBackward: in training the batch statistics depend on every input, so
// dx = gamma·invStd·(dy − mean(dy) − x̂·mean(dy·x̂)) over a channel's values; in
// evaluation dx = gamma·invStd·dy.
func bnBackward(l *Layer, r *Ref, dy []float64) []float64 {
	c, hw := l.In.C, l.In.H*l.In.W
	mean, invStd := bnStats(l, r)
	sumDy, sumDyXhat := make([]float64, c), make([]float64, c)
	for i, d := range dy {
		ch := i / hw % c
		sumDy[ch] += d
		sumDyXhat[ch] += d * (r.In[i] - mean[ch]) * invStd[ch]
	}
	for ch := range c {
		r.DParams[l.WeightOff+ch] += sumDyXhat[ch]
		r.DParams[l.BiasOff+ch] += sumDy[ch]
	}
	m := float64(r.Batch * hw)
	dx := make([]float64, len(dy))
	for i, d := range dy {
		ch := i / hw % c
		scale := r.Params[l.WeightOff+ch] * invStd[ch]
		if !r.Train {
			dx[i] = scale * d
			continue
		}
		xhat := (r.In[i] - mean[ch]) * invStd[ch]
		dx[i] = scale * (d - sumDy[ch]/m - xhat*sumDyXhat[ch]/m)
	}
	return dx
}

// bnONNX adds BatchNormalization with the running statistics (inference).
func bnONNX(g ONNXGraph, l *Layer) {
	g.Image(l)
	p, c := g.Params(), l.In.C
	in := []string{g.Cur(),
		g.Weight(l.Name+".weight", p[l.WeightOff:l.WeightOff+c], int64(c)),
		g.Weight(l.Name+".bias", p[l.BiasOff:l.BiasOff+c], int64(c)),
		g.Weight(l.Name+".running_mean", p[l.BufferOff:l.BufferOff+c], int64(c)),
		g.Weight(l.Name+".running_var", p[l.BufferOff+c:l.BufferOff+2*c], int64(c)),
	}
	g.Node("BatchNormalization", l.Name, l.Name+"/out", in, floatAttr("epsilon", bnEps))
}

// bnPyTorch declares BatchNorm2d, or BatchNorm1d on a full layer's flat output: both have
// PyTorch's momentum 0.1 and eps 1e-5, and the same state.
func bnPyTorch(m PyTorchModule, l *Layer) string {
	kind := "2d"
	if m.Flat() {
		kind = "1d"
	}
	return m.Module(fmt.Sprintf("nn.BatchNorm%s(%d)", kind, l.In.C)) + "(" + m.In(0) + ")"
}

package compiler

import (
	"math"

	"github.com/dave/jennifer/jen"
)

// softmax is the softmax cross-entropy loss (PyTorch's CrossEntropyLoss, with its
// label_smoothing ε from the workspace): the batch mean of −Σ_j q_j log softmax(s)_j with
// q = (1−ε)·onehot(y) + ε/K over the K classes; ε = 0 is −log softmax(s)[y].
var _ = register(&LayerType{
	Kind:     Softmax,
	Doc:      "softmax cross-entropy loss on the scores and the labels, with the label smoothing of `labelsmooth`",
	Role:     RoleLoss,
	EmitLoss: emitSoftmax,
	Loss64:   softmaxLoss,
	PyTorchLoss: func(*Layer) string {
		return "F.cross_entropy(scores, labels, label_smoothing=label_smoothing)"
	},
})

// emitSoftmax computes the loss as log Σ e^(s−m) − (1−ε)(s_y − m) − ε/K·Σ (s_j − m), m
// the largest score, and its gradient (softmax(s) − q)/batch; with ε = 0 both are the
// plain cross-entropy's to the last bit.
func emitSoftmax(e Emitter, l *Layer) (string, []jen.Code) {
	k := l.In.Size()
	return "softmax cross-entropy with the workspace's label smoothing ε, −Σ q log softmax(s) with " +
			"q = (1−ε)·onehot(y) + ε/K, and its gradient (softmax(s) − q)/batch", []jen.Code{
			id("eps").Op(":=").Add(e.Workspace()).Dot("LabelSmoothing"),
			id("m").Op(":=").Id("row").Index(lit(0)),
			jen.For(list(id("_"), id("v")).Op(":=").Range().Id("row")).Block(id("m").Op("=").Max(id("m"), id("v"))),
			jen.Var().List(id("sum"), id("shifted")).Float64(),
			jen.For(list(id("j"), id("v")).Op(":=").Range().Id("row")).Block(
				id("e").Op(":=").Qual("math", "Exp").Call(jen.Float64().Parens(id("v").Op("-").Id("m"))),
				id("d").Index(id("j")).Op("=").Float32().Parens(id("e")),
				id("sum").Op("+=").Id("e"),
				id("shifted").Op("+=").Float64().Parens(id("v").Op("-").Id("m"))),
			id("scale").Op(":=").Id("inv").Op("/").Float32().Parens(id("sum")),
			id("spread").Op(":=").Id("inv").Op("*").Id("eps").Op("/").Lit(float32(k)),
			jen.For(id("j").Op(":=").Range().Id("d")).Block(
				id("d").Index(id("j")).Op("=").Id("d").Index(id("j")).Op("*").Id("scale").Op("-").Id("spread")),
			id("d").Index(id("y")).Op("-=").Id("inv").Op("*").Parens(lit(float32(1)).Op("-").Id("eps")),
			id("total").Op("+=").Qual("math", "Log").Call(id("sum")).
				Op("-").Float64().Parens(lit(float32(1)).Op("-").Id("eps")).Op("*").Float64().Parens(id("row").Index(id("y")).Op("-").Id("m")).
				Op("-").Float64().Parens(id("eps")).Op("/").Lit(float64(k)).Op("*").Id("shifted"),
		}
}

// softmaxLoss is the reference: −Σ_j q_j log softmax(s)_j per image, q the smoothed
// one-hot target.
func softmaxLoss(l *Layer, s []float64, a LossArgs) (float64, []float64) {
	b, eps, k := float64(a.Batch), a.Smoothing, float64(l.In.Size())
	return lossRows(l, s, a.Batch, func(img int, row, drow []float64) (loss float64) {
		y := a.Labels[img]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(v - m)
		}
		logZ := m + math.Log(sum)
		for j, v := range row {
			q := eps / k
			if j == int(y) {
				q += 1 - eps
			}
			loss += q * (logZ - v) / b
			drow[j] = (math.Exp(v-logZ) - q) / b
		}
		return loss
	})
}

package compiler

import (
	"github.com/dave/jennifer/jen"
)

// euclidean is the sum-of-squares loss, 1/(2·batch) · Σ (s − t)², against targets or, when
// there are none, one-hot labels.
var _ = register(&LayerType{
	Kind:     Euclidean,
	Doc:      "euclidean (sum of squares) loss against targets, or one-hot labels",
	Role:     RoleLoss,
	EmitLoss: emitEuclidean,
	Loss64:   euclideanLoss,
	PyTorchLoss: func(*Layer) string {
		return "(scores - F.one_hot(labels, scores.shape[1])).pow(2).sum(1).mean() / 2"
	},
})

func emitEuclidean(e Emitter, l *Layer) (string, []jen.Code) {
	n := l.In.Size()
	return "the euclidean loss, Σ (s − t)²/2 with t the workspace's Targets (one-hot labels when nil), and its gradient",
		[]jen.Code{
			jen.For(list(id("j"), id("v")).Op(":=").Range().Id("row")).Block(
				id("t").Op(":=").Lit(float32(0)),
				jen.If(e.Workspace().Dot("Targets").Op("!=").Nil()).Block(
					id("t").Op("=").Add(e.Workspace().Dot("Targets")).Index(id("img").Op("*").Lit(n).Op("+").Id("j")),
				).Else().If(id("j").Op("==").Int().Parens(id("y"))).Block(id("t").Op("=").Lit(float32(1))),
				id("diff").Op(":=").Id("v").Op("-").Id("t"),
				id("total").Op("+=").Float64().Parens(id("diff").Op("*").Id("diff")).Op("/").Lit(2),
				id("d").Index(id("j")).Op("=").Id("diff").Op("*").Id("inv")),
		}
}

func euclideanLoss(l *Layer, s []float64, a LossArgs) (float64, []float64) {
	b, n := float64(a.Batch), l.In.Size()
	return lossRows(l, s, a.Batch, func(img int, row, drow []float64) (loss float64) {
		for j, v := range row {
			var t float64
			if a.Targets != nil {
				t = a.Targets[img*n+j]
			} else if j == int(a.Labels[img]) {
				t = 1
			}
			loss += (v - t) * (v - t) / (2 * b)
			drow[j] = (v - t) / b
		}
		return loss
	})
}

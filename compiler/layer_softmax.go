package compiler

import (
	"math"

	"github.com/dave/jennifer/jen"
)

// softmax is the softmax cross-entropy loss (PyTorch's CrossEntropyLoss): the batch mean
// of −log softmax(s)[y].
var _ = register(&LayerType{
	Kind:     Softmax,
	Doc:      "softmax cross-entropy loss on the scores and the labels",
	Role:     RoleLoss,
	EmitLoss: emitSoftmax,
	Loss64:   softmaxLoss,
})

func emitSoftmax(e Emitter, l *Layer) (string, []jen.Code) {
	return "softmax cross-entropy, −log softmax(s)[y], and its gradient (softmax(s) − onehot(y))/batch", []jen.Code{
		id("m").Op(":=").Id("row").Index(lit(0)),
		jen.For(list(id("_"), id("v")).Op(":=").Range().Id("row")).Block(id("m").Op("=").Max(id("m"), id("v"))),
		jen.Var().Id("sum").Float64(),
		jen.For(list(id("j"), id("v")).Op(":=").Range().Id("row")).Block(
			id("e").Op(":=").Qual("math", "Exp").Call(jen.Float64().Parens(id("v").Op("-").Id("m"))),
			id("d").Index(id("j")).Op("=").Float32().Parens(id("e")),
			id("sum").Op("+=").Id("e")),
		id("scale").Op(":=").Id("inv").Op("/").Float32().Parens(id("sum")),
		jen.For(id("j").Op(":=").Range().Id("d")).Block(id("d").Index(id("j")).Op("*=").Id("scale")),
		id("d").Index(id("y")).Op("-=").Id("inv"),
		id("total").Op("+=").Qual("math", "Log").Call(id("sum")).Op("-").Float64().Parens(id("row").Index(id("y")).Op("-").Id("m")),
	}
}

func softmaxLoss(l *Layer, s []float64, batch int, labels []int32, _ []float64) (float64, []float64) {
	b := float64(batch)
	return lossRows(l, s, batch, func(img int, row, drow []float64) (loss float64) {
		y := labels[img]
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
			drow[j] = math.Exp(v-logZ) / b
		}
		drow[y] -= 1 / b
		return (logZ - row[y]) / b
	})
}

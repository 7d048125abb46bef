package compiler

import (
	"fmt"
	"math"

	"github.com/dave/jennifer/jen"
)

// svm is the multiclass SVM (hinge) loss: the batch mean of Σ_{j≠y} max(0, s_j − s_y + margin).
var _ = register(&LayerType{
	Kind:     SVM,
	Doc:      "multiclass SVM hinge loss with a margin (default 1)",
	Role:     RoleLoss,
	Syntax:   Syntax{Options: []optionDef{{"margin", "", floatValue}}, Example: "svm margin1"},
	Build:    buildSVM,
	Summary:  func(l *Layer) string { return fmt.Sprintf("margin%g", l.Margin) },
	EmitLoss: emitSVM,
	Loss64:   svmLoss,
	Kink64:   svmKink,
	// PyTorch's multi_margin_loss divides each image's sum by the number of classes.
	PyTorchLoss: func(l *Layer) string {
		return "scores.shape[1] * F.multi_margin_loss(scores, labels, margin=" + PyFloat(l.Margin) + ")"
	},
})

func buildSVM(c *checker, l *Layer, la layerArgs) bool {
	l.Out, l.Margin = l.In, 1
	m, ok := la.options["margin"]
	if !ok {
		return true
	}
	if l.Margin, ok = parseFloat(m, "margin", &c.errs); !ok {
		return false
	}
	if l.Margin <= 0 {
		c.errorf(m.pos, "margin must be positive, not %s", m.text)
		return false
	}
	return true
}

func emitSVM(e Emitter, l *Layer) (string, []jen.Code) {
	margin := float32(l.Margin)
	return fmt.Sprintf("the multiclass SVM hinge loss, Σ_{j≠y} max(0, s_j − s_y + %g), and its gradient", l.Margin), []jen.Code{
		jen.Clear(id("d")),
		id("sy").Op(":=").Id("row").Index(id("y")),
		jen.For(list(id("j"), id("v")).Op(":=").Range().Id("row")).Block(
			jen.If(id("j").Op("==").Int().Parens(id("y"))).Block(jen.Continue()),
			jen.If(id("h").Op(":=").Id("v").Op("-").Id("sy").Op("+").Lit(margin), id("h").Op(">").Lit(float32(0))).Block(
				id("total").Op("+=").Float64().Parens(id("h")),
				id("d").Index(id("j")).Op("+=").Id("inv"),
				id("d").Index(id("y")).Op("-=").Id("inv"))),
	}
}

func svmLoss(l *Layer, s []float64, a LossArgs) (float64, []float64) {
	b := float64(a.Batch)
	return lossRows(l, s, a.Batch, func(img int, row, drow []float64) (loss float64) {
		y := a.Labels[img]
		for j, v := range row {
			if j == int(y) {
				continue
			}
			if margin := v - row[y] + l.Margin; margin > 0 {
				loss += margin / b
				drow[j] += 1 / b
				drow[y] -= 1 / b
			}
		}
		return loss
	})
}

// svmKink is the SVM loss's Kink64: the smallest magnitude of a margin term, where the
// hinge bends.
func svmKink(l *Layer, s []float64, batch int, labels []int32) float64 {
	dist := math.Inf(1)
	k := l.In.Size()
	for n := range batch {
		row := s[n*k : (n+1)*k]
		y := int(labels[n])
		for j, v := range row {
			if j != y {
				dist = math.Min(dist, math.Abs(v-row[y]+l.Margin))
			}
		}
	}
	return dist
}

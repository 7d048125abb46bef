package compiler

import (
	"math"

	"github.com/dave/jennifer/jen"
)

// sigmoid is 1/(1 + e^−x); its derivative in terms of its output is y(1 − y).
var sigmoid = elementwise{
	forward: func(v jen.Code) jen.Code {
		return lit(float32(1)).Op("/").Parens(lit(float32(1)).Op("+").Float32().Parens(
			jen.Qual("math", "Exp").Call(jen.Op("-").Float64().Parens(v))))
	},
	backward: id("dy").Op("*").Id("y").Op("*").Parens(lit(float32(1)).Op("-").Id("y")),
	ref:      func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
	refGrad:  func(_, y float64) float64 { return y * (1 - y) },
}

var _ = register(&LayerType{
	Kind:       Sigmoid,
	Doc:        "logistic sigmoid, 1/(1 + e^−x)",
	Role:       RoleActivation,
	Emit:       sigmoid.emit,
	Forward64:  sigmoid.forward64,
	Backward64: sigmoid.backward64,
	ONNX:       onnxNode("Sigmoid"),
	PyTorch:    pyActivation("torch.sigmoid"),
})

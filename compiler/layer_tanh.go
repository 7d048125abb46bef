package compiler

import (
	"math"

	"github.com/dave/jennifer/jen"
)

// tanh's derivative in terms of its output is 1 − y².
var tanh = elementwise{
	forward: func(v jen.Code) jen.Code {
		return jen.Float32().Parens(jen.Qual("math", "Tanh").Call(jen.Float64().Parens(v)))
	},
	backward: id("dy").Op("*").Parens(lit(float32(1)).Op("-").Id("y").Op("*").Id("y")),
	ref:      math.Tanh,
	refGrad:  func(_, y float64) float64 { return 1 - y*y },
}

var _ = register(&LayerType{
	Kind:       Tanh,
	Doc:        "hyperbolic tangent",
	Role:       RoleActivation,
	Emit:       tanh.emit,
	Forward64:  tanh.forward64,
	Backward64: tanh.backward64,
	ONNX:       onnxNode("Tanh"),
	PyTorch:    pyActivation("torch.tanh"),
})

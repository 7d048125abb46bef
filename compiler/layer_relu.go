package compiler

// relu is max(0, x). Right after a conv or full layer it is applied as that layer's output
// is stored (see planReLU).
var relu = elementwise{
	// A copy and a SIMD pass, not a loop of max (about 1 ns a value).
	forwardKernel: "Relu",
	// The gradient passes where y > 0 (not at 0, as in PyTorch), without a branch per value.
	backwardKernel: "ReluBackward",
	refGrad: func(x, _ float64) float64 {
		if x > 0 {
			return 1
		}
		return 0
	},
}

var _ = register(&LayerType{
	Kind:       ReLU,
	Doc:        "rectified linear unit, max(0, x); fused into the conv or full layer before it",
	Role:       RoleActivation,
	Plan:       planReLU,
	Emit:       relu.emit,
	Forward64:  reluForward,
	Backward64: relu.backward64,
	Kink64:     kinkAtZero,
	ONNX:       onnxNode("Relu"),
	PyTorch:    pyActivation("F.relu"),
})

// reluForward is max(0, x), the side of 0 as positive says.
func reluForward(_ *Layer, r *Ref) []float64 {
	y := make([]float64, len(r.In))
	for i, v := range r.In {
		if positive(r, i) {
			y[i] = v
		}
	}
	return y
}

// planReLU fuses a ReLU into the conv or full layer before it, which then applies it as
// its output is stored; the ReLU has no code of its own and shares that layer's buffers.
// Only a ReLU that is the one reader of that layer can.
func planReLU(p *planner, i int) {
	if !p.onlyReader(i) {
		return
	}
	if prev := p.net.Layers[i-1].Kind; prev == Conv || prev == Full {
		p.layers[i].Fused, p.layers[i-1].FuseReLU = true, true
	}
}

package compiler

// Tensor is one named part of a network's flat parameter slice.
type Tensor struct {
	// Name is "<layer>.<Part>", e.g. "conv1.weight".
	Name string
	// Layer is the owning layer's index in Net.Layers; Part is "weight", "bias" or "mean".
	Layer int
	Part  string
	// Offset and Size locate the tensor in the flat parameters.
	Offset, Size int
	// Shape is PyTorch's: conv weights [out, in/groups, kh, kw], full weights [out, in]
	// (the input flattened in C,H,W order), biases [out], means [C] or [C, H, W].
	Shape []int
	// FanIn and FanOut are the connections into and out of one unit, for initialization.
	FanIn, FanOut int
	// LRMult multiplies the learning rate (0 freezes the tensor).
	LRMult float64
	// Bias marks biases; Buffer marks stored values that are not learned (means).
	Bias, Buffer bool
}

// Tensors lists the parameter tensors in the order they sit in the flat parameters:
// every layer's weights and bias, then the buffers.
func (n *Net) Tensors() []Tensor {
	var ts []Tensor
	for i, l := range n.Layers {
		if l.Params == 0 {
			continue
		}
		shape, fanOut := l.Type().Tensors(l)
		fanIn := l.Weights() / l.Filters
		ts = append(ts,
			Tensor{Name: l.Name + ".weight", Layer: i, Part: "weight", Offset: l.WeightOff, Size: l.Weights(), Shape: shape, FanIn: fanIn, FanOut: fanOut, LRMult: l.LRMult},
			Tensor{Name: l.Name + ".bias", Layer: i, Part: "bias", Offset: l.BiasOff, Size: l.Filters, Shape: []int{l.Filters}, FanIn: fanIn, FanOut: fanOut, LRMult: l.LRMult, Bias: true})
	}
	for i, l := range n.Layers {
		if l.Buffer > 0 {
			shape := []int{l.In.C}
			if l.MeanImage {
				shape = []int{l.In.C, l.In.H, l.In.W}
			}
			ts = append(ts, Tensor{Name: l.Name + ".mean", Layer: i, Part: "mean", Offset: l.BiasOff, Size: l.Buffer, Shape: shape, Buffer: true})
		}
	}
	return ts
}

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
	// Bias marks biases and a normalization's scale and shift, which get no weight decay
	// unless asked; Buffer marks stored values that are not learned (means, running
	// statistics).
	Bias, Buffer bool
	// Init is the value a bias or buffer starts at: 0, or 1 for a batch norm's scale and
	// running variance.
	Init float32
}

// BufferTensor is one stored, not learned tensor of a layer: its part of the name
// ("mean", "running_var"), its shape and the value it starts at.
type BufferTensor struct {
	Part  string
	Shape []int
	Init  float32
}

// Tensors lists the parameter tensors in the order they sit in the flat parameters:
// every layer's weights and bias, then the buffers.
func (n *Net) Tensors() []Tensor {
	var ts []Tensor
	for i, l := range n.Layers {
		if l.Params == 0 {
			continue
		}
		t := l.Type()
		shape, fanOut := t.Tensors(l)
		fanIn := l.Weights() / l.Filters
		w := Tensor{Name: l.Name + ".weight", Layer: i, Part: "weight", Offset: l.WeightOff, Size: l.Weights(),
			Shape: shape, FanIn: fanIn, FanOut: fanOut, LRMult: l.LRMult}
		if t.NormParams { // a scale, starting at 1, decayed like a bias
			w.Bias, w.Init = true, 1
		}
		ts = append(ts, w)
		if !l.NoBias {
			ts = append(ts, Tensor{Name: l.Name + ".bias", Layer: i, Part: "bias", Offset: l.BiasOff, Size: l.Filters,
				Shape: []int{l.Filters}, FanIn: fanIn, FanOut: fanOut, LRMult: l.LRMult, Bias: true})
		}
	}
	for i, l := range n.Layers {
		if l.Buffer == 0 {
			continue
		}
		off := l.BufferOff
		for _, b := range l.Type().Buffers(l) {
			size := 1
			for _, d := range b.Shape {
				size *= d
			}
			ts = append(ts, Tensor{Name: l.Name + "." + b.Part, Layer: i, Part: b.Part, Offset: off, Size: size,
				Shape: b.Shape, Buffer: true, Init: b.Init})
			off += size
		}
	}
	return ts
}

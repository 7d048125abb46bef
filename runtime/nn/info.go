package nn

import "strings"

// Info describes a generated network. Generated code builds it once; callers must not
// modify it.
type Info struct {
	// Name is the spec's file name without extension, e.g. "cifar-small".
	Name string
	// SpecHash is the hex SHA-256 of the spec's source; checkpoints record it.
	SpecHash string
	// InC, InH and InW are the input shape of one image.
	InC, InH, InW int
	// Outputs is the number of scores per image (the classes, for a classifier).
	Outputs int
	// Loss is "softmax", "svm" or "euclidean".
	Loss string
	// Init is the spec's default initialization scheme: "he" or "xavier".
	Init string
	// NumParams is len(Params()).
	NumParams int
	// Layers lists every layer in order.
	Layers []LayerInfo
	// Params lists every parameter tensor in the order it sits in Params().
	Params []ParamTensor
	// Train holds the spec's training section, as written (keys and values).
	Train []Setting
}

// InputSize is the number of floats of one input image.
func (in *Info) InputSize() int { return in.InC * in.InH * in.InW }

// LayerInfo describes one layer of a generated network.
type LayerInfo struct {
	// Name is the layer's name in the spec or, when unnamed, its kind and 1-based index
	// among layers of that kind ("conv1", "full2").
	Name string
	// Kind is the layer's keyword in the spec: "conv", "relu", "pool", "full", ...
	Kind string
	// Out is the layer's output shape per image: channels, height, width.
	Out [3]int
	// Params and MACs are the parameter count and forward multiply-adds per image.
	Params, MACs int
}

// ParamTensor names one tensor inside Network.Params.
type ParamTensor struct {
	// Name is "<layer>.weight" or "<layer>.bias".
	Name string
	// Layer is the index of the owning layer in Info.Layers.
	Layer int
	// Offset and Size locate the tensor in Params.
	Offset, Size int
	// Shape is PyTorch's: conv weights [out, in/groups, kh, kw], full weights [out, in],
	// biases [out].
	Shape []int
	// Bias is true for biases and a normalization's scale and shift, which are excluded
	// from weight decay by default.
	Bias bool
	// Buffer is true for stored values that are not learned, such as the mean of a
	// meansub layer or a batch norm's running statistics: optimizers leave them alone.
	Buffer bool
	// Init is the value initialization gives a bias or buffer: 0, or 1 for a batch
	// norm's scale and running variance.
	Init float32
	// FanIn and FanOut are the connections into and out of one unit, for initialization.
	FanIn, FanOut int
	// LRMult multiplies the learning rate for this tensor (0 freezes it).
	LRMult float32
}

// Data returns the tensor's part of a flat parameter (or gradient) slice.
func (p *ParamTensor) Data(flat []float32) []float32 { return flat[p.Offset : p.Offset+p.Size] }

// Setting is one line of a spec's training section, e.g. {"lr", ["0.01"]}.
type Setting struct {
	Key    string
	Values []string
}

// BatchesTracked is the last part of the name of a batch norm's count of the training
// batches its running statistics have seen: PyTorch's BatchNorm keeps it in its
// state_dict, as an int64 scalar, beside running_mean and running_var.
const BatchesTracked = "num_batches_tracked"

// BatchCounters returns the names of the batch counters that go with the tensors named:
// "<layer>.num_batches_tracked" for each "<layer>.running_mean", in their order. netc
// writes them with its weights and checkpoints (holding the optimizer steps taken), so
// that PyTorch loads the files with load_state_dict(strict=True); it reads none of them
// back, and files without them load as well.
func BatchCounters(names []string) []string {
	var out []string
	for _, n := range names {
		if layer, ok := strings.CutSuffix(n, ".running_mean"); ok {
			out = append(out, layer+"."+BatchesTracked)
		}
	}
	return out
}

// Package compiler checks a parsed spec and infers every shape, turning it into Net, the
// intermediate representation that package gen emits code from. It also plans how each
// layer is computed (see Plan).
package compiler

import (
	"fmt"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/netc-dev/netc/dsl"
)

// Kind is a layer's kind.
type Kind string

// The layer kinds of the spec language.
const (
	Input     Kind = "input"
	Conv      Kind = "conv"
	ReLU      Kind = "relu"
	Leaky     Kind = "leaky"
	Tanh      Kind = "tanh"
	Sigmoid   Kind = "sigmoid"
	Pool      Kind = "pool"
	Full      Kind = "full"
	Dropout   Kind = "dropout"
	BN        Kind = "bn"
	Add       Kind = "add"
	Concat    Kind = "concat"
	Norm      Kind = "norm"
	MeanSub   Kind = "meansub"
	Softmax   Kind = "softmax"
	SVM       Kind = "svm"
	Euclidean Kind = "euclidean"
)

// IsLoss reports whether k is a loss layer.
func (k Kind) IsLoss() bool { return k.role() == RoleLoss }

// IsActivation reports whether k is an elementwise activation.
func (k Kind) IsActivation() bool { return k.role() == RoleActivation }

// role is the kind's role, or -1 for a kind netc does not know.
func (k Kind) role() Role {
	if t, ok := registry[k]; ok {
		return t.Role
	}
	return -1
}

// Shape is the shape of one image's activations: channels, height, width.
type Shape struct{ C, H, W int }

// Size is the number of values in the shape.
func (s Shape) Size() int { return s.C * s.H * s.W }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W) }

// Net is a checked network: every layer with its shapes, parameters and cost.
type Net struct {
	// Path is the spec's path as given; Name is its base name without extension.
	Path, Name string
	// Hash is the hex SHA-256 of the spec's source.
	Hash string
	// Input is the shape of one input image.
	Input Shape
	// Layers are the layers after input, in order; the last is the loss.
	Layers []*Layer
	// Params is the number of learnable parameters; Buffers the number of other stored
	// values (the means of meansub layers), which sit after them in the flat parameters.
	Params, Buffers int
	// MACs is the number of forward multiply-adds per image.
	MACs int64
	// Train is the training section, checked for known keys.
	Train []Setting
	// Warnings are problems that do not stop compilation.
	Warnings dsl.ErrorList
	// Plan is how every layer is computed, the workspace layout and the schedule.
	Plan NetPlan
}

// Loss returns the loss layer.
func (n *Net) Loss() *Layer { return n.Layers[len(n.Layers)-1] }

// Outputs is the number of scores per image.
func (n *Net) Outputs() int { return n.Loss().In.Size() }

// Layer is one checked layer.
type Layer struct {
	Pos lexer.Position
	// Name is the spec's name or, when unnamed, the kind and its 1-based index among layers
	// of that kind ("conv2").
	Name string
	Kind Kind
	// In and Out are the input and output shapes per image. A full layer's input is
	// flattened in C,H,W order; its output is Units×1×1. A merge's In is its first
	// input's.
	In, Out Shape
	// Inputs are the indexes in Net.Layers of the layers whose outputs this one reads, -1
	// for the network's input: the layer before it, or the one it names with from, then
	// for a merge the layers it names.
	Inputs []int
	// InputNames are the names of Inputs, "input" for the network's input; InShapes their
	// output shapes (InShapes[0] is In).
	InputNames []string
	InShapes   []Shape

	// Conv: Filters output channels of KH×KW kernels, strides SH, SW, padding PH, PW,
	// Groups groups. Pool uses KH, KW, SH, SW. Full: Filters is the number of units.
	Filters, KH, KW, SH, SW, PH, PW, Groups int
	// Avg selects average pooling (otherwise max); Global makes the window the whole input.
	Avg, Global bool
	// NoBias drops a conv layer's biases (before a batch norm, which has its own shift).
	NoBias bool
	// Prob is the dropout probability.
	Prob float64
	// LRN settings: Size channels, Alpha (as written; the formula divides it by Size),
	// Beta and K.
	Size              int
	Alpha, Beta, LRNK float64
	// MeanImage selects a mean image for meansub (otherwise one mean per channel).
	MeanImage bool
	// Margin is the SVM loss's margin.
	Margin float64
	// Slope is the leaky ReLU's slope for negative inputs.
	Slope float64
	// LRMult multiplies the learning rate of the layer's parameters (0 freezes them).
	LRMult float64

	// Params is the number of learnable parameters; Buffer the number of stored
	// non-learnable values. WeightOff, BiasOff and BufferOff locate weights, biases and
	// buffers (a mean, running statistics) in the flat parameter slice.
	Params, Buffer                int
	WeightOff, BiasOff, BufferOff int
	// MACs is the number of forward multiply-adds per image.
	MACs int64

	// Plan says how the layer is computed: the layer's entry in Net.Plan.Layers.
	Plan *LayerPlan
}

// Weights is the number of weights (without biases) of a layer with weights.
func (l *Layer) Weights() int {
	t := l.Type()
	if t == nil || t.Tensors == nil {
		return 0
	}
	shape, _ := t.Tensors(l)
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Options describes the layer's settings compactly for summaries, e.g. "16 5x5 s1 p2".
func (l *Layer) Options() string {
	if t := l.Type(); t != nil && t.Summary != nil {
		return t.Summary(l)
	}
	return ""
}

// Setting is one checked line of the training section.
type Setting struct {
	Pos    lexer.Position
	Key    string
	Values []string
}

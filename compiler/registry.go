package compiler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"
)

// LayerType is everything netc knows about one kind of layer: how a spec writes it, how its
// shape, parameters and cost follow from its input, how it is planned and emitted as Go, its
// float64 reference, its ONNX nodes and its PyTorch module. Each kind is defined in a file
// of its own (layer_conv.go, layer_leaky.go, …) and registered there with register;
// nothing outside those files switches over kinds. A nil function means the kind has no such part.
type LayerType struct {
	Kind Kind
	// Doc is the kind's one-line description, in the README's table (see LayerTable).
	Doc string
	// Role says where the kind may stand and how it is computed.
	Role Role
	// Syntax declares the arguments a spec may give the kind.
	Syntax Syntax

	// Build reads the layer's arguments into l and, when the input shape is known (c.ok),
	// sets its output shape, parameters and multiply-adds; it reports whether the layer is
	// valid. Nil: the output has the input's shape and there are no parameters.
	Build func(c *checker, l *Layer, a layerArgs) bool
	// Summary describes the layer's settings compactly, e.g. "16 5x5 s1 p2".
	Summary func(l *Layer) string
	// Tensors gives the PyTorch shape of the weights and the fan-out of one input unit,
	// for a kind with weights and one bias per output channel. NormParams marks the
	// weights as a normalization's scale: starting at 1, with no weight decay by default.
	Tensors    func(l *Layer) (weightShape []int, fanOut int)
	NormParams bool
	// Buffers lists the layer's stored, not learned tensors, in order (Layer.Buffer
	// values in all).
	Buffers func(l *Layer) []BufferTensor

	// Plan makes the layer's kernel choices and sizes its scratch space.
	Plan func(p *planner, i int)

	// Emit returns the layer's generated forward and backward code (see Emitter).
	Emit func(e Emitter, i int, l *Layer) LayerCode
	// EmitLoss returns, for a loss, what the doc of its generated loss method says it
	// computes and the code that computes one image's loss into total and its gradient
	// into d from its scores row and label y.
	EmitLoss func(e Emitter, l *Layer) (doc string, perImage []jen.Code)

	// Forward64 and Backward64 are the float64 reference: the layer's output for the
	// batch r.In, and the gradient with respect to r.In given dy, adding the parameters'
	// gradients to r.DParams.
	Forward64  func(l *Layer, r *Ref) []float64
	Backward64 func(l *Layer, r *Ref, dy []float64) []float64
	// MergeBackward64 is a merge's Backward64: the gradient with respect to each input.
	MergeBackward64 func(l *Layer, r *Ref, dy []float64) [][]float64
	// Loss64 is a loss's reference: the mean loss of the batch of scores s and its
	// gradient.
	Loss64 func(l *Layer, s []float64, a LossArgs) (float64, []float64)
	// Kink64, for a kind that is not differentiable everywhere, returns how close the
	// batch in (the layer's input; for a loss, the scores) comes to a point where it is
	// not: a ReLU input at 0, a tie for a max pool's largest value. A gradient check
	// draws its data away from those points, where a central difference straddles the
	// kink and float32 and float64 may take different sides of it.
	Kink64 func(l *Layer, in []float64, batch int, labels []int32) float64

	// ONNX adds the layer's nodes to an ONNX graph; nil only for a layer that is the
	// identity at inference, which says so with InferenceIdentity.
	ONNX              func(g ONNXGraph, l *Layer)
	InferenceIdentity bool

	// PyTorch returns the Python expression of the layer's output in the forward of the
	// exported nn.Module (package pytorch), declaring its submodule if it has one; every
	// kind but the input and the losses has it. PyTorchLoss returns, for a loss, the
	// expression of the batch's mean loss from "scores" ([N, outputs]) and "labels"
	// (int64 [N]).
	PyTorch     func(m PyTorchModule, l *Layer) string
	PyTorchLoss func(l *Layer) string
}

// Role is where a kind of layer may stand and how it is computed.
type Role int

const (
	// RoleLayer is an ordinary layer computed image by image.
	RoleLayer Role = iota
	// RoleBatch is a layer computed on the whole batch at once (full, dropout).
	RoleBatch
	// RoleActivation is an elementwise activation.
	RoleActivation
	// RoleLoss is a loss, the last layer.
	RoleLoss
	// RoleInput is the input, the first line.
	RoleInput
)

// Syntax declares the arguments a kind of layer takes.
type Syntax struct {
	// Number and Dims name the positional number and dimensions the kind takes, if any.
	Number, Dims string
	// FloatNumber makes the positional number a float (dropout's probability);
	// OptionalNumber lets it be left out.
	FloatNumber, OptionalNumber bool
	// Flags are words without values; a group of flags is one option ("max" or "avg").
	Flags   []string
	Options []optionDef
	// Words are words a layer may say or not, each on its own: floor (leaving input its
	// windows do not reach unused is meant: no warning), nobias, global.
	Words []string
	// OptionalDims lets the dimensions be left out (pool's global takes the whole input).
	OptionalDims bool
	// Names says what the layer names a merge takes are ("layers to add"); a merge's
	// words are all layer names.
	Names string
	// Example is a complete layer, shown in errors and docs.
	Example string
}

// registry holds every kind of layer, in the order Kinds lists them.
var registry = map[Kind]*LayerType{}

// register adds a kind of layer to the registry; each layer file calls it once.
func register(t *LayerType) *LayerType {
	registry[t.Kind] = t
	return t
}

// Lookup returns the definition of a kind of layer.
func Lookup(k Kind) (*LayerType, bool) {
	t, ok := registry[k]
	return t, ok
}

// Type returns the definition of the layer's kind, which Check has made sure exists.
func (l *Layer) Type() *LayerType { return registry[l.Kind] }

// roleRank orders the roles in Kinds: the input, the layers, the activations, the losses.
var roleRank = map[Role]int{RoleInput: 0, RoleLayer: 1, RoleBatch: 1, RoleActivation: 2, RoleLoss: 3}

// Kinds lists every kind of layer: the input, then the ordinary layers, the activations
// and the losses, each group in alphabetical order.
func Kinds() []*LayerType {
	ts := make([]*LayerType, 0, len(registry))
	for _, t := range registry {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *LayerType) int {
		if d := roleRank[a.Role] - roleRank[b.Role]; d != 0 {
			return d
		}
		return strings.Compare(string(a.Kind), string(b.Kind))
	})
	return ts
}

// kindList lists the kinds' keywords in the order of Kinds.
func kindList() []string {
	var names []string
	for _, t := range Kinds() {
		names = append(names, string(t.Kind))
	}
	return names
}

// kindNames lists the kinds for error messages: "input, conv, …".
func kindNames() string { return strings.Join(kindList(), ", ") }

// lossNames lists the losses for error messages: "euclidean, softmax or svm".
func lossNames() string {
	var names []string
	for _, t := range Kinds() {
		if t.Role == RoleLoss {
			names = append(names, string(t.Kind))
		}
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// LayerTable is the README's table of layer kinds, one row a kind in the order of Kinds:
// its example, its options and its one-line doc.
func LayerTable() string {
	var b strings.Builder
	b.WriteString("| layer | example | options | what it is |\n|---|---|---|---|\n")
	for _, t := range Kinds() {
		example := string(t.Kind)
		if t.Syntax.Example != "" {
			example = t.Syntax.Example
		}
		var opts []string
		if len(t.Syntax.Flags) > 0 {
			opts = append(opts, strings.Join(t.Syntax.Flags, "\\|"))
		}
		for _, o := range t.Syntax.Options {
			name := o.long
			if o.short != "" {
				name += "/" + o.short
			}
			opts = append(opts, name)
		}
		opts = append(opts, t.Syntax.Words...)
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", t.Kind, example, strings.Join(opts, ", "), t.Doc)
	}
	return b.String()
}

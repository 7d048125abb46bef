// Package onnx exports a checked network with its parameters as an ONNX model, for ONNX
// Runtime and the other tools that read ONNX.
//
// The model (IR version 8, opset 13, producer "netc") takes one input, "input", of shape
// [batch, C, H, W] float32, and gives the network's scores before the loss as "scores",
// [batch, outputs]; a network ending in a softmax loss also gives "probs", the softmax of
// the scores along axis 1. The loss itself is not exported. Each layer becomes the node
// of the same meaning:
//
//	conv              Conv (kernel_shape, strides, pads, group), weight and bias
//	relu/tanh/sigmoid Relu, Tanh, Sigmoid
//	leaky             LeakyRelu (alpha: the slope)
//	pool              MaxPool or AveragePool (kernel_shape, strides; no padding, floor)
//	full              Flatten (axis 1) then Gemm (transB 1), weight and bias
//	norm              LRN (size, alpha, beta, bias), or the same formula in elementary
//	                  nodes when ONNX Runtime's LRN cannot express it (see below)
//	meansub           Sub of the mean, shaped [1, C, 1, 1] or [1, C, H, W]
//	dropout           nothing: dropout is the identity at inference
//
// A layer that needs an image ([N, C, H, W]) after a full layer, whose output is flat
// ([N, units]), is preceded by a Reshape to [N, units, 1, 1].
//
// Parameters become initializers named as in netc's safetensors files and the PyTorch twins
// of the networks: "<layer>.weight" and "<layer>.bias" with PyTorch's shapes (conv weights
// [out, in/groups, kh, kw], full weights [out, in]) and "<layer>.mean" for a meansub
// layer's mean. The few constants the export adds are named after their layer too
// ("<layer>.shape" for a Reshape; "<layer>.window", ".k" and ".exponent" for an LRN in
// elementary nodes). Values between nodes are named "<layer>/out" (and "<layer>/<step>"
// inside a layer that takes several nodes).
//
// Local response normalization: netc, Caffe and PyTorch compute
// y_c = x_c / (k + alpha/size · Σ x_i²)^beta over the channels i from c − ⌊size/2⌋ to
// c + ⌊(size−1)/2⌋. ONNX's LRN divides alpha by size too, and for an odd size its window
// is the same; for an even size ONNX centres the window one channel later, and ONNX
// Runtime rejects even sizes and alpha or beta of zero. Those cases are exported as
// Mul (x²), a 1×1 Conv with a fixed [C, C, 1, 1] band of alpha/size (the window sums),
// Add k, Pow −beta and Mul by x, which is the formula itself.
//
// The output is deterministic: the same network and parameters give the same bytes.
// Protobuf is encoded directly with protowire from the field numbers of onnx.proto.
package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/netc-dev/netc/compiler"
)

// The versions written into every model.
const (
	// IRVersion is the ONNX IR version (8: ONNX 1.10 and later).
	IRVersion = 8
	// Opset is the version of the default ("ai.onnx") operator set.
	Opset = 13
	// Producer is the model's producer_name.
	Producer = "netc"
)

// The names of the graph's inputs and outputs.
const (
	InputName  = "input"
	ScoresName = "scores"
	ProbsName  = "probs"
	// BatchParam is the symbolic name of the batch dimension.
	BatchParam = "batch"
)

// Field numbers of onnx.proto (package onnx) and the enum values used.
const (
	modelIRVersion    = 1 // ModelProto.ir_version
	modelProducerName = 2
	modelGraph        = 7
	modelOpsetImport  = 8

	opsetVersion = 2 // OperatorSetIdProto.version (domain 1 left empty: ai.onnx)

	graphNode        = 1 // GraphProto.node
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1 // NodeProto.input
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5

	attrName  = 1 // AttributeProto.name
	attrF     = 2
	attrI     = 3
	attrInts  = 8
	attrType  = 20
	typeFloat = 1 // AttributeProto.AttributeType
	typeInt   = 2
	typeInts  = 7

	tensorDims     = 1 // TensorProto.dims
	tensorDataType = 2
	tensorName     = 8
	tensorRawData  = 9
	dtypeFloat     = 1 // TensorProto.DataType
	dtypeInt64     = 7

	valueName  = 1 // ValueInfoProto.name
	valueType  = 2
	typeTensor = 1 // TypeProto.tensor_type
	elemType   = 1 // TypeProto.Tensor.elem_type
	elemShape  = 2
	shapeDim   = 1 // TensorShapeProto.dim
	dimValue   = 1 // TensorShapeProto.Dimension.dim_value
	dimParam   = 2
)

// Export writes net with the flat parameters params (net.Params learnable values followed
// by net.Buffers buffers, laid out as the compiler placed them) to w as an ONNX model.
// params is only read.
func Export(w io.Writer, net *compiler.Net, params []float32) error {
	m, err := model(net, params)
	if err != nil {
		return err
	}
	return m.writeTo(w)
}

// model builds the ModelProto.
func model(net *compiler.Net, params []float32) (*message, error) {
	if net == nil || len(net.Layers) == 0 {
		return nil, errors.New("onnx: empty network")
	}
	if want := net.Params + net.Buffers; len(params) != want {
		return nil, fmt.Errorf("onnx: %s has %d parameters, got %d", net.Name, want, len(params))
	}
	g := &graph{params: params, cur: InputName}
	outs := make([]value, len(net.Layers)) // each layer's output value
	for i, l := range net.Layers[:len(net.Layers)-1] {
		g.read(l, outs)
		g.layer(l)
		outs[i] = value{g.cur, g.flat}
	}
	loss := net.Loss()
	if !loss.Kind.IsLoss() {
		return nil, fmt.Errorf("onnx: the last layer %s is a %s, not a loss", loss.Name, loss.Kind)
	}
	g.read(loss, outs)
	// The scores are the loss's input, flattened to [N, outputs].
	if !g.flat {
		g.node("Flatten", loss.Name+"/flatten", ScoresName, []string{g.cur}, intAttr("axis", 1))
	} else {
		g.nodes[len(g.nodes)-1].out[0] = ScoresName
	}
	outputs := []*message{valueInfo(ScoresName, BatchParam, int64(net.Outputs()))}
	if loss.Kind == compiler.Softmax {
		g.node("Softmax", loss.Name, ProbsName, []string{ScoresName}, intAttr("axis", 1))
		outputs = append(outputs, valueInfo(ProbsName, BatchParam, int64(net.Outputs())))
	}

	gr := &message{}
	for _, n := range g.nodes {
		gr.msg(graphNode, n.encode())
	}
	name := net.Name
	if name == "" {
		name = "netc"
	}
	gr.str(graphName, name)
	for _, t := range g.inits {
		gr.msg(graphInitializer, t)
	}
	in := net.Input
	gr.msg(graphInput, valueInfo(InputName, BatchParam, int64(in.C), int64(in.H), int64(in.W)))
	for _, o := range outputs {
		gr.msg(graphOutput, o)
	}

	m := &message{}
	m.int(modelIRVersion, IRVersion)
	m.str(modelProducerName, Producer)
	m.msg(modelGraph, gr)
	opset := &message{}
	opset.int(opsetVersion, Opset)
	m.msg(modelOpsetImport, opset)
	return m, nil
}

// graph accumulates the nodes and initializers of a chain of layers.
type graph struct {
	params []float32
	nodes  []node
	inits  []*message
	// cur names the value flowing into the next layer; flat says it is [N, features]
	// (after a full layer) rather than [N, C, H, W]. inputs are the values a merge reads.
	cur    string
	flat   bool
	inputs []string
}

// value is a named value between nodes and whether it is flat.
type value struct {
	name string
	flat bool
}

// read makes the values layer l reads the current ones: its first input, and for a merge
// all of them.
func (g *graph) read(l *compiler.Layer, outs []value) {
	g.inputs = g.inputs[:0]
	for k, p := range l.Inputs {
		v := value{InputName, false}
		if p >= 0 {
			v = outs[p]
		}
		if k == 0 {
			g.cur, g.flat = v.name, v.flat
		}
		g.inputs = append(g.inputs, v.name)
	}
}

// Inputs names the values a merge reads.
func (g *graph) Inputs() []string { return append([]string(nil), g.inputs...) }

// node is one NodeProto; attrs are encoded AttributeProtos.
type node struct {
	op, name string
	in, out  []string
	attrs    []*message
}

func (n *node) encode() *message {
	m := &message{}
	for _, s := range n.in {
		m.str(nodeInput, s)
	}
	for _, s := range n.out {
		m.str(nodeOutput, s)
	}
	m.str(nodeName, n.name)
	m.str(nodeOpType, n.op)
	for _, a := range n.attrs {
		m.msg(nodeAttribute, a)
	}
	return m
}

// node adds a node with one output, which becomes the current value.
func (g *graph) node(op, name, out string, in []string, attrs ...*message) {
	g.nodes = append(g.nodes, node{op: op, name: name, in: in, out: []string{out}, attrs: attrs})
	g.cur = out
}

// weight adds a float initializer of the given shape holding data and returns its name.
func (g *graph) weight(name string, data []float32, dims ...int64) string {
	t := &message{}
	t.ints(tensorDims, dims...)
	t.int(tensorDataType, dtypeFloat)
	t.str(tensorName, name)
	t.floats(tensorRawData, data)
	g.inits = append(g.inits, t)
	return name
}

// int64s adds an int64 initializer of shape [len(vs)] and returns its name.
func (g *graph) int64s(name string, vs ...int64) string {
	raw := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	t := &message{}
	t.ints(tensorDims, int64(len(vs)))
	t.int(tensorDataType, dtypeInt64)
	t.str(tensorName, name)
	t.str(tensorRawData, string(raw))
	g.inits = append(g.inits, t)
	return name
}

// layer adds the nodes of one layer before the loss, from its kind's ONNX function; a
// kind without one is the identity at inference (dropout).
func (g *graph) layer(l *compiler.Layer) {
	if f := l.Type().ONNX; f != nil {
		f(g, l)
	}
}

// The graph is the compiler.ONNXGraph the layers add their nodes to.
var _ compiler.ONNXGraph = (*graph)(nil)

// Cur names the value flowing into the next layer.
func (g *graph) Cur() string { return g.cur }

// SetFlat says the current value is [N, features].
func (g *graph) SetFlat() { g.flat = true }

// Params are the network's flat parameters.
func (g *graph) Params() []float32 { return g.params }

// Weight adds a float initializer; see weight.
func (g *graph) Weight(name string, data []float32, dims ...int64) string {
	return g.weight(name, data, dims...)
}

// Node adds a node with one output, which becomes the current value.
func (g *graph) Node(op, name, out string, in []string, attrs ...compiler.ONNXAttr) {
	enc := make([]*message, len(attrs))
	for i, a := range attrs {
		switch a.Type {
		case compiler.AttrInt:
			enc[i] = intAttr(a.Name, a.Int)
		case compiler.AttrInts:
			enc[i] = intsAttr(a.Name, a.Ints...)
		case compiler.AttrFloat:
			enc[i] = floatAttr(a.Name, a.Float)
		}
	}
	g.node(op, name, out, in, enc...)
}

// Image makes the current value [N, C, H, W] again after a full layer.
func (g *graph) Image(l *compiler.Layer) {
	if !g.flat {
		return
	}
	shape := g.int64s(l.Name+".shape", 0, int64(l.In.C), int64(l.In.H), int64(l.In.W))
	g.node("Reshape", l.Name+"/reshape", l.Name+"/image", []string{g.cur, shape})
	g.flat = false
}

// valueInfo is a ValueInfoProto for a float tensor; dims are strings (symbolic) or int64s.
func valueInfo(name string, dims ...any) *message {
	shape := &message{}
	for _, d := range dims {
		dim := &message{}
		switch d := d.(type) {
		case string:
			dim.str(dimParam, d)
		case int64:
			dim.int(dimValue, d)
		}
		shape.msg(shapeDim, dim)
	}
	tensor := &message{}
	tensor.int(elemType, dtypeFloat)
	tensor.msg(elemShape, shape)
	typ := &message{}
	typ.msg(typeTensor, tensor)
	v := &message{}
	v.str(valueName, name)
	v.msg(valueType, typ)
	return v
}

func intAttr(name string, v int64) *message {
	a := &message{}
	a.str(attrName, name)
	a.int(attrI, v)
	a.int(attrType, typeInt)
	return a
}

func intsAttr(name string, vs ...int64) *message {
	a := &message{}
	a.str(attrName, name)
	a.ints(attrInts, vs...)
	a.int(attrType, typeInts)
	return a
}

func floatAttr(name string, v float32) *message {
	a := &message{}
	a.str(attrName, name)
	a.float(attrF, v)
	a.int(attrType, typeFloat)
	return a
}

package compiler

import (
	"strings"

	"github.com/dave/jennifer/jen"
)

// add is the elementwise sum of its input and the layers it names, which must all have
// the same shape: ResNet's skip connections, Darknet's [shortcut].
var _ = register(&LayerType{
	Kind:            Add,
	Doc:             "elementwise sum of its input and the named layers' outputs, all of one shape (a skip connection)",
	Syntax:          Syntax{Names: "layers to add", Example: "add conv1"},
	Build:           buildAdd,
	Emit:            emitAdd,
	Forward64:       addForward,
	MergeBackward64: addBackward,
	ONNX:            addONNX,
	PyTorch: func(m PyTorchModule, l *Layer) string {
		ins := make([]string, len(l.Inputs))
		for k := range ins {
			ins[k] = m.Image(k)
		}
		return strings.Join(ins, " + ")
	},
})

func buildAdd(c *checker, l *Layer, la layerArgs) bool {
	l.Out = l.In
	if !c.ok {
		return true
	}
	ok := true
	for k, s := range l.InShapes[1:] {
		if s != l.In {
			c.errorf(la.names[k].pos, "%s's output %s cannot be added to %s's %s: the shapes must be equal",
				l.InputNames[k+1], s, l.InputNames[0], l.In)
			ok = false
		}
	}
	return ok
}

// emitAdd emits out = the sum of the inputs, image by image; backward, each input's
// gradient is the output's.
func emitAdd(e Emitter, i int, l *Layer) LayerCode {
	n := l.Out.Size()
	fwd := append(e.Views(i, "out"), jen.Copy(id("out"), Image(e.Input(i, 0), n)))
	var input []jen.Code
	input = append(input, e.Views(i, "dout")...)
	for k := range l.Inputs {
		if k > 0 {
			fwd = append(fwd, kernel("Add").Call(Image(e.Input(i, k), n), id("out")))
		}
		input = append(input, jen.Copy(Image(e.InputGrad(i, k), n), id("dout")))
	}
	return LayerCode{Forward: fwd, Input: input}
}

func addForward(_ *Layer, r *Ref) []float64 {
	y := append([]float64(nil), r.Ins[0]...)
	for _, in := range r.Ins[1:] {
		for j, v := range in {
			y[j] += v
		}
	}
	return y
}

func addBackward(l *Layer, _ *Ref, dy []float64) [][]float64 {
	d := make([][]float64, len(l.Inputs))
	for k := range d {
		d[k] = append([]float64(nil), dy...)
	}
	return d
}

// addONNX adds Add for two inputs, Sum for more.
func addONNX(g ONNXGraph, l *Layer) {
	op := "Add"
	if len(l.Inputs) > 2 {
		op = "Sum"
	}
	g.Node(op, l.Name, l.Name+"/out", g.Inputs())
}

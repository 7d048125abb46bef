package compiler

import (
	"strings"

	"github.com/dave/jennifer/jen"
)

// concat joins its input and the layers it names along the channels, in that order; all
// must have the same height and width: Darknet's [route], Inception's filter
// concatenation.
var _ = register(&LayerType{
	Kind:            Concat,
	Doc:             "joins its input and the named layers' outputs along the channels (same height and width)",
	Syntax:          Syntax{Names: "layers to join", Example: "concat conv1"},
	Build:           buildConcat,
	Emit:            emitConcat,
	Forward64:       concatForward,
	MergeBackward64: concatBackward,
	ONNX: func(g ONNXGraph, l *Layer) {
		g.Node("Concat", l.Name, l.Name+"/out", g.Inputs(), intAttr("axis", 1))
	},
	PyTorch: func(m PyTorchModule, l *Layer) string {
		ins := make([]string, len(l.Inputs))
		for k := range ins {
			ins[k] = m.Image(k)
		}
		return "torch.cat((" + strings.Join(ins, ", ") + "), 1)"
	},
})

func buildConcat(c *checker, l *Layer, la layerArgs) bool {
	if !c.ok {
		return true
	}
	l.Out = l.In
	ok := true
	for k, s := range l.InShapes[1:] {
		if s.H != l.In.H || s.W != l.In.W {
			c.errorf(la.names[k].pos, "%s's output %s cannot be joined to %s's %s: the heights and widths must be equal",
				l.InputNames[k+1], s, l.InputNames[0], l.In)
			ok = false
		}
		l.Out.C += s.C
	}
	return ok && c.checkSize(l.Pos, "output", l.Out)
}

// emitConcat emits the copies of each input's channels into the output, image by image,
// and backward of the output gradient's channels into each input's gradient.
func emitConcat(e Emitter, i int, l *Layer) LayerCode {
	fwd, input := e.Views(i, "out"), e.Views(i, "dout")
	off := 0
	for k, s := range l.InShapes {
		n := s.Size()
		fwd = append(fwd, jen.Copy(id("out").Index(lit(off), lit(off+n)), Image(e.Input(i, k), n)))
		input = append(input, jen.Copy(Image(e.InputGrad(i, k), n), id("dout").Index(lit(off), lit(off+n))))
		off += n
	}
	return LayerCode{Forward: fwd, Input: input}
}

func concatForward(l *Layer, r *Ref) []float64 {
	y := make([]float64, 0, r.Batch*l.Out.Size())
	for n := range r.Batch {
		for k, s := range l.InShapes {
			y = append(y, r.Ins[k][n*s.Size():(n+1)*s.Size()]...)
		}
	}
	return y
}

func concatBackward(l *Layer, r *Ref, dy []float64) [][]float64 {
	d := make([][]float64, len(l.InShapes))
	off := 0
	for range r.Batch {
		for k, s := range l.InShapes {
			d[k] = append(d[k], dy[off:off+s.Size()]...)
			off += s.Size()
		}
	}
	return d
}

package compiler

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// meansub subtracts a stored mean, one value per channel or a whole mean image, fitted on
// the training data before training; it is not learned.
var _ = register(&LayerType{
	Kind:   MeanSub,
	Doc:    "subtracts the training data's mean, per channel (default) or as a mean image; not learned",
	Syntax: Syntax{Flags: []string{"channel", "image"}, Example: "meansub channel"},
	Build: func(c *checker, l *Layer, la layerArgs) bool {
		l.Out = l.In
		l.MeanImage = la.flag != nil && la.flag.text == "image"
		l.Buffer = l.In.C
		if l.MeanImage {
			l.Buffer = l.In.Size()
		}
		return true
	},
	Summary: func(l *Layer) string {
		if l.MeanImage {
			return "image"
		}
		return "channel"
	},
	Buffers: func(l *Layer) []BufferTensor {
		if l.MeanImage {
			return []BufferTensor{{Part: "mean", Shape: []int{l.In.C, l.In.H, l.In.W}}}
		}
		return []BufferTensor{{Part: "mean", Shape: []int{l.In.C}}}
	},
	Emit:       emitMeanSub,
	Forward64:  meanSubForward,
	Backward64: func(_ *Layer, _ *Ref, dy []float64) []float64 { return append([]float64(nil), dy...) },
	ONNX:       meanSubONNX,
	PyTorch:    meanSubPyTorch,
})

// emitMeanSub emits the subtraction of the mean stored in the layer's buffer. Its gradient
// passes through unchanged.
func emitMeanSub(e Emitter, i int, l *Layer) LayerCode {
	fwd := append(e.Views(i, "in", "out"), id("mean").Op(":=").Add(e.Param(l.BufferOff, l.Buffer)))
	if l.MeanImage {
		fwd = append(fwd, jen.For(list(id("j"), id("v")).Op(":=").Range().Id("in")).Block(
			id("out").Index(id("j")).Op("=").Id("v").Op("-").Id("mean").Index(id("j"))))
	} else {
		hw := l.In.H * l.In.W
		plane := func(buf string) *jen.Statement {
			return id(buf).Index(id("c").Op("*").Lit(hw), id("c").Op("*").Lit(hw).Op("+").Lit(hw))
		}
		fwd = append(fwd, ForRange("c", lit(0), lit(l.In.C),
			id("m").Op(":=").Id("mean").Index(id("c")),
			id("o").Op(":=").Add(plane("out")),
			jen.For(list(id("j"), id("v")).Op(":=").Range().Add(plane("in"))).Block(
				id("o").Index(id("j")).Op("=").Id("v").Op("-").Id("m"))))
	}
	bwd := append(e.Views(i, "dout", "din"), jen.Copy(id("din"), id("dout")))
	return LayerCode{Forward: fwd, Input: bwd}
}

// meanSubForward subtracts the layer's mean: one value per channel, or a whole mean image.
func meanSubForward(l *Layer, r *Ref) []float64 {
	y := make([]float64, len(r.In))
	for n := range r.Batch {
		for c := range l.In.C {
			for h := range l.In.H {
				for w := range l.In.W {
					mean := r.Params[l.BufferOff+c]
					if l.MeanImage {
						mean = r.Params[l.BufferOff+(c*l.In.H+h)*l.In.W+w]
					}
					i := at(l.In, n, c, h, w)
					y[i] = r.In[i] - mean
				}
			}
		}
	}
	return y
}

// meanSubONNX adds Sub of the mean per channel ([1, C, 1, 1]) or image ([1, C, H, W]).
func meanSubONNX(g ONNXGraph, l *Layer) {
	g.Image(l)
	mean := g.Params()[l.BufferOff : l.BufferOff+l.Buffer]
	var m string
	if l.MeanImage {
		m = g.Weight(l.Name+".mean", mean, 1, int64(l.In.C), int64(l.In.H), int64(l.In.W))
	} else {
		m = g.Weight(l.Name+".mean", mean, 1, int64(l.In.C), 1, 1)
	}
	g.Node("Sub", l.Name, l.Name+"/out", []string{g.Cur(), m})
}

// meanSubClass is the module of a meansub layer: its mean is a buffer, so that the
// state_dict holds it under <layer>.mean.
const meanSubClass = `class MeanSub(nn.Module):
    """Subtracts a mean fitted on the training data: one value per channel, or an image."""

    def __init__(self, *shape):
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape))

    def forward(self, x):
        if self.mean.dim() == 1:
            return x - self.mean[:, None, None]
        return x - self.mean`

// meanSubPyTorch declares a MeanSub of the mean's shape.
func meanSubPyTorch(m PyTorchModule, l *Layer) string {
	m.Helper("MeanSub", meanSubClass)
	shape := fmt.Sprint(l.In.C)
	if l.MeanImage {
		shape = fmt.Sprintf("%d, %d, %d", l.In.C, l.In.H, l.In.W)
	}
	return m.Module("MeanSub("+shape+")") + "(" + m.Image(0) + ")"
}

package compiler

import (
	"fmt"
	"math"

	"github.com/dave/jennifer/jen"
)

// norm is local response normalization across channels, as Caffe and PyTorch define it:
// y_c = x_c / (k + alpha/size · Σ x_i²)^beta over the channels i from c − ⌊size/2⌋ to
// c + ⌊(size−1)/2⌋.
var _ = register(&LayerType{
	Kind: Norm,
	Doc:  "local response normalization across channels (AlexNet's; PyTorch's LocalResponseNorm)",
	Syntax: Syntax{Example: "norm size5 alpha1e-4 beta0.75 k1",
		Options: []optionDef{{"size", "", intValue}, {"alpha", "", floatValue}, {"beta", "", floatValue}, {"k", "", floatValue}}},
	Build: buildNorm,
	Summary: func(l *Layer) string {
		return fmt.Sprintf("size%d alpha%g beta%g k%g", l.Size, l.Alpha, l.Beta, l.LRNK)
	},
	Plan:       planNorm,
	Emit:       emitNorm,
	Forward64:  lrnForward,
	Backward64: lrnBackward,
	ONNX:       normONNX,
	PyTorch: func(m PyTorchModule, l *Layer) string {
		return fmt.Sprintf("F.local_response_norm(%s, %d, alpha=%s, beta=%s, k=%s)",
			m.Image(0), l.Size, PyFloat(l.Alpha), PyFloat(l.Beta), PyFloat(l.LRNK))
	},
})

// buildNorm reads local response normalization's settings, with AlexNet's defaults.
func buildNorm(c *checker, l *Layer, la layerArgs) bool {
	l.Size, l.Alpha, l.Beta, l.LRNK, l.Out = 5, 1e-4, 0.75, 1, l.In
	ok := true
	if v, set := la.options["size"]; set {
		var good bool
		if l.Size, good = parseInt(v, "norm size", 1, &c.errs); !good {
			ok = false
		}
	}
	for _, f := range []struct {
		name string
		dst  *float64
	}{{"alpha", &l.Alpha}, {"beta", &l.Beta}, {"k", &l.LRNK}} {
		if v, set := la.options[f.name]; set {
			x, good := parseFloat(v, "norm "+f.name, &c.errs)
			if good && x < 0 {
				c.errorf(v.pos, "norm %s must be ≥ 0, not %s", f.name, v.text)
				good = false
			}
			*f.dst, ok = x, ok && good
		}
	}
	if ok && l.LRNK == 0 && l.Alpha == 0 {
		c.errorf(l.Pos, "norm with k0 and alpha0 divides by zero")
		ok = false
	}
	return ok
}

// planNorm keeps the scale for the backward pass, gives it a layer input's worth of
// scratch, and takes the runtime's kernel for x/scale^0.75 when beta is AlexNet's.
func planNorm(p *planner, i int) {
	l, lp := p.net.Layers[i], &p.layers[i]
	p.needAux(i, l.Out.Size())
	lp.LRNPow34 = l.Beta == 0.75
	p.scratch(l.In.Size())
}

// emitNorm emits local response normalization across channels, as Caffe and PyTorch define it:
// y = x / (k + alpha/size · Σ x²)^beta over the size channels around each one. The scale
// (the parenthesis) is kept for the backward pass:
// dx_c = dy_c·scale_c^−beta − (2·alpha·beta/size)·x_c·Σ_{j: c in window(j)} dy_j·y_j/scale_j.
func emitNorm(e Emitter, i int, l *Layer) LayerCode {
	hw := l.In.H * l.In.W
	pre, post := l.Size/2, (l.Size-1)/2
	aOverN := float32(l.Alpha / float64(l.Size))
	// planeOf slices channel ch's plane of a buffer; plane declares v as channel c's.
	planeOf := func(name, ch string) *jen.Statement {
		return id(name).Index(id(ch).Op("*").Lit(hw), id(ch).Op("*").Lit(hw).Op("+").Lit(hw))
	}
	plane := func(name, v string) jen.Code { return id(v).Op(":=").Add(planeOf(name, "c")) }
	fwd := append(e.Views(i, "in", "out", "aux"),
		ForRange("c", lit(0), lit(l.In.C),
			plane("aux", "scale"),
			jen.For(id("j").Op(":=").Range().Id("scale")).Block(id("scale").Index(id("j")).Op("=").Lit(float32(l.LRNK))),
			jen.For(id("n").Op(":=").Max(lit(0), id("c").Op("-").Lit(pre)), id("n").Op("<=").Min(lit(l.In.C-1), id("c").Op("+").Lit(post)), id("n").Op("++")).Block(
				kernel("AddSquares").Call(lit(aOverN), planeOf("in", "n"), id("scale"))),
			divPowBeta(l, planeOf("in", "c"), planeOf("out", "c"))))
	// Backward: first ratio_c = dy_c·y_c/scale_c into din, then sum it over windows.
	coef := float32(2 * l.Alpha * l.Beta / float64(l.Size))
	bwd := append(e.Views(i, "in", "out", "aux", "dout", "din"),
		jen.Comment("din holds dy·y/scale first; ratio sums it over each channel's windows."),
		jen.For(list(id("j"), id("dy")).Op(":=").Range().Id("dout")).Block(
			id("din").Index(id("j")).Op("=").Id("dy").Op("*").Id("out").Index(id("j")).Op("/").Id("aux").Index(id("j"))),
		id("ratio").Op(":=").Add(e.Scratch("col").Index(jen.Empty(), lit(l.In.Size()))),
		jen.Copy(id("ratio"), id("din")),
		ForRange("c", lit(0), lit(l.In.C),
			plane("din", "dx"), plane("aux", "scale"),
			divPowBeta(l, planeOf("dout", "c"), id("dx")),
			jen.For(id("n").Op(":=").Max(lit(0), id("c").Op("-").Lit(post)), id("n").Op("<=").Min(lit(l.In.C-1), id("c").Op("+").Lit(pre)), id("n").Op("++")).Block(
				kernel("AddProduct").Call(lit(-coef), planeOf("in", "c"), planeOf("ratio", "n"), id("dx")))))
	return LayerCode{Forward: fwd, Input: bwd}
}

// divPowBeta emits y = x / scale^beta for one plane (y may be x), through the runtime's
// kernel for AlexNet's beta = 0.75 when the plan chose it.
func divPowBeta(l *Layer, x, y jen.Code) jen.Code {
	if l.Plan.LRNPow34 {
		return kernel("DivPow34").Call(x, id("scale"), y)
	}
	return jen.Block(id("x").Op(":=").Add(x), id("y").Op(":=").Add(y),
		jen.For(list(id("j"), id("v")).Op(":=").Range().Id("x")).Block(
			id("y").Index(id("j")).Op("=").Id("v").Op("*").Float32().Parens(jen.Qual("math", "Pow").Call(jen.Float64().Parens(id("scale").Index(id("j"))), lit(-l.Beta)))))
}

// lrnWindow returns the channels [lo, hi] that LRN sums over for channel c: PyTorch's
// c − size/2 … c + (size−1)/2, clipped to the existing channels.
func lrnWindow(l *Layer, c int) (lo, hi int) {
	return max(0, c-l.Size/2), min(l.In.C-1, c+(l.Size-1)/2)
}

// lrnScale returns k + alpha/size · Σ_{c' in window(c)} a_{c'}² at (c, y, x) of image n.
func lrnScale(l *Layer, a []float64, n, c, y, x int) float64 {
	lo, hi := lrnWindow(l, c)
	sum := 0.0
	for c2 := lo; c2 <= hi; c2++ {
		v := a[at(l.In, n, c2, y, x)]
		sum += v * v
	}
	return l.LRNK + l.Alpha/float64(l.Size)*sum
}

// lrnForward is PyTorch's LocalResponseNorm: b_c = a_c / scale_c^beta.
func lrnForward(l *Layer, r *Ref) []float64 {
	a, batch := r.In, r.Batch
	b := make([]float64, len(a))
	for n := range batch {
		for c := range l.In.C {
			for y := range l.In.H {
				for x := range l.In.W {
					i := at(l.In, n, c, y, x)
					b[i] = a[i] * math.Pow(lrnScale(l, a, n, c, y, x), -l.Beta)
				}
			}
		}
	}
	return b
}

// lrnBackward returns the gradient of LRN's input. Output b_c depends on a_c directly and
// on every a_j, j in window(c), through scale_c:
//
//	∂b_c/∂a_j = [j = c]·scale_c^−beta − 2·beta·alpha/size · a_c · a_j · scale_c^(−beta−1).
func lrnBackward(l *Layer, r *Ref, db []float64) []float64 {
	a, batch := r.In, r.Batch
	da := make([]float64, len(a))
	for n := range batch {
		for c := range l.In.C {
			for y := range l.In.H {
				for x := range l.In.W {
					i := at(l.In, n, c, y, x)
					scale := lrnScale(l, a, n, c, y, x)
					da[i] += db[i] * math.Pow(scale, -l.Beta)
					common := db[i] * -2 * l.Beta * l.Alpha / float64(l.Size) * a[i] * math.Pow(scale, -l.Beta-1)
					lo, hi := lrnWindow(l, c)
					for j := lo; j <= hi; j++ {
						ij := at(l.In, n, j, y, x)
						da[ij] += common * a[ij]
					}
				}
			}
		}
	}
	return da
}

// normONNX adds local response normalization across channels: ONNX's LRN when its window
// and ONNX Runtime's limits allow (odd size, alpha and beta positive), else the formula
// in elementary nodes (see package onnx).
func normONNX(g ONNXGraph, l *Layer) {
	g.Image(l)
	if l.Size%2 == 1 && l.Alpha > 0 && l.Beta > 0 {
		g.Node("LRN", l.Name, l.Name+"/out", []string{g.Cur()},
			floatAttr("alpha", float32(l.Alpha)),
			floatAttr("beta", float32(l.Beta)),
			floatAttr("bias", float32(l.LRNK)),
			intAttr("size", int64(l.Size)))
		return
	}
	c := l.In.C
	pre, post := l.Size/2, (l.Size-1)/2
	band := make([]float32, c*c)
	for o := range c {
		for i := max(0, o-pre); i <= min(c-1, o+post); i++ {
			band[o*c+i] = float32(l.Alpha / float64(l.Size))
		}
	}
	x := g.Cur()
	window := g.Weight(l.Name+".window", band, int64(c), int64(c), 1, 1)
	k := g.Weight(l.Name+".k", []float32{float32(l.LRNK)})
	exp := g.Weight(l.Name+".exponent", []float32{float32(-l.Beta)})
	g.Node("Mul", l.Name+"/square", l.Name+"/square", []string{x, x})
	g.Node("Conv", l.Name+"/sum", l.Name+"/sum", []string{g.Cur(), window}, intsAttr("kernel_shape", 1, 1))
	g.Node("Add", l.Name+"/add_k", l.Name+"/scale", []string{g.Cur(), k})
	g.Node("Pow", l.Name+"/pow", l.Name+"/pow", []string{g.Cur(), exp})
	g.Node("Mul", l.Name, l.Name+"/out", []string{x, g.Cur()})
}

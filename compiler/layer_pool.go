package compiler

import (
	"fmt"
	"math"

	"github.com/dave/jennifer/jen"
)

// pool is max or average pooling without padding (PyTorch's MaxPool2d and AvgPool2d), the
// output size rounded down.
var _ = register(&LayerType{
	Kind:   Pool,
	Doc:    "max or average pooling over KHxKW windows, stride S (default: the window), no padding; global: over the whole input",
	Syntax: Syntax{Dims: "window size", Flags: []string{"max", "avg"}, Example: "pool max 2x2 s2", Options: []optionDef{{"stride", "s", pairValue}}, Words: []string{floorWord, globalWord}, OptionalDims: true},
	Build:  buildPool,
	Summary: func(l *Layer) string {
		op := "max"
		if l.Avg {
			op = "avg"
		}
		if l.Global {
			return op + " global"
		}
		if l.SH != l.SW {
			return fmt.Sprintf("%s %dx%d s%dx%d", op, l.KH, l.KW, l.SH, l.SW)
		}
		return fmt.Sprintf("%s %dx%d s%d", op, l.KH, l.KW, l.SH)
	},
	Plan:       planPool,
	Emit:       emitPool,
	Forward64:  poolForward,
	Backward64: poolBackward,
	Kink64:     poolKink,
	ONNX:       poolONNX,
	PyTorch:    poolPyTorch,
})

func buildPool(c *checker, l *Layer, la layerArgs) bool {
	l.Avg = la.flag != nil && la.flag.text == "avg"
	if la.words[globalWord] {
		return buildGlobalPool(c, l, la)
	}
	if la.dims == nil {
		c.errorf(l.Pos, "pool needs a window size, e.g. pool max 2x2 s2, or global: pool avg global")
		return false
	}
	k, ok1 := parseDims(*la.dims, "window size", 2, 1, true, &c.errs)
	if !ok1 {
		return false
	}
	s, ok2 := c.pair(la, "stride", k[0], k[1])
	if !ok2 {
		return false
	}
	l.KH, l.KW, l.SH, l.SW = k[0], k[1], s[0], s[1]
	if !c.ok {
		return true
	}
	oh, ow, ok := c.window(l, la, l.KH, l.KW, l.SH, l.SW, 0, 0)
	if !ok {
		return false
	}
	l.Out = Shape{l.In.C, oh, ow}
	return true
}

// buildGlobalPool makes the window the whole input (PyTorch's AdaptiveAvgPool2d(1) or
// AdaptiveMaxPool2d(1)): one value per channel, whatever the input size.
func buildGlobalPool(c *checker, l *Layer, la layerArgs) bool {
	if la.dims != nil {
		c.errorf(la.dims.pos, "a global pool takes no window size: its window is the whole input")
		return false
	}
	if s, ok := la.options["stride"]; ok {
		c.errorf(s.pos, "a global pool takes no stride: its window is the whole input")
		return false
	}
	l.Global = true
	if !c.ok {
		return true
	}
	l.KH, l.KW, l.SH, l.SW = l.In.H, l.In.W, l.In.H, l.In.W
	l.Out = Shape{l.In.C, 1, 1}
	return true
}

// PoolKernel is how a pooling layer is computed.
type PoolKernel int

const (
	// PoolUnrolled: generated code with the window unrolled.
	PoolUnrolled PoolKernel = iota + 1
	// PoolMaxS2: the runtime's SIMD 2×2 or 3×3 max pooling with stride 2.
	PoolMaxS2
	// PoolGeneric: the runtime's generic pooling, for windows too large to unroll.
	PoolGeneric
	// PoolGlobalAvg: a global average pool, a sum over each channel's plane.
	PoolGlobalAvg
)

func planPool(p *planner, i int) {
	l, lp := p.net.Layers[i], &p.layers[i]
	switch {
	case l.Global && l.Avg:
		lp.Pool = PoolGlobalAvg
	case !l.Avg && l.KH == l.KW && (l.KH == 2 || l.KH == 3) && l.SH == 2 && l.SW == 2:
		lp.Pool = PoolMaxS2
	case l.KH*l.KW > poolUnrollMax:
		lp.Pool = PoolGeneric
	default:
		lp.Pool = PoolUnrolled
	}
	if !l.Avg {
		p.needArgmax(i, l.Out.Size())
	}
	// A 2×2 stride-2 max pooling right after a conv or full layer with a fused ReLU does
	// that ReLU's backward pass too (kernels.MaxUnpool2Relu): no gradient passes where the
	// pooled maximum, a ReLU output, is zero.
	if lp.Pool == PoolMaxS2 && l.KH == 2 && p.onlyReader(i) && p.layers[i-1].Fused {
		lp.FoldsReLU, p.layers[i-2].ReLUFolded = true, true
	}
}

// poolUnrollMax is the largest pooling window whose loop is unrolled.
const poolUnrollMax = 25

// emitPool emits max pooling (remembering each output's argmax, to which the backward pass
// routes the gradient) or average pooling, with the window unrolled. Each output row
// slices the KH input rows it reads once, and each window is a constant-length slice of
// them, so the window's elements are read without bounds checks.
func emitPool(e Emitter, i int, l *Layer) LayerCode {
	switch l.Plan.Pool {
	case PoolGlobalAvg:
		return emitGlobalAvgPool(e, i, l)
	case PoolMaxS2, PoolGeneric:
		return emitPoolKernel(e, i, l)
	}
	w, ow := l.In.W, l.Out.W
	row := func(buf string, y int) jen.Code { // r<y> := buf[top+y*W : top+y*W+W]
		return id(fmt.Sprintf("%s%d", buf, y)).Op(":=").Id(buf).Index(Affine("top", 1, y*w), Affine("top", 1, y*w+w))
	}
	// loops runs body for every output, with top the input index of the window's first
	// row, rows <buf>0… of that window's rows from each buffer in bufs, and outs sliced to
	// the output row.
	loops := func(bufs, outs []string, body ...jen.Code) jen.Code {
		rowCode := []jen.Code{id("top").Op(":=").Id("c").Op("*").Lit(l.In.H * w).Op("+").Id("oy").Op("*").Lit(l.SH * w)}
		for _, b := range bufs {
			for y := range l.KH {
				rowCode = append(rowCode, row(b, y))
			}
		}
		rowCode = append(rowCode, id("o").Op(":=").Parens(id("c").Op("*").Lit(l.Out.H).Op("+").Id("oy")).Op("*").Lit(ow))
		for _, o := range outs {
			rowCode = append(rowCode, id(o+"Row").Op(":=").Id(o).Index(id("o"), id("o").Op("+").Lit(ow)))
		}
		rowCode = append(rowCode, ForRange("ox", lit(0), lit(ow), body...))
		return ForRange("c", lit(0), lit(l.Out.C), ForRange("oy", lit(0), lit(l.Out.H), rowCode...))
	}
	windows := func(buf string) []jen.Code { // w<y> := r<y>[x : x+KW]
		code := []jen.Code{id("x").Op(":=").Add(Affine("ox", l.SW, 0))}
		for y := range l.KH {
			code = append(code, id(fmt.Sprintf("w%d", y)).Op(":=").Id(fmt.Sprintf("%s%d", buf, y)).Index(id("x"), id("x").Op("+").Lit(l.KW)))
		}
		return code
	}
	elem := func(y, x int) *jen.Statement { return id(fmt.Sprintf("w%d", y)).Index(lit(x)) }
	if l.Avg {
		inv := float32(1) / float32(l.KH*l.KW)
		var sum *jen.Statement
		for y := range l.KH {
			for x := range l.KW {
				if sum == nil {
					sum = elem(y, x)
				} else {
					sum = sum.Op("+").Add(elem(y, x))
				}
			}
		}
		fwd := append(e.Views(i, "in", "out"), loops([]string{"in"}, []string{"out"},
			append(windows("in"), id("outRow").Index(id("ox")).Op("=").Parens(sum).Op("*").Lit(inv))...))
		spread := append(windows("din"), id("d").Op(":=").Id("doutRow").Index(id("ox")).Op("*").Lit(inv))
		for y := range l.KH {
			for x := range l.KW {
				spread = append(spread, elem(y, x).Op("+=").Id("d"))
			}
		}
		bwd := append(e.Views(i, "dout", "din"), jen.Clear(id("din")), loops([]string{"din"}, []string{"dout"}, spread...))
		return LayerCode{Forward: fwd, Input: bwd}
	}
	body := append(windows("in"), id("i").Op(":=").Id("top").Op("+").Id("x"),
		list(id("best"), id("at")).Op(":=").List(elem(0, 0), id("i")))
	for y := range l.KH {
		for x := range l.KW {
			if y+x == 0 {
				continue
			}
			// The index moves by a conditional move and the maximum by max: no branch to
			// mispredict on random data (a NaN makes the maximum NaN).
			body = append(body, jen.If(id("v").Op(":=").Add(elem(y, x)), id("v").Op(">").Id("best")).Block(
				id("at").Op("=").Add(Affine("i", 1, y*w+x))),
				id("best").Op("=").Max(id("best"), elem(y, x)))
		}
	}
	body = append(body, list(id("outRow").Index(id("ox")), id("argRow").Index(id("ox"))).Op("=").List(id("best"), jen.Int32().Parens(id("at"))))
	fwd := append(e.Views(i, "in", "out", "arg"), loops([]string{"in"}, []string{"out", "arg"}, body...))
	bwd := append(e.Views(i, "dout", "din", "arg"), jen.Clear(id("din")),
		jen.For(list(id("o"), id("a")).Op(":=").Range().Id("arg")).Block(id("din").Index(id("a")).Op("+=").Id("dout").Index(id("o"))))
	return LayerCode{Forward: fwd, Input: bwd}
}

// emitGlobalAvgPool emits the mean of each channel's plane and, backward, spreads each
// channel's gradient evenly over its plane.
func emitGlobalAvgPool(e Emitter, i int, l *Layer) LayerCode {
	hw := l.In.H * l.In.W
	inv := float32(1) / float32(hw)
	plane := func(buf string) *jen.Statement {
		return id(buf).Index(id("c").Op("*").Lit(hw), id("c").Op("*").Lit(hw).Op("+").Lit(hw))
	}
	fwd := append(e.Views(i, "in", "out"), ForRange("c", lit(0), lit(l.In.C),
		jen.Var().Id("sum").Float32(),
		jen.For(list(id("_"), id("v")).Op(":=").Range().Add(plane("in"))).Block(id("sum").Op("+=").Id("v")),
		id("out").Index(id("c")).Op("=").Id("sum").Op("*").Lit(inv)))
	bwd := append(e.Views(i, "dout", "din"), ForRange("c", lit(0), lit(l.In.C),
		id("d").Op(":=").Id("dout").Index(id("c")).Op("*").Lit(inv),
		id("p").Op(":=").Add(plane("din")),
		jen.For(id("j").Op(":=").Range().Id("p")).Block(id("p").Index(id("j")).Op("=").Id("d"))))
	return LayerCode{Forward: fwd, Input: bwd}
}

// emitPoolKernel emits calls to the runtime's pooling kernels: the SIMD 2×2 and 3×3
// stride-2 max pooling, or the generic ones for large windows.
func emitPoolKernel(e Emitter, i int, l *Layer) LayerCode {
	geom := []jen.Code{lit(l.In.C), lit(l.In.H), lit(l.In.W), lit(l.KH), lit(l.KW), lit(l.SH), lit(l.SW)}
	if l.Avg {
		fwd := append(e.Views(i, "in", "out"), kernel("AvgPool").Call(append(append([]jen.Code{id("in")}, geom...), id("out"))...))
		bwd := append(e.Views(i, "dout", "din"), jen.Clear(id("din")), kernel("AvgPoolBackward").Call(append(append([]jen.Code{id("dout")}, geom...), id("din"))...))
		return LayerCode{Forward: fwd, Input: bwd}
	}
	fwd := append(e.Views(i, "in", "out", "arg"), kernel("MaxPool").Call(append(append([]jen.Code{id("in")}, geom...), id("out"), id("arg"))...))
	bwd := append(e.Views(i, "dout", "din", "arg"), jen.Clear(id("din")), kernel("MaxPoolBackward").Call(id("dout"), id("arg"), id("din")))
	if l.Plan.Pool == PoolMaxS2 {
		fwd = append(e.Views(i, "in", "out", "arg"), kernel("MaxPoolS2").Call(id("in"), lit(l.In.C), lit(l.In.H), lit(l.In.W), lit(l.KH), id("out"), id("arg")))
	}
	switch geom := []jen.Code{lit(l.In.C), lit(l.In.H), lit(l.In.W), id("din")}; {
	case l.Plan.FoldsReLU:
		bwd = append(e.Views(i, "dout", "out", "din", "arg"), jen.Comment("The backward pass of the ReLU before the pooling, too."),
			kernel("MaxUnpool2Relu").Call(append([]jen.Code{id("dout"), id("out"), id("arg")}, geom...)...))
	case l.Plan.Pool == PoolMaxS2 && l.KH == 2: // windows that do not overlap: din is written once, not cleared and added to
		bwd = append(e.Views(i, "dout", "din", "arg"), kernel("MaxUnpool2").Call(append([]jen.Code{id("dout"), id("arg")}, geom...)...))
	}
	return LayerCode{Forward: fwd, Input: bwd}
}

// poolForward is PyTorch's MaxPool2d or AvgPool2d without padding.
func poolForward(l *Layer, r *Ref) []float64 {
	if l.Avg {
		return avgPoolForward(l, r.In, r.Batch)
	}
	return maxPoolForward(l, r)
}

// poolBackward routes each output's gradient to its window's argmax, or spreads it evenly
// over its window.
func poolBackward(l *Layer, r *Ref, dy []float64) []float64 {
	if l.Avg {
		return avgPoolBackward(l, dy, r.Batch)
	}
	return maxPoolBackward(l, r.In, dy, r.Batch)
}

// poolKink is a max pool's Kink64: the smallest gap between a window's largest value and
// its next distinct one (values that are equal stay equal under small changes, as the
// zeros of a ReLU before do). An average pool has no kinks.
func poolKink(l *Layer, x []float64, batch int, _ []int32) float64 {
	dist := math.Inf(1)
	if l.Avg {
		return dist
	}
	for n := range batch {
		for c := range l.Out.C {
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					top := x[argmax(l, x, n, c, oy, ox)]
					for ky := range l.KH {
						for kx := range l.KW {
							if v := x[at(l.In, n, c, oy*l.SH+ky, ox*l.SW+kx)]; v != top {
								dist = math.Min(dist, top-v)
							}
						}
					}
				}
			}
		}
	}
	return dist
}

// argmax returns the input index of the largest value in pooling window (oy, ox) of
// channel c of image n; ties go to the first in row-major window order.
func argmax(l *Layer, x []float64, n, c, oy, ox int) int {
	best := at(l.In, n, c, oy*l.SH, ox*l.SW)
	for ky := range l.KH {
		for kx := range l.KW {
			i := at(l.In, n, c, oy*l.SH+ky, ox*l.SW+kx)
			if x[i] > x[best] {
				best = i
			}
		}
	}
	return best
}

// maxPoolForward is PyTorch's MaxPool2d without padding: the largest value of each KH×KW
// window, windows SH×SW apart (the output size is floored, so every window is inside);
// in a Frozen pass, the value where the largest was (see Ref).
func maxPoolForward(l *Layer, r *Ref) []float64 {
	x := r.In
	y := make([]float64, r.Batch*l.Out.Size())
	for n := range r.Batch {
		for c := range l.Out.C {
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					k := at(l.Out, n, c, oy, ox)
					y[k] = x[r.branch(k, func() int { return argmax(l, x, n, c, oy, ox) })]
				}
			}
		}
	}
	return y
}

// maxPoolBackward routes each output's gradient to its window's argmax.
func maxPoolBackward(l *Layer, x, dy []float64, batch int) []float64 {
	dx := make([]float64, len(x))
	for n := range batch {
		for c := range l.Out.C {
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					dx[argmax(l, x, n, c, oy, ox)] += dy[at(l.Out, n, c, oy, ox)]
				}
			}
		}
	}
	return dx
}

// avgPoolForward is PyTorch's AvgPool2d without padding: the mean of each KH×KW window.
func avgPoolForward(l *Layer, x []float64, batch int) []float64 {
	y := make([]float64, batch*l.Out.Size())
	area := float64(l.KH * l.KW)
	for n := range batch {
		for c := range l.Out.C {
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					sum := 0.0
					for ky := range l.KH {
						for kx := range l.KW {
							sum += x[at(l.In, n, c, oy*l.SH+ky, ox*l.SW+kx)]
						}
					}
					y[at(l.Out, n, c, oy, ox)] = sum / area
				}
			}
		}
	}
	return y
}

// avgPoolBackward spreads each output's gradient evenly over its window.
func avgPoolBackward(l *Layer, dy []float64, batch int) []float64 {
	dx := make([]float64, batch*l.In.Size())
	area := float64(l.KH * l.KW)
	for n := range batch {
		for c := range l.Out.C {
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					d := dy[at(l.Out, n, c, oy, ox)] / area
					for ky := range l.KH {
						for kx := range l.KW {
							dx[at(l.In, n, c, oy*l.SH+ky, ox*l.SW+kx)] += d
						}
					}
				}
			}
		}
	}
	return dx
}

// poolONNX adds MaxPool or AveragePool without padding, rounding the output size down.
func poolONNX(g ONNXGraph, l *Layer) {
	g.Image(l)
	op := "MaxPool"
	if l.Avg {
		op = "AveragePool"
	}
	g.Node(op, l.Name, l.Name+"/out", []string{g.Cur()},
		intsAttr("kernel_shape", int64(l.KH), int64(l.KW)),
		intsAttr("strides", int64(l.SH), int64(l.SW)))
}

// poolPyTorch is max_pool2d or avg_pool2d without padding (their floor mode), or the
// mean or maximum over each channel for a global pool.
func poolPyTorch(m PyTorchModule, l *Layer) string {
	switch {
	case l.Global && l.Avg:
		return m.Image(0) + ".mean((2, 3), keepdim=True)"
	case l.Global:
		return m.Image(0) + ".amax((2, 3), keepdim=True)"
	}
	fn := "F.max_pool2d"
	if l.Avg {
		fn = "F.avg_pool2d"
	}
	return fmt.Sprintf("%s(%s, %s, %s)", fn, m.Image(0), pyPair(l.KH, l.KW), pyPair(l.SH, l.SW))
}

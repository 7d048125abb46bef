package compiler

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// full is a fully connected layer (PyTorch's Linear) on the input flattened in C,H,W
// order: Filters units.
var _ = register(&LayerType{
	Kind:       Full,
	Doc:        "fully connected layer of N units on the input flattened in C,H,W order (PyTorch's Linear)",
	Role:       RoleBatch,
	Syntax:     Syntax{Number: "number of units", Example: "full 10", Options: []optionDef{lrOption}},
	Build:      buildFull,
	Summary:    func(l *Layer) string { return fmt.Sprint(l.Filters) },
	Tensors:    func(l *Layer) ([]int, int) { return []int{l.Filters, l.In.Size()}, l.Filters },
	Plan:       planFull,
	Emit:       emitFull,
	Forward64:  fullForward,
	Backward64: fullBackward,
	ONNX:       fullONNX,
	PyTorch:    fullPyTorch,
})

func buildFull(c *checker, l *Layer, la layerArgs) bool {
	units, ok := parseInt(*la.number, "number of units", 1, &c.errs)
	if !ok {
		return false
	}
	l.Filters, l.Groups = units, 1
	if !c.ok {
		return true
	}
	l.Out = Shape{units, 1, 1}
	return c.setCost(l, satMul(units, l.In.Size()), 1)
}

// dotBatch is the largest batch computed by dot products in full layers, and
// parallelRowsMin the fewest weights worth splitting over the workers.
const (
	dotBatch        = 16
	parallelRowsMin = 1 << 20
)

func planFull(p *planner, i int) {
	l, lp := p.net.Layers[i], &p.layers[i]
	lp.DotBatch, lp.ParallelRows = dotBatch, l.Weights() >= parallelRowsMin
}

// emitFull emits a fully connected layer on the whole batch as one GEMM, out = x·Wᵀ, with
// the bias (and ReLU) added per row. Backward: dW = doutᵀ·x, db = Σ dout, dx = dout·W,
// overwriting the gradients of the weights and bias (see nn.Split.ClearGrads).
func emitFull(e Emitter, i int, l *Layer) LayerCode {
	k, n := l.In.Size(), l.Filters
	in, out := e.In(i), e.Buf(i, "Out")
	din, dout := e.InGrad(i), e.Buf(i, "Grad")
	w, b := e.Param(l.WeightOff, l.Weights()), e.Param(l.BiasOff, n)
	gemm := func(args ...jen.Code) jen.Code { return call(kernel("Sgemm"), args...) }
	batch := e.Batch()
	rowBody := []jen.Code{id("v").Op("+=").Id("bias").Index(id("j"))}
	if l.Plan.FuseReLU {
		rowBody = append(rowBody, id("v").Op("=").Max(id("v"), lit(float32(0))))
	}
	rowBody = append(rowBody, id("row").Index(id("j")).Op("=").Id("v"))
	rows := Sel("s", Local(l.Name)+"Rows").Call(lit(0), lit(n))
	if l.Plan.ParallelRows {
		rows = e.ParallelFor(n, Local(l.Name)+"Rows")
	}
	fwd := []jen.Code{
		jen.If(batch.Clone().Op("<=").Lit(l.Plan.DotBatch)).Block(rows, jen.Return()),
		id("out").Op(":=").Add(out),
		gemm(jen.False(), jen.True(), batch, lit(n), lit(k), lit(1), in, lit(k), w, lit(k), lit(0), id("out"), lit(n)),
		id("bias").Op(":=").Add(b),
		ForRange("img", lit(0), batch.Clone(),
			id("row").Op(":=").Id("out").Index(id("img").Op("*").Lit(n), id("img").Op("*").Lit(n).Op("+").Lit(n)),
			jen.For(list(id("j"), id("v")).Op(":=").Range().Id("row")).Block(rowBody...)),
	}
	e.Decl(fullRows(e, i, l)...)
	var bwd []jen.Code
	if l.Plan.FuseReLU {
		bwd = append(bwd, kernel("ReluBackward").Call(out, dout))
	}
	bwd = append(bwd,
		gemm(jen.True(), jen.False(), lit(n), lit(k), batch, lit(1), dout, lit(n), in, lit(k), lit(0),
			e.GradParam(i, l.WeightOff, l.Weights()), lit(k)),
		id("db").Op(":=").Add(e.GradParam(i, l.BiasOff, n)),
		jen.Clear(id("db")),
		ForRange("img", lit(0), batch.Clone(),
			kernel("Add").Call(dout.Clone().Index(id("img").Op("*").Lit(n), id("img").Op("*").Lit(n).Op("+").Lit(n)), id("db"))))
	input := []jen.Code{gemm(jen.False(), jen.False(), batch, lit(k), lit(n), lit(1), dout, lit(n), w, lit(k), lit(0), din, lit(k))}
	return LayerCode{Forward: fwd, Backward: bwd, Input: input}
}

// fullRows returns <layer>Rows, which computes outputs [lo, hi) of a full layer for
// every image of the batch as dot products of weight rows with the inputs.
func fullRows(e Emitter, i int, l *Layer) []jen.Code {
	k, n := l.In.Size(), l.Filters
	v := id("v").Op(":=").Add(kernel("Dot")).Call(id("wj"), e.In(i).Index(id("img").Op("*").Lit(k),
		id("img").Op("*").Lit(k).Op("+").Lit(k))).Op("+").Id("bias").Index(id("j"))
	body := []jen.Code{v}
	if l.Plan.FuseReLU {
		body = append(body, id("v").Op("=").Max(id("v"), lit(float32(0))))
	}
	body = append(body, e.Buf(i, "Out").Index(id("img").Op("*").Lit(n).Op("+").Id("j")).Op("=").Id("v"))
	name := Local(l.Name) + "Rows"
	return []jen.Code{
		jen.Comment(fmt.Sprintf("%s computes outputs [lo, hi) of %s for every image as dot products, reading each",
			name, l.Name)),
		jen.Comment("weight row once: at small batches the layer is bound by memory, not arithmetic."),
		jen.Func().Params(id("s").Op("*").Id("state")).Id(name).Params(id("lo"), id("hi").Int()).Block(
			id("weights").Op(":=").Add(e.Param(l.WeightOff, l.Weights())),
			id("bias").Op(":=").Add(e.Param(l.BiasOff, n)),
			ForRange("j", id("lo"), id("hi"),
				id("wj").Op(":=").Id("weights").Index(id("j").Op("*").Lit(k), id("j").Op("*").Lit(k).Op("+").Lit(k)),
				ForRange("img", lit(0), e.Batch(), body...))),
	}
}

// fullForward is PyTorch's Linear on the input flattened in C,H,W order:
// y[o] = b[o] + Σ_i W[o][i] · x[i].
func fullForward(l *Layer, r *Ref) []float64 {
	in, out := l.In.Size(), l.Filters
	y := make([]float64, r.Batch*out)
	for n := range r.Batch {
		for o := range out {
			sum := r.Params[l.BiasOff+o]
			for i := range in {
				sum += r.Params[l.WeightOff+o*in+i] * r.In[n*in+i]
			}
			y[n*out+o] = sum
		}
	}
	return y
}

// fullBackward adds the full layer's weight and bias gradients to r.DParams and returns
// the gradient of its input.
func fullBackward(l *Layer, r *Ref, dy []float64) []float64 {
	in, out := l.In.Size(), l.Filters
	x := r.In
	dx := make([]float64, len(x))
	for n := range r.Batch {
		for o := range out {
			d := dy[n*out+o]
			r.DParams[l.BiasOff+o] += d
			for i := range in {
				r.DParams[l.WeightOff+o*in+i] += d * x[n*in+i]
				dx[n*in+i] += d * r.Params[l.WeightOff+o*in+i]
			}
		}
	}
	return dx
}

// fullONNX adds Flatten and Gemm computing x·Wᵀ + b with W [out, in].
func fullONNX(g ONNXGraph, l *Layer) {
	p := g.Params()
	w := g.Weight(l.Name+".weight", p[l.WeightOff:l.WeightOff+l.Weights()], int64(l.Filters), int64(l.In.Size()))
	b := g.Weight(l.Name+".bias", p[l.BiasOff:l.BiasOff+l.Filters], int64(l.Filters))
	g.Node("Flatten", l.Name+"/flatten", l.Name+"/flat", []string{g.Cur()}, intAttr("axis", 1))
	g.Node("Gemm", l.Name, l.Name+"/out", []string{g.Cur(), w, b}, intAttr("transB", 1))
	g.SetFlat()
}

// fullPyTorch declares Linear on the input flattened in C,H,W order.
func fullPyTorch(m PyTorchModule, l *Layer) string {
	in := m.In(0)
	if !m.Flat() {
		in += ".flatten(1)"
	}
	m.SetFlat()
	return m.Module(fmt.Sprintf("nn.Linear(%d, %d)", l.In.Size(), l.Filters)) + "(" + in + ")"
}

package gen

import (
	"fmt"

	"github.com/dave/jennifer/jen"
	"github.com/netc-dev/netc/compiler"
)

// layer emits the forward and backward methods of layer i (and any helpers it needs),
// from the code its kind's Emit returns; a loss emits its loss method instead.
func (g *generator) layer(i int, l *compiler.Layer) {
	t := l.Type()
	if t.EmitLoss != nil {
		g.loss(i, l, t)
		return
	}
	c := t.Emit(g, i, l)
	what := fmt.Sprintf("%s (%s %s, %s → %s)", l.Name, l.Kind, l.Options(), l.In, l.Out)
	if l.Plan.FuseReLU {
		what += " and the ReLU after it"
	}
	var params []jen.Code
	scope := "the whole batch"
	if l.Plan.PerImage {
		params = []jen.Code{id("img"), id("w").Int()}
		scope = "image img, on worker w"
	}
	name := compiler.Local(l.Name)
	g.comment(fmt.Sprintf("%sForward computes %s for %s.", name, what, scope))
	g.f.Func().Params(id("s").Op("*").Id("state")).Id(name + "Forward").Params(params...).Block(c.Forward...)
	bwd := c.Backward
	if !l.Plan.Split {
		bwd = append(g.gradSums(i, l.Plan.PerImage), bwd...)
	}
	if g.inputGradOptional(i) && len(c.Input) > 0 {
		bwd = append(bwd, jen.Comment("Nothing before this layer learns: the input gradient is for ws.InputGrad only."),
			jen.If(g.Workspace().Dot("InputGrad").Op("==").Nil()).Block(jen.Return()))
	}
	bwd = append(bwd, c.Input...)
	g.comment(fmt.Sprintf("%sBackward propagates the gradient through %s for %s.", name, l.Name, scope))
	g.f.Func().Params(id("s").Op("*").Id("state")).Id(name + "Backward").Params(params...).Block(bwd...)
	if len(c.Infer) > 0 {
		what = fmt.Sprintf("%s with %s folded in", l.Name, l.Plan.FoldBN.Name)
		if l.Plan.InferReLU {
			what += " and the ReLU after it"
		}
		g.comment(fmt.Sprintf("%sInfer computes %s for %s, at inference.", name, what, scope))
		g.f.Func().Params(id("s").Op("*").Id("state")).Id(name + "Infer").Params(params...).Block(c.Infer...)
	}
	g.folds = append(g.folds, c.Fold...)
	if l.Plan.Split {
		g.splitParts(i, c)
	}
}

// splitParts emits the per-image methods of split layer i (see compiler.LayerCode.Gather),
// the gradient sums of its readers added into its output gradient as GradGather starts.
func (g *generator) splitParts(i int, c compiler.LayerCode) {
	name := compiler.Local(g.net.Layers[i].Name)
	params := []jen.Code{id("img"), id("w").Int()}
	for _, part := range []struct {
		method, doc string
		code        []jen.Code
	}{
		{"Gather", "takes image img's share of %s's statistics, on worker w.", c.Gather},
		{"Scatter", "computes %s's output for image img, on worker w.", c.Scatter},
		{"GradGather", "takes image img's share of %s's gradient sums, on worker w.", append(g.gradSums(i, true), c.GradGather...)},
		{"GradScatter", "propagates the gradient through %s for image img, on worker w.", c.GradScatter},
	} {
		g.comment(fmt.Sprintf("%s%s "+part.doc, name, part.method, g.net.Layers[i].Name))
		g.f.Func().Params(id("s").Op("*").Id("state")).Id(name + part.method).Params(params...).Block(part.code...)
	}
}

// gradSums adds into layer i's output gradient what the other layers reading it wrote into
// buffers of their own (see compiler.LayerPlan.GradSums), image img's part if perImage:
// the gradient of a layer several read is the sum of theirs.
func (g *generator) gradSums(i int, perImage bool) []jen.Code {
	l := g.net.Layers[i]
	var code []jen.Code
	for _, r := range l.Plan.GradSums {
		n := g.net.Layers[r.Layer].InShapes[r.Input].Size()
		src, dst := sel("s", g.gradInField(r.Layer, r.Input)), sel("s", g.field(i, "Grad"))
		if perImage {
			src, dst = image(src, n), image(dst, n)
		}
		code = append(code, jen.Qual(kernelsPath, "Add").Call(src, dst))
	}
	if len(code) > 0 {
		code = append([]jen.Code{jen.Comment("Several layers read this one: add the gradients the others wrote apart.")}, code...)
	}
	return code
}

// loss emits <loss>Loss, which computes the mean loss of the batch from the scores and
// writes its gradient with respect to them, around the per-image code of the loss's kind.
func (g *generator) loss(i int, l *compiler.Layer, t *compiler.LayerType) {
	head := []jen.Code{
		list(id("scores"), id("grad")).Op(":=").List(g.In(i), g.InGrad(i)),
		id("inv").Op(":=").Lit(float32(1)).Op("/").Float32().Parens(g.Batch()),
		jen.Var().Id("total").Float64(),
	}
	perImage := []jen.Code{
		id("row").Op(":=").Id("scores").Index(id("img").Op("*").Id("Outputs"), id("img").Op("*").Id("Outputs").Op("+").Id("Outputs")),
		id("d").Op(":=").Id("grad").Index(id("img").Op("*").Id("Outputs"), id("img").Op("*").Id("Outputs").Op("+").Id("Outputs")),
	}
	checkLabel := jen.If(id("y").Op("<").Lit(0).Op("||").Id("y").Op(">=").Id("Outputs")).Block(
		jen.Panic(jen.Qual("fmt", "Sprintf").Call(lit(g.pkg+": label %d of image %d is outside [0, %d)"), id("y"), id("img"), id("Outputs"))))
	doc, code := t.EmitLoss(g, l)
	perImage = append(perImage, code...)
	body := append(head,
		jen.For(list(id("img"), id("y")).Op(":=").Range().Id("labels")).Block(append([]jen.Code{checkLabel}, perImage...)...),
		jen.Return(jen.Float32().Parens(id("total").Op("/").Float64().Parens(g.Batch()))))
	name := compiler.Local(l.Name) + "Loss"
	g.comment(fmt.Sprintf("%s returns the mean over the batch of %s.", name, doc))
	g.f.Func().Params(id("s").Op("*").Id("state")).Id(name).Params(id("labels").Index().Int32()).Float32().Block(body...)
}

// The generator is the compiler.Emitter of the layers' code.
var _ compiler.Emitter = (*generator)(nil)

// Views declares the usual locals of a per-image layer: in, out, din, dout, aux, arg.
func (g *generator) Views(i int, names ...string) []jen.Code {
	l := g.net.Layers[i]
	var out []jen.Code
	for _, n := range names {
		var v *jen.Statement
		switch n {
		case "in":
			v = image(g.In(i), l.In.Size())
		case "din":
			v = image(g.InGrad(i), l.In.Size())
		case "out":
			v = image(g.Buf(i, "Out"), l.Out.Size())
		case "dout":
			v = image(g.Buf(i, "Grad"), l.Out.Size())
		case "aux":
			v = image(g.Buf(i, "Aux"), l.Plan.AuxSize)
		case "arg":
			v = image(g.Buf(i, "Arg"), l.Out.Size())
		}
		out = append(out, id(n).Op(":=").Add(v))
	}
	return out
}

// Buf is the state field holding buffer part of layer i.
func (g *generator) Buf(i int, part string) *jen.Statement { return sel("s", g.field(i, part)) }

// In is layer i's input for the whole batch.
func (g *generator) In(i int) *jen.Statement { return sel("s", g.inField(i)) }

// InGrad is the buffer that receives the gradient with respect to layer i's input.
func (g *generator) InGrad(i int) *jen.Statement { return g.inGrad(i) }

// Input is a merge's input k for the whole batch.
func (g *generator) Input(i, k int) *jen.Statement { return sel("s", g.inputField(i, k)) }

// InputGrad is the buffer that receives the gradient with respect to a merge's input k.
func (g *generator) InputGrad(i, k int) *jen.Statement { return g.inputGrad(i, k) }

// Param slices n parameters from off.
func (g *generator) Param(off, n int) *jen.Statement { return param(off, n) }

// GradParam slices the gradients of n parameters from off that layer i accumulates into:
// the worker's for a per-image layer, the network's for a batch layer.
func (g *generator) GradParam(i, off, n int) *jen.Statement {
	if g.net.Layers[i].Plan.PerImage {
		return g.gradParam(off, n)
	}
	return sel("s", "net", "grads").Index(lit(off), lit(off+n))
}

// Scratch is the worker's scratch buffer, "col" or "dcol".
func (g *generator) Scratch(name string) *jen.Statement { return g.use(name).Index(id("w")) }

// Gemm is the state's matrix product (nn.Split's Sgemm).
func (g *generator) Gemm() *jen.Statement { return sel("s", "Sgemm") }

// Direct is the state's direct convolution (nn.Split's DirectConv).
func (g *generator) Direct() *jen.Statement { return sel("s", "DirectConv") }

// Batch is the batch size, nn.Split's Batch.
func (g *generator) Batch() *jen.Statement { return sel("s", "Batch") }

// Train is the state's training flag.
func (g *generator) Train() *jen.Statement { return g.use("train") }

// Workspace is the workspace, nn.Split's Workspace.
func (g *generator) Workspace() *jen.Statement { return sel("s", "Workspace") }

// ParallelFor runs the state's method over [0, n) in parallel with nn.Split's ParallelFor.
func (g *generator) ParallelFor(n int, method string) *jen.Statement {
	return sel("s", "ParallelFor").Call(lit(n), jen.Parens(jen.Op("*").Id("state")).Dot(method))
}

// use records that the layers' code reads state field name (see stateUse), and selects it.
func (g *generator) use(name string) *jen.Statement {
	if g.used != nil {
		g.used[name] = true
	}
	return sel("s", name)
}

// Helper emits a package-level helper once.
func (g *generator) Helper(name string, code ...jen.Code) {
	if g.helpers == nil {
		g.helpers = map[string]bool{}
	}
	if g.helpers[name] {
		return
	}
	g.helpers[name] = true
	g.Decl(code...)
}

// Decl emits package-level code.
func (g *generator) Decl(code ...jen.Code) {
	for _, c := range code {
		g.f.Add(c)
	}
}

// Package is the generated package's name.
func (g *generator) Package() string { return g.pkg }

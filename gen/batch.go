package gen

import (
	"fmt"

	"github.com/dave/jennifer/jen"
	"github.com/netc-dev/netc/compiler"
)

// full emits a fully connected layer on the whole batch as one GEMM, out = x·Wᵀ, with the
// bias (and ReLU) added per row. Backward: dW = doutᵀ·x, db = Σ dout, dx = dout·W.
func (g *generator) full(i int, l *compiler.Layer) layerCode {
	k, n := l.In.Size(), l.Filters
	in, out := sel("s", g.inField(i)), sel("s", g.field(i, "Out"))
	din, dout := g.inGrad(i), sel("s", g.field(i, "Grad"))
	w, b := param(l.WeightOff, l.Weights()), param(l.BiasOff, n)
	gemm := func(args ...jen.Code) jen.Code { return jen.Qual(kernelsPath, "Sgemm").Call(args...) }
	batch := sel("s", "batch")
	rowBody := []jen.Code{id("v").Op("+=").Id("bias").Index(id("j"))}
	if l.Plan.FuseReLU {
		rowBody = append(rowBody, id("v").Op("=").Max(id("v"), lit(float32(0))))
	}
	rowBody = append(rowBody, id("row").Index(id("j")).Op("=").Id("v"))
	rows := sel("s", local(l.Name)+"RowsRun").Call(lit(0), lit(n))
	if l.Plan.ParallelRows {
		rows = jen.Qual(kernelsPath, "ParallelFor").Call(lit(n), sel("s", local(l.Name)+"Rows"))
	}
	fwd := []jen.Code{
		jen.If(batch.Clone().Op("<=").Lit(l.Plan.DotBatch)).Block(rows, jen.Return()),
		id("out").Op(":=").Add(out),
		gemm(jen.False(), jen.True(), batch, lit(n), lit(k), lit(1), in, lit(k), w, lit(k), lit(0), id("out"), lit(n)),
		id("bias").Op(":=").Add(b),
		forRange("img", lit(0), batch.Clone(),
			id("row").Op(":=").Id("out").Index(id("img").Op("*").Lit(n), id("img").Op("*").Lit(n).Op("+").Lit(n)),
			jen.For(list(id("j"), id("v")).Op(":=").Range().Id("row")).Block(rowBody...)),
	}
	g.fullRows(i, l)
	var bwd []jen.Code
	if l.Plan.FuseReLU {
		bwd = append(bwd, jen.Qual(kernelsPath, "ReluBackward").Call(out, dout))
	}
	bwd = append(bwd,
		gemm(jen.True(), jen.False(), lit(n), lit(k), batch, lit(1), dout, lit(n), in, lit(k), lit(0), sel("s", "net", "grads").Index(lit(l.WeightOff), lit(l.WeightOff+l.Weights())), lit(k)),
		id("db").Op(":=").Add(sel("s", "net", "grads").Index(lit(l.BiasOff), lit(l.BiasOff+n))),
		forRange("img", lit(0), batch.Clone(),
			jen.Qual(kernelsPath, "Add").Call(dout.Clone().Index(id("img").Op("*").Lit(n), id("img").Op("*").Lit(n).Op("+").Lit(n)), id("db"))))
	input := []jen.Code{gemm(jen.False(), jen.False(), batch, lit(k), lit(n), lit(1), dout, lit(n), w, lit(k), lit(0), din, lit(k))}
	return layerCode{fwd, bwd, input}
}

// fullRows emits <layer>RowsRun, which computes outputs [lo, hi) of a full layer for every
// image of the batch as dot products of weight rows with the inputs.
func (g *generator) fullRows(i int, l *compiler.Layer) {
	k, n := l.In.Size(), l.Filters
	v := id("v").Op(":=").Qual(kernelsPath, "Dot").Call(id("wj"), sel("s", g.inField(i)).Index(id("img").Op("*").Lit(k), id("img").Op("*").Lit(k).Op("+").Lit(k))).Op("+").Id("bias").Index(id("j"))
	body := []jen.Code{v}
	if l.Plan.FuseReLU {
		body = append(body, id("v").Op("=").Max(id("v"), lit(float32(0))))
	}
	body = append(body, sel("s", g.field(i, "Out")).Index(id("img").Op("*").Lit(n).Op("+").Id("j")).Op("=").Id("v"))
	name := local(l.Name) + "RowsRun"
	g.f.Comment(fmt.Sprintf("%s computes outputs [lo, hi) of %s for every image as dot products, reading each", name, l.Name))
	g.f.Comment("weight row once: at small batches the layer is bound by memory, not arithmetic.")
	g.f.Func().Params(id("s").Op("*").Id("state")).Id(name).Params(id("lo"), id("hi").Int()).Block(
		id("weights").Op(":=").Add(param(l.WeightOff, l.Weights())),
		id("bias").Op(":=").Add(param(l.BiasOff, n)),
		forRange("j", id("lo"), id("hi"),
			id("wj").Op(":=").Id("weights").Index(id("j").Op("*").Lit(k), id("j").Op("*").Lit(k).Op("+").Lit(k)),
			forRange("img", lit(0), sel("s", "batch"), body...)))
}

// dropout emits inverted dropout on the whole batch: in training each value is kept with
// probability 1−p and scaled by 1/(1−p), the mask drawn from the workspace's generator in
// order; at test time it is the identity.
func (g *generator) dropout(i int, l *compiler.Layer) layerCode {
	p := float32(l.Prob)
	keep := float32(1) / (1 - p)
	in, out, mask := sel("s", g.inField(i)), sel("s", g.field(i, "Out")), sel("s", g.field(i, "Aux"))
	din, dout := g.inGrad(i), sel("s", g.field(i, "Grad"))
	fwd := []jen.Code{
		list(id("in"), id("out"), id("mask")).Op(":=").List(in, out, mask),
		jen.If(jen.Op("!").Add(sel("s", "train"))).Block(jen.Copy(id("out"), id("in")), jen.Return()),
		jen.For(id("j").Op(":=").Range().Id("mask")).Block(
			id("m").Op(":=").Lit(float32(0)),
			jen.If(sel("s", "ws", "RNG").Dot("Float32").Call().Op(">=").Lit(p)).Block(id("m").Op("=").Lit(keep)),
			id("mask").Index(id("j")).Op("=").Id("m"),
			id("out").Index(id("j")).Op("=").Id("in").Index(id("j")).Op("*").Id("m")),
	}
	bwd := []jen.Code{
		list(id("din"), id("dout"), id("mask")).Op(":=").List(din, dout, mask),
		jen.If(jen.Op("!").Add(sel("s", "train"))).Block(jen.Copy(id("din"), id("dout")), jen.Return()),
		jen.For(list(id("j"), id("m")).Op(":=").Range().Id("mask")).Block(id("din").Index(id("j")).Op("=").Id("dout").Index(id("j")).Op("*").Id("m")),
	}
	return layerCode{forward: fwd, input: bwd}
}

// loss emits <loss>Loss, which computes the mean loss of the batch from the scores and
// writes its gradient with respect to them.
func (g *generator) loss(i int, l *compiler.Layer) {
	n := l.In.Size()
	scores, grad := sel("s", g.inField(i)), g.inGrad(i)
	head := []jen.Code{
		list(id("scores"), id("grad")).Op(":=").List(scores, grad),
		id("inv").Op(":=").Lit(float32(1)).Op("/").Float32().Parens(sel("s", "batch")),
		jen.Var().Id("total").Float64(),
	}
	perImage := []jen.Code{
		id("row").Op(":=").Id("scores").Index(id("img").Op("*").Lit(n), id("img").Op("*").Lit(n).Op("+").Lit(n)),
		id("d").Op(":=").Id("grad").Index(id("img").Op("*").Lit(n), id("img").Op("*").Lit(n).Op("+").Lit(n)),
	}
	checkLabel := jen.If(id("y").Op("<").Lit(0).Op("||").Id("y").Op(">=").Lit(n)).Block(
		jen.Panic(jen.Qual("fmt", "Sprintf").Call(lit(g.pkg+": label %d of image %d is outside [0, %d)"), id("y"), id("img"), lit(n))))
	var doc string
	switch l.Kind {
	case compiler.Softmax:
		doc = "softmax cross-entropy, −log softmax(s)[y], and its gradient (softmax(s) − onehot(y))/batch"
		perImage = append(perImage,
			id("m").Op(":=").Id("row").Index(lit(0)),
			jen.For(list(id("_"), id("v")).Op(":=").Range().Id("row")).Block(id("m").Op("=").Max(id("m"), id("v"))),
			jen.Var().Id("sum").Float64(),
			jen.For(list(id("j"), id("v")).Op(":=").Range().Id("row")).Block(
				id("e").Op(":=").Qual("math", "Exp").Call(jen.Float64().Parens(id("v").Op("-").Id("m"))),
				id("d").Index(id("j")).Op("=").Float32().Parens(id("e")),
				id("sum").Op("+=").Id("e")),
			id("scale").Op(":=").Id("inv").Op("/").Float32().Parens(id("sum")),
			jen.For(id("j").Op(":=").Range().Id("d")).Block(id("d").Index(id("j")).Op("*=").Id("scale")),
			id("d").Index(id("y")).Op("-=").Id("inv"),
			id("total").Op("+=").Qual("math", "Log").Call(id("sum")).Op("-").Float64().Parens(id("row").Index(id("y")).Op("-").Id("m")))
	case compiler.SVM:
		margin := float32(l.Margin)
		doc = fmt.Sprintf("the multiclass SVM hinge loss, Σ_{j≠y} max(0, s_j − s_y + %g), and its gradient", l.Margin)
		perImage = append(perImage,
			jen.Clear(id("d")),
			id("sy").Op(":=").Id("row").Index(id("y")),
			jen.For(list(id("j"), id("v")).Op(":=").Range().Id("row")).Block(
				jen.If(id("j").Op("==").Int().Parens(id("y"))).Block(jen.Continue()),
				jen.If(id("h").Op(":=").Id("v").Op("-").Id("sy").Op("+").Lit(margin), id("h").Op(">").Lit(float32(0))).Block(
					id("total").Op("+=").Float64().Parens(id("h")),
					id("d").Index(id("j")).Op("+=").Id("inv"),
					id("d").Index(id("y")).Op("-=").Id("inv"))))
	default:
		doc = "the euclidean loss, Σ (s − t)²/2 with t the workspace's Targets (one-hot labels when nil), and its gradient"
		perImage = append(perImage,
			jen.For(list(id("j"), id("v")).Op(":=").Range().Id("row")).Block(
				id("t").Op(":=").Lit(float32(0)),
				jen.If(sel("s", "ws", "Targets").Op("!=").Nil()).Block(
					id("t").Op("=").Add(sel("s", "ws", "Targets")).Index(id("img").Op("*").Lit(n).Op("+").Id("j")),
				).Else().If(id("j").Op("==").Int().Parens(id("y"))).Block(id("t").Op("=").Lit(float32(1))),
				id("diff").Op(":=").Id("v").Op("-").Id("t"),
				id("total").Op("+=").Float64().Parens(id("diff").Op("*").Id("diff")).Op("/").Lit(2),
				id("d").Index(id("j")).Op("=").Id("diff").Op("*").Id("inv")))
	}
	body := append(head,
		jen.For(list(id("img"), id("y")).Op(":=").Range().Id("labels")).Block(append([]jen.Code{checkLabel}, perImage...)...),
		jen.Return(jen.Float32().Parens(id("total").Op("/").Float64().Parens(sel("s", "batch")))))
	name := local(l.Name) + "Loss"
	g.f.Comment(fmt.Sprintf("%s returns the mean over the batch of %s.", name, doc))
	g.f.Func().Params(id("s").Op("*").Id("state")).Id(name).Params(id("labels").Index().Int32()).Float32().Block(body...)
}

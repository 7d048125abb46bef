package gen

import (
	"fmt"

	"github.com/dave/jennifer/jen"
	"github.com/netc-dev/netc/compiler"
)

// Shorthands for the code builders and the compiler's names of layers.
var (
	id       = jen.Id
	lit      = jen.Lit
	local    = compiler.Local
	exported = compiler.Exported
)

func sel(names ...string) *jen.Statement {
	s := id(names[0])
	for _, n := range names[1:] {
		s = s.Dot(n)
	}
	return s
}

// owner is the index of the layer whose buffers layer i uses: a fused ReLU uses its
// producer's.
func (g *generator) owner(i int) int {
	if g.net.Layers[i].Plan.Fused {
		return i - 1
	}
	return i
}

// field names the state field holding buffer kind ("Out", "Grad", "Aux", "Arg") of layer i.
func (g *generator) field(i int, kind string) string {
	return local(g.net.Layers[g.owner(i)].Name) + kind
}

// inField names the state field of layer i's input.
func (g *generator) inField(i int) string { return g.inputField(i, 0) }

// inputField names the state field of layer i's input k: the output of the layer it
// reads, or the network's input x.
func (g *generator) inputField(i, k int) string {
	p := g.net.Layers[i].Inputs[k]
	if p < 0 {
		return "x"
	}
	return g.field(p, "Out")
}

// inGrad is the buffer that receives the gradient with respect to layer i's input.
func (g *generator) inGrad(i int) *jen.Statement { return g.inputGrad(i, 0) }

// inputGrad is the buffer that receives the gradient with respect to layer i's input k:
// the output gradient of the layer it reads (or the workspace's InputGrad for the
// network's input) or, when several layers read that one, a buffer of layer i's own,
// summed into it later (see compiler.LayerPlan.InGrads).
func (g *generator) inputGrad(i, k int) *jen.Statement {
	l := g.net.Layers[i]
	switch p := l.Inputs[k]; {
	case l.Plan.InGrads[k] >= 0:
		return sel("s", g.gradInField(i, k))
	case p < 0:
		return sel("s", "ws", "InputGrad")
	default:
		return sel("s", g.field(p, "Grad"))
	}
}

// gradInField names the state field of layer i's own buffer for the gradient of its
// input k.
func (g *generator) gradInField(i, k int) string {
	return local(g.net.Layers[i].Name) + fmt.Sprintf("In%dGrad", k)
}

// inputGradOptional reports whether the gradient with respect to layer i's input is
// needed only for ws.InputGrad — no layer before i learns anything — so it can be skipped
// when InputGrad is nil.
func (g *generator) inputGradOptional(i int) bool {
	for _, l := range g.net.Layers[:i] {
		if l.Params > 0 {
			return false
		}
	}
	return true
}

// image slices the part of a batch buffer that belongs to image img: buf[img*n : img*n+n].
func image(buf *jen.Statement, n int) *jen.Statement {
	start := id("img").Op("*").Lit(n)
	return buf.Index(start, id("img").Op("*").Lit(n).Op("+").Lit(n))
}

// param slices the parameters: s.net.params[off : off+n].
func param(off, n int) *jen.Statement {
	return sel("s", "net", "params").Index(lit(off), lit(off+n))
}

// gradParam slices worker w's gradient accumulator at parameter offset off.
func (g *generator) gradParam(off, n int) *jen.Statement {
	lo := off - g.net.Plan.PrivLo
	return sel("s", "grads").Index(id("w")).Index(lit(lo), lit(lo+n))
}

func (g *generator) netType() {
	ts := g.net.Tensors()
	fields := []jen.Code{
		id("params").Op(",").Id("grads").Index().Float32(),
		jen.Line(),
		jen.Comment("Views of params, one per tensor (PyTorch layout)."),
	}
	for _, t := range ts {
		fields = append(fields, jen.Comment(fmt.Sprintf("%s is %s, %v.", fieldName(g.net, t), t.Name, t.Shape)), id(fieldName(g.net, t)).Index().Float32())
	}
	g.f.Comment("Net is the network with its parameters and their gradients.")
	g.f.Type().Id("Net").Struct(fields...)
	g.f.Var().Id("_").Qual(runtimePath, "Network").Op("=").Parens(jen.Op("*").Id("Net")).Parens(jen.Nil())

	g.f.Comment("New returns the network with its parameters initialized from seed by the spec's")
	g.f.Comment(fmt.Sprintf("default scheme (%s); biases and buffers start at zero.", g.net.Plan.Init))
	body := []jen.Code{
		id("n").Op(":=").Op("&").Id("Net").Values(jen.Dict{
			id("params"): jen.Make(jen.Index().Float32(), id("NumParams").Op("+").Id("NumBuffers")),
			id("grads"):  jen.Make(jen.Index().Float32(), id("NumParams").Op("+").Id("NumBuffers")),
		}),
	}
	for _, t := range ts {
		body = append(body, sel("n", fieldName(g.net, t)).Op("=").Add(sel("n", "params").Index(lit(t.Offset), lit(t.Offset+t.Size))))
	}
	body = append(body,
		jen.Qual(runtimePath, "Initialize").Call(jen.Op("&").Id("info"), sel("n", "params"), jen.Qual(runtimePath, initScheme(g.net.Plan.Init)), id("seed")),
		jen.Return(id("n")))
	g.f.Func().Id("New").Params(id("seed").Uint64()).Op("*").Id("Net").Block(body...)

	g.method("Info returns the network's description.", "Info", nil, jen.Op("*").Qual(runtimePath, "Info"), jen.Return(jen.Op("&").Id("info")))
	g.method("Params returns every parameter in one slice, laid out as Info().Params says.", "Params", nil, jen.Index().Float32(), jen.Return(sel("n", "params")))
	g.method("Grads returns the gradients of the last Backward, laid out like Params.", "Grads", nil, jen.Index().Float32(), jen.Return(sel("n", "grads")))
}

func initScheme(name string) string {
	if name == "he" {
		return "InitHe"
	}
	return "InitXavier"
}

func (g *generator) method(doc, name string, params []jen.Code, result jen.Code, body ...jen.Code) {
	g.f.Comment(doc)
	g.f.Func().Params(id("n").Op("*").Id("Net")).Id(name).Params(params...).Add(result).Block(body...)
}

// stateType emits the generated code's private part of a workspace and NewWorkspace,
// which lays it out.
func (g *generator) stateType() {
	n := g.net
	fields := []jen.Code{
		id("net").Op("*").Id("Net"),
		id("ws").Op("*").Qual(runtimePath, "Workspace"),
		jen.Comment("batch images are split into chunks, one per worker."),
		id("batch").Op(",").Id("chunks").Int(),
		jen.Comment("nextImage is the next image a forward pass's chunks have not claimed."),
		id("nextImage").Qual("sync/atomic", "Int32"),
		jen.Comment("x is the input of the last Forward; train its mode."),
		id("x").Index().Float32(),
		id("train").Bool(),
		jen.Comment("gemm is kernels.Sgemm when the batch is one chunk, else kernels.SgemmSerial."),
		id("gemm").Func().Params(jen.Bool(), jen.Bool(), jen.Int(), jen.Int(), jen.Int(), jen.Float32(), jen.Index().Float32(), jen.Int(), jen.Index().Float32(), jen.Int(), jen.Float32(), jen.Index().Float32(), jen.Int()),
		jen.Comment("grads[w] accumulates worker w's gradients of params[privLo:privHi] (grads[0] is the"),
		jen.Comment("network's own)."),
		id("grads").Index().Index().Float32(),
	}
	if n.Plan.Col > 0 {
		fields = append(fields,
			jen.Comment("col and dcol are each worker's im2col matrices."),
			id("col").Op(",").Id("dcol").Index().Index().Float32())
	}
	scratch := g.scratch()
	setup := []jen.Code{
		jen.If(id("batch").Op("<").Lit(1)).Block(jen.Panic(jen.Qual("fmt", "Sprintf").Call(lit(g.pkg+": NewWorkspace: batch %d, want at least 1"), id("batch")))),
		id("chunks").Op(":=").Min(id("batch"), jen.Qual(kernelsPath, "Workers").Call()),
		jen.Comment("Every buffer is a piece of ws.Buf: the images', then each worker's, then the shared ones."),
		id("perWorker").Op(":=").Add(scratchSize(scratch, true, id("privHi").Op("-").Id("privLo"))),
		id("shared").Op(":=").Add(scratchSize(scratch, false, nil)),
		id("ws").Op(":=").Qual(runtimePath, "NewWorkspace").Call(
			id("batch"),
			id("batch").Op("*").Id("imageFloats").Op("+").Id("chunks").Op("*").Id("perWorker").Op("+").Id("shared"),
			id("batch").Op("*").Id("imageInts"),
			id("InputSize")),
		id("s").Op(":=").Op("&").Id("state").Values(jen.Dict{
			id("net"): id("n"), id("ws"): id("ws"), id("batch"): id("batch"), id("chunks"): id("chunks"),
			id("gemm"): jen.Qual(kernelsPath, "SgemmSerial"),
		}),
		jen.If(id("chunks").Op("==").Lit(1)).Block(sel("s", "gemm").Op("=").Qual(kernelsPath, "Sgemm")),
		sel("ws", "Workers").Op("=").Id("chunks"),
	}
	for i, l := range n.Layers {
		if l.Plan.Fused || l.Kind.IsLoss() {
			continue
		}
		size := l.Out.Size()
		bufs := []struct {
			kind      string
			off, size int
			src       string
			typ       jen.Code
		}{
			{"Out", l.Plan.Out, size, "Buf", jen.Float32()},
			{"Grad", l.Plan.Grad, size, "Buf", jen.Float32()},
			{"Aux", l.Plan.Aux, size, "Buf", jen.Float32()},
			{"Col", l.Plan.KeptCol, l.Plan.Col, "Buf", jen.Float32()},
			{"Arg", l.Plan.Index, size, "Index", jen.Int32()},
		}
		for k, off := range l.Plan.InGrads {
			bufs = append(bufs, struct {
				kind      string
				off, size int
				src       string
				typ       jen.Code
			}{fmt.Sprintf("In%dGrad", k), off, l.InShapes[k].Size(), "Buf", jen.Float32()})
		}
		for _, b := range bufs {
			if b.off < 0 {
				continue
			}
			name := g.field(i, b.kind)
			fields = append(fields, id(name).Index().Add(b.typ))
			setup = append(setup, sel("s", name).Op("=").Add(sel("ws", b.src).Index(lit(b.off).Op("*").Id("batch"), lit(b.off+b.size).Op("*").Id("batch"))))
		}
	}
	setup = append(setup,
		id("rest").Op(":=").Add(sel("ws", "Buf").Index(id("batch").Op("*").Id("imageFloats"), jen.Empty())),
		id("take").Op(":=").Func().Params(id("size").Int()).Index().Float32().Block(
			id("b").Op(":=").Id("rest").Index(jen.Empty(), id("size")).Index(jen.Empty(), id("size"), id("size")),
			id("rest").Op("=").Id("rest").Index(id("size"), jen.Empty()),
			jen.Return(id("b"))),
	)
	var perWorker, shared []jen.Code
	for _, b := range scratch {
		if b.perWorker {
			perWorker = append(perWorker, sel("s", b.field).Op("=").Append(sel("s", b.field), id("take").Call(b.size)))
		} else {
			shared = append(shared, sel("s", b.field).Op("=").Id("take").Call(b.size))
		}
	}
	setup = append(setup, jen.For(id("w").Op(":=").Lit(0), id("w").Op("<").Id("chunks"), id("w").Op("++")).Block(append(perWorker,
		id("g").Op(":=").Id("take").Call(id("privHi").Op("-").Id("privLo")),
		jen.If(id("w").Op("==").Lit(0)).Block(id("g").Op("=").Add(sel("n", "grads").Index(id("privLo"), id("privHi")))),
		sel("s", "grads").Op("=").Append(sel("s", "grads"), id("g")))...))
	setup = append(setup, shared...)
	if len(g.directLayers()) > 0 {
		fields = append(fields,
			jen.Comment("direct is kernels.DirectConv when the batch is one chunk, else kernels.DirectConvSerial."),
			id("direct").Func().Params(jen.Index().Float32(), jen.Int(), jen.Int(), jen.Int(), jen.Index().Float32(), jen.Index().Int32(), jen.Index().Float32(), jen.Int()),
			jen.Comment("packedFrom is the weights the direct convolutions' weights were last packed from;"),
			jen.Comment("flippedStale is set when they have not been packed flipped since."),
			id("packedFrom").Index().Float32(),
			id("flippedStale").Bool())
		setup = append(setup,
			sel("s", "direct").Op("=").Qual(kernelsPath, "DirectConvSerial"),
			jen.If(id("chunks").Op("==").Lit(1)).Block(sel("s", "direct").Op("=").Qual(kernelsPath, "DirectConv")))
	}
	for _, l := range g.directLayers() {
		name := local(l.Name)
		fields = append(fields,
			jen.Comment(name+"Packed and "+name+"Flipped are "+name+"'s weights packed for the forward pass and"),
			jen.Comment("the input gradient; "+name+"Pad and "+name+"GradPad each worker's padded input and output gradient,"),
			jen.Comment(name+"DoutT its transposed output gradient and "+name+"GradAcc its transposed weight gradient."),
			id(name+"Packed").Op(",").Id(name+"Flipped").Index().Float32(),
			id(name+"Pad").Op(",").Id(name+"GradPad").Op(",").Id(name+"DoutT").Op(",").Id(name+"GradAcc").Index().Index().Float32())
	}
	for si, st := range n.Plan.Stages {
		if st.PerImage {
			for _, dir := range []string{"forward", "backward"} {
				name := fmt.Sprintf("%sImages%d", dir, si)
				fields = append(fields, id(name).Func().Params(jen.Int(), jen.Int()))
				setup = append(setup, sel("s", name).Op("=").Add(sel("s", name+"Run")))
			}
		}
	}
	for _, l := range n.Layers {
		if l.Plan.ParallelRows {
			name := local(l.Name) + "Rows"
			fields = append(fields, id(name).Func().Params(jen.Int(), jen.Int()))
			setup = append(setup, sel("s", name).Op("=").Add(sel("s", name+"Run")))
		}
	}
	setup = append(setup, sel("ws", "Private").Op("=").Id("s"), jen.Return(id("ws")))

	g.f.Comment("state is the network's private part of a workspace: the buffers of every layer for")
	g.f.Comment("the whole batch, and each worker's scratch space.")
	g.f.Type().Id("state").Struct(fields...)
	g.method("NewWorkspace allocates every buffer a batch of the given size needs.", "NewWorkspace",
		[]jen.Code{id("batch").Int()}, jen.Op("*").Qual(runtimePath, "Workspace"), setup...)

	g.f.Comment("stateOf returns the state of a workspace made by n.NewWorkspace.")
	g.f.Func().Params(id("n").Op("*").Id("Net")).Id("stateOf").Params(id("ws").Op("*").Qual(runtimePath, "Workspace")).Op("*").Id("state").Block(
		list(id("s"), id("ok")).Op(":=").Add(sel("ws", "Private").Assert(jen.Op("*").Id("state"))),
		jen.If(jen.Op("!").Id("ok").Op("||").Add(sel("s", "net")).Op("!=").Id("n")).Block(
			jen.Panic(lit(g.pkg+": workspace was not made by this network's NewWorkspace"))),
		jen.Return(id("s")))

	g.f.Comment("start and tick record the time of each layer when the workspace has a Profile.")
	g.f.Func().Params(id("s").Op("*").Id("state")).Id("start").Params(id("w").Int()).Block(
		jen.If(id("p").Op(":=").Add(sel("s", "ws", "Profile")), id("p").Op("!=").Nil()).Block(sel("p", "Start").Call(id("w"))))
	g.f.Func().Params(id("s").Op("*").Id("state")).Id("tick").Params(id("w"), id("layer").Int(), id("backward").Bool()).Block(
		jen.If(id("p").Op(":=").Add(sel("s", "ws", "Profile")), id("p").Op("!=").Nil()).Block(sel("p", "Tick").Call(id("w"), id("layer"), id("backward"))))

	g.f.Comment("claim returns the next image of the forward pass for the chunk that asks (batch or")
	g.f.Comment("more when none is left).")
	g.f.Func().Params(id("s").Op("*").Id("state")).Id("claim").Params().Int().Block(
		jen.Return(jen.Int().Parens(sel("s", "nextImage").Dot("Add").Call(lit(1))).Op("-").Lit(1)))

	g.f.Comment("images returns the range of images of chunk w.")
	g.f.Func().Params(id("s").Op("*").Id("state")).Id("images").Params(id("w").Int()).Params(jen.Int(), jen.Int()).Block(
		jen.Return(id("w").Op("*").Add(sel("s", "batch")).Op("/").Add(sel("s", "chunks")), parens(id("w").Op("+").Lit(1)).Op("*").Add(sel("s", "batch")).Op("/").Add(sel("s", "chunks"))))
}

// scratchBuf is a buffer of a workspace's scratch space: a state field and its size (a
// constant, or a call of the kernels' size function), one per worker or one in all.
type scratchBuf struct {
	field     string
	size      jen.Code
	perWorker bool
}

// scratch lists the scratch buffers besides the gradient accumulators: the im2col matrices
// and what the direct convolutions need. The pads' borders stay zero: nothing but PadInto
// writes them, and only inside.
func (g *generator) scratch() []scratchBuf {
	var bufs []scratchBuf
	if g.net.Plan.Col > 0 {
		bufs = append(bufs, scratchBuf{"col", id("colSize"), true}, scratchBuf{"dcol", id("colSize"), true})
	}
	size := func(fn string, args ...int) jen.Code {
		var a []jen.Code
		for _, v := range args {
			a = append(a, lit(v))
		}
		return jen.Qual(kernelsPath, fn).Call(a...)
	}
	if len(g.directLayers()) > 0 {
		// The weights Packed (and, unless flippedStale, Flipped) were last packed from;
		// being zero like them at first, they start out consistent.
		lo, hi := g.directWeights()
		bufs = append(bufs, scratchBuf{"packedFrom", lit(hi - lo), false})
	}
	for _, l := range g.directLayers() {
		name := local(l.Name)
		qh, qw := l.KH-1-l.PH, l.KW-1-l.PW
		k, kk, ohw := l.In.C*l.KH*l.KW, l.KH*l.KW, l.Out.H*l.Out.W
		bufs = append(bufs,
			scratchBuf{name + "Packed", size("DirectPackedSize", l.Filters, k), false},
			scratchBuf{name + "Flipped", size("DirectPackedSize", l.In.C, l.Filters*kk), false},
			scratchBuf{name + "Pad", size("DirectSrcSize", l.In.C, l.In.H+2*l.PH, l.In.W+2*l.PW), true},
			scratchBuf{name + "GradPad", size("DirectSrcSize", l.Filters, l.Out.H+2*qh, l.Out.W+2*qw), true},
			scratchBuf{name + "DoutT", size("DirectGradSize", ohw, l.Filters), true},
			scratchBuf{name + "GradAcc", size("DirectGradSize", k, l.Filters), true})
	}
	return bufs
}

// scratchSize is first (if not nil) plus the sizes of the per-worker (or shared) buffers,
// or 0 if that is nothing.
func scratchSize(bufs []scratchBuf, perWorker bool, first jen.Code) *jen.Statement {
	terms := []jen.Code{}
	if first != nil {
		terms = append(terms, first)
	}
	for _, b := range bufs {
		if b.perWorker == perWorker {
			terms = append(terms, b.size)
		}
	}
	if len(terms) == 0 {
		return lit(0)
	}
	sum := jen.Add(terms[0])
	for _, t := range terms[1:] {
		sum = sum.Op("+").Add(t)
	}
	return sum
}

func list(items ...jen.Code) *jen.Statement { return jen.List(items...) }

func parens(c jen.Code) *jen.Statement { return jen.Parens(c) }

// scores is the field holding the network's scores: the loss layer's input.
func (g *generator) scores() string { return g.inField(len(g.net.Layers) - 1) }

func (g *generator) forward() {
	n := g.net
	body := []jen.Code{
		id("s").Op(":=").Id("n").Dot("stateOf").Call(id("ws")),
		jen.If(jen.Len(id("x")).Op("!=").Add(sel("s", "batch")).Op("*").Id("InputSize")).Block(
			jen.Panic(jen.Qual("fmt", "Sprintf").Call(lit(g.pkg+": Forward: %d input values, want %d (batch %d)"), jen.Len(id("x")), sel("s", "batch").Op("*").Id("InputSize"), sel("s", "batch")))),
		list(sel("s", "x"), sel("s", "train")).Op("=").List(id("x"), id("train")),
	}
	if len(g.directLayers()) > 0 {
		body = append(body, sel("s", "packWeights").Call(jen.False()))
	}
	for si, st := range n.Plan.Stages {
		if st.PerImage {
			body = append(body, sel("s", "nextImage").Dot("Store").Call(lit(0)),
				jen.Qual(kernelsPath, "ParallelFor").Call(sel("s", "chunks"), sel("s", fmt.Sprintf("forwardImages%d", si))))
			continue
		}
		body = append(body, sel("s", "start").Call(lit(0)))
		for _, i := range st.Layers {
			if !n.Layers[i].Kind.IsLoss() {
				body = append(body, sel("s", local(n.Layers[i].Name)+"Forward").Call(), sel("s", "tick").Call(lit(0), lit(i), jen.False()))
			}
		}
	}
	body = append(body, jen.Return(sel("s", g.scores())))
	g.method("Forward runs the network on x, batch × InC × InH × InW values in C,H,W order, and\n"+
		"returns the scores, batch × Outputs, valid until the next Forward on ws. Dropout is\n"+
		"active in training mode only.", "Forward",
		[]jen.Code{id("ws").Op("*").Qual(runtimePath, "Workspace"), id("x").Index().Float32(), id("train").Bool()}, jen.Index().Float32(), body...)
}

func (g *generator) backward() {
	n := g.net
	loss := n.Loss()
	body := []jen.Code{
		id("s").Op(":=").Id("n").Dot("stateOf").Call(id("ws")),
		jen.If(jen.Len(id("labels")).Op("!=").Add(sel("s", "batch"))).Block(
			jen.Panic(jen.Qual("fmt", "Sprintf").Call(lit(g.pkg+": Backward: %d labels, want %d"), jen.Len(id("labels")), sel("s", "batch")))),
		sel("s", "start").Call(lit(0)),
		id("loss").Op(":=").Add(sel("s", local(loss.Name)+"Loss")).Call(id("labels")),
		sel("s", "tick").Call(lit(0), lit(len(n.Layers)-1), jen.True()),
	}
	body = append(body, g.clearGrads()...)
	body = append(body, jen.For(list(id("_"), id("g")).Op(":=").Range().Add(sel("s", "grads").Index(lit(1), jen.Empty()))).Block(jen.Clear(id("g"))))
	if len(g.directLayers()) > 0 {
		body = append(body, sel("s", "packWeights").Call(jen.True()))
	}
	for si := len(n.Plan.Stages) - 1; si >= 0; si-- {
		st := n.Plan.Stages[si]
		if st.PerImage {
			body = append(body, jen.Qual(kernelsPath, "ParallelFor").Call(sel("s", "chunks"), sel("s", fmt.Sprintf("backwardImages%d", si))))
			continue
		}
		body = append(body, sel("s", "start").Call(lit(0)))
		for k := len(st.Layers) - 1; k >= 0; k-- {
			if l := n.Layers[st.Layers[k]]; !l.Kind.IsLoss() {
				body = append(body, sel("s", local(l.Name)+"Backward").Call(), sel("s", "tick").Call(lit(0), lit(st.Layers[k]), jen.True()))
			}
		}
	}
	body = append(body,
		jen.For(list(id("_"), id("g")).Op(":=").Range().Add(sel("s", "grads").Index(lit(1), jen.Empty()))).Block(
			jen.Qual(kernelsPath, "Add").Call(id("g"), sel("s", "grads").Index(lit(0)))),
		jen.Return(id("loss")))
	g.method("Backward computes the loss of the last Forward on ws against labels, overwrites\n"+
		"Grads with its gradient and fills ws.InputGrad, and returns the mean loss of the batch.", "Backward",
		[]jen.Code{id("ws").Op("*").Qual(runtimePath, "Workspace"), id("labels").Index().Int32()}, jen.Float32(), body...)
}

// clearGrads emits the clearing of the gradients that Backward accumulates: all but the
// weight gradients of full layers, which their GEMM overwrites (most of a network like
// AlexNet's, hundreds of megabytes a step).
func (g *generator) clearGrads() []jen.Code {
	var code []jen.Code
	from := 0
	for _, l := range g.net.Layers {
		if l.Kind != compiler.Full {
			continue
		}
		if from < l.WeightOff {
			code = append(code, jen.Clear(sel("n", "grads").Index(litOrEmpty(from), lit(l.WeightOff))))
		}
		from = l.WeightOff + l.Weights()
	}
	code = append(code, jen.Clear(sel("n", "grads").Index(litOrEmpty(from), jen.Empty())))
	if len(code) > 1 {
		code = append([]jen.Code{jen.Comment("The full layers' weight gradients are overwritten, the others accumulated.")}, code...)
	}
	return code
}

// litOrEmpty is n as a slice bound, or nothing for 0.
func litOrEmpty(n int) jen.Code {
	if n == 0 {
		return jen.Empty()
	}
	return lit(n)
}

// imageStage emits the two functions that run a per-image stage forward and backward on
// the images of a range of chunks.
func (g *generator) imageStage(si int, st compiler.Stage) {
	n := g.net
	var names []string
	for _, i := range st.Layers {
		names = append(names, n.Layers[i].Name)
	}
	for _, dir := range []string{"Forward", "Backward"} {
		var calls []jen.Code
		for k := range st.Layers {
			i := st.Layers[k]
			if dir == "Backward" {
				i = st.Layers[len(st.Layers)-1-k]
			}
			calls = append(calls, sel("s", local(n.Layers[i].Name)+dir).Call(id("img"), id("w")),
				sel("s", "tick").Call(id("w"), lit(i), jen.Lit(dir == "Backward")))
		}
		calls = append([]jen.Code{sel("s", "start").Call(id("w"))}, calls...)
		name := fmt.Sprintf("%sImages%dRun", lower(dir), si)
		var chunk []jen.Code
		if dir == "Forward" {
			// Images are independent going forward: a chunk claims them one at a time, so
			// that a core slowed by other work takes fewer. Backward, each chunk sums its
			// own images' gradients, which must not depend on timing.
			g.f.Comment(fmt.Sprintf("%s runs %s forward on images claimed one at a time, with the buffers of", name, rangeText(names)))
			g.f.Comment("chunks [lo, hi).")
			chunk = []jen.Code{jen.For(id("img").Op(":=").Id("s").Dot("claim").Call(), id("img").Op("<").Add(sel("s", "batch")), id("img").Op("=").Id("s").Dot("claim").Call()).Block(calls...)}
		} else {
			g.f.Comment(fmt.Sprintf("%s runs %s %s on the images of chunks [lo, hi).", name, rangeText(names), lower(dir)))
			chunk = []jen.Code{
				list(id("first"), id("end")).Op(":=").Add(sel("s", "images")).Call(id("w")),
				jen.For(id("img").Op(":=").Id("first"), id("img").Op("<").Id("end"), id("img").Op("++")).Block(calls...),
			}
		}
		if dir == "Backward" {
			for _, i := range st.Layers {
				if l := n.Layers[i]; l.Plan.Conv == compiler.ConvDirect {
					chunk = append(chunk, jen.Qual(kernelsPath, "FlushDirectWeightGrad").Call(g.gradParam(l.WeightOff, l.Weights()),
						sel("s", local(l.Name)+"GradAcc").Index(id("w")), lit(l.Filters), lit(l.In.C*l.KH*l.KW)))
				}
			}
		}
		g.f.Func().Params(id("s").Op("*").Id("state")).Id(name).Params(id("lo"), id("hi").Int()).Block(
			jen.For(id("w").Op(":=").Id("lo"), id("w").Op("<").Id("hi"), id("w").Op("++")).Block(chunk...))
	}
}

// directLayers are the conv layers computed by direct convolution.
func (g *generator) directLayers() []*compiler.Layer {
	var ls []*compiler.Layer
	for _, l := range g.net.Layers {
		if l.Plan.Conv == compiler.ConvDirect {
			ls = append(ls, l)
		}
	}
	return ls
}

// packWeights emits the method that lays out the weights of the direct convolutions as
// their tile kernels read them, for the forward pass or flipped for the input gradients of
// the backward pass, when the weights have changed since that was last done.
func (g *generator) packWeights() {
	if len(g.directLayers()) == 0 {
		return
	}
	var fwd, bwd []jen.Code
	for _, l := range g.directLayers() {
		name := local(l.Name)
		w := param(l.WeightOff, l.Weights())
		fwd = append(fwd, jen.Qual(kernelsPath, "PackDirect").Call(sel("s", name+"Packed"), w, lit(l.Filters), lit(l.In.C*l.KH*l.KW), lit(l.Out.W)))
		bwd = append(bwd, jen.Qual(kernelsPath, "PackDirectFlipped").Call(sel("s", name+"Flipped"), w, lit(l.Filters), lit(l.In.C), lit(l.KH), lit(l.KW), lit(l.In.W)))
	}
	lo, hi := g.directWeights()
	g.f.Comment("packWeights packs the weights of the direct convolutions for the forward pass if they")
	g.f.Comment("have changed since they were last packed, and flipped for the input gradients too when")
	g.f.Comment("backward is set and they have changed since they were last packed so.")
	g.f.Func().Params(id("s").Op("*").Id("state")).Id("packWeights").Params(id("backward").Bool()).Block(
		jen.If(jen.Qual(kernelsPath, "Changed").Call(sel("s", "packedFrom"), param(lo, hi-lo))).Block(
			append(fwd, sel("s", "flippedStale").Op("=").True())...),
		jen.If(id("backward").Op("&&").Add(sel("s", "flippedStale"))).Block(
			append(bwd, sel("s", "flippedStale").Op("=").False())...))
}

// directWeights returns the span of parameters holding every direct convolution's weights.
func (g *generator) directWeights() (lo, hi int) {
	ls := g.directLayers()
	lo, hi = ls[0].WeightOff, 0
	for _, l := range ls {
		lo, hi = min(lo, l.WeightOff), max(hi, l.WeightOff+l.Weights())
	}
	return lo, hi
}

func lower(s string) string { return string(s[0]+'a'-'A') + s[1:] }

func rangeText(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return names[0] + " … " + names[len(names)-1]
}

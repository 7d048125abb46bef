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
	sel      = compiler.Sel
	image    = compiler.Image
)

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
		return g.Workspace().Dot("InputGrad")
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

// param slices the parameters: s.net.params[off : off+n].
func param(off, n int) *jen.Statement {
	return sel("s", "net", "params").Index(lit(off), lit(off+n))
}

// gradParam slices worker w's gradient accumulator at parameter offset off.
func (g *generator) gradParam(off, n int) *jen.Statement {
	lo := off - g.net.Plan.PrivLo
	return sel("s", "Grads").Index(id("w")).Index(lit(lo), lit(lo+n))
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
// which lays it out; nn.Split, which the state embeds, does what every network does alike.
func (g *generator) stateType() {
	fields := []jen.Code{
		jen.Comment("Split is the batch split over the workers, with their gradients of params[privLo:privHi]."),
		jen.Qual(runtimePath, "Split").Types(jen.Op("*").Id("state")),
		id("net").Op("*").Id("Net"),
		jen.Comment("x is the input of the last Forward; train, if a layer needs it, its mode."),
		id("x").Index().Float32(),
	}
	if g.readsTrain() {
		fields = append(fields, id("train").Bool())
	}
	switch col, dcol := g.workerCols(); {
	case col && dcol:
		fields = append(fields,
			jen.Comment("col and dcol are each worker's im2col matrix and its gradient."),
			id("col").Op(",").Id("dcol").Index().Index().Float32())
	case col:
		fields = append(fields, jen.Comment("col is each worker's im2col matrix."), id("col").Index().Index().Float32())
	case dcol:
		fields = append(fields, jen.Comment("dcol is each worker's im2col gradient."), id("dcol").Index().Index().Float32())
	}
	setup := []jen.Code{
		id("s").Op(":=").Op("&").Id("state").Values(jen.Dict{id("net"): id("n")}),
		id("ws").Op(":=").Id("s").Dot("Init").Call(id("s"), id("batch"), jen.Qual(runtimePath, "Layout").Add(fieldsMultiline(
			"Package", lit(g.pkg),
			"ImageFloats", id("imageFloats"),
			"ImageInts", id("imageInts"),
			"InputSize", id("InputSize"),
			"Grads", sel("n", "grads").Index(id("privLo"), id("privHi"))))),
	}
	imageFields, imageSetup := g.imageBuffers()
	fields, setup = append(fields, imageFields...), append(setup, imageSetup...)
	fields = append(fields, g.directFields()...)
	fields = append(fields, g.foldFields()...)
	fields = append(fields, g.reducedFields()...)
	setup = append(setup, g.scratchSetup()...)
	setup = append(setup, jen.Return(id("ws")))

	g.f.Comment("state is the network's private part of a workspace: the buffers of every layer for")
	g.f.Comment("the whole batch, and each worker's scratch space.")
	g.f.Type().Id("state").Struct(fields...)
	g.method("NewWorkspace allocates every buffer a batch of the given size needs.", "NewWorkspace",
		[]jen.Code{id("batch").Int()}, jen.Op("*").Qual(runtimePath, "Workspace"), setup...)

	g.f.Comment("stateOf returns the state of a workspace made by n.NewWorkspace.")
	g.f.Func().Params(id("n").Op("*").Id("Net")).Id("stateOf").
		Params(id("ws").Op("*").Qual(runtimePath, "Workspace")).Op("*").Id("state").Block(
		list(id("s"), id("ok")).Op(":=").Add(sel("ws", "Private").Assert(jen.Op("*").Id("state"))),
		jen.If(jen.Op("!").Id("ok").Op("||").Add(sel("s", "net")).Op("!=").Id("n")).Block(
			jen.Panic(lit(g.pkg+": workspace was not made by this network's NewWorkspace"))),
		jen.Return(id("s")))
}

// imageBuffers returns the state fields of the layers' buffers for the whole batch, and
// the statements that slice them out of the workspace.
func (g *generator) imageBuffers() (fields, setup []jen.Code) {
	for i, l := range g.net.Layers {
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
			{"Aux", l.Plan.Aux, l.Plan.AuxSize, "Buf", jen.Float32()},
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
			setup = append(setup, sel("s", name).Op("=").Add(sel("ws", b.src).Index(
				lit(b.off).Op("*").Id("batch"), lit(b.off+b.size).Op("*").Id("batch"))))
		}
	}
	return fields, setup
}

// directFields returns the state fields that the direct convolutions need.
func (g *generator) directFields() []jen.Code {
	if len(g.directLayers()) == 0 {
		return nil
	}
	fields := []jen.Code{
		jen.Comment("packing records the weights the direct convolutions' weights were packed from."),
		id("packing").Qual(runtimePath, "Packing"),
	}
	for _, l := range g.directLayers() {
		name := local(l.Name)
		fields = append(fields,
			jen.Comment(name+"Packed and "+name+"Flipped are "+name+"'s weights packed for the forward pass"),
			jen.Comment("and the input gradient; "+name+"Pad and "+name+"GradPad each worker's padded input and"),
			jen.Comment("output gradient, "+name+"DoutT its transposed output gradient and "+name+"GradAcc its"),
			jen.Comment("transposed weight gradient."),
			id(name+"Packed").Op(",").Id(name+"Flipped").Index().Float32(),
			id(name+"Pad").Op(",").Id(name+"GradPad").Op(",").Id(name+"DoutT").Op(",").Id(name+"GradAcc").
				Index().Index().Float32())
	}
	return fields
}

// foldLayers are the conv layers with a batch norm folded in at inference.
func (g *generator) foldLayers() []*compiler.Layer {
	var ls []*compiler.Layer
	for _, l := range g.net.Layers {
		if l.Plan.FoldBN != nil {
			ls = append(ls, l)
		}
	}
	return ls
}

// foldFields returns the state fields of the weights with batch norms folded in.
func (g *generator) foldFields() []jen.Code {
	if len(g.foldLayers()) == 0 {
		return nil
	}
	fields := []jen.Code{
		jen.Comment("folded records the parameters the batch norms were last folded with."),
		id("folded").Index().Float32(),
	}
	for _, l := range g.foldLayers() {
		name := local(l.Name)
		doc := name + "FoldW and " + name + "FoldB are " + name + "'s weights and biases with " + l.Plan.FoldBN.Name + " folded in"
		names := []jen.Code{id(name + "FoldW"), id(name + "FoldB")}
		if l.Plan.Conv == compiler.ConvDirect {
			doc = name + "FoldW, " + name + "FoldB and " + name + "FoldPacked are " + name + "'s weights and biases with " +
				l.Plan.FoldBN.Name + " folded in, and those weights packed"
			names = append(names, id(name+"FoldPacked"))
		}
		for _, line := range commentLines(doc + ".") {
			fields = append(fields, jen.Comment(line))
		}
		fields = append(fields, jen.List(names...).Index().Float32())
	}
	return fields
}

// splitLayers are the batch layers split into per-image parts (see compiler.LayerPlan.Split).
func (g *generator) splitLayers() []*compiler.Layer {
	var ls []*compiler.Layer
	for _, l := range g.net.Layers {
		if l.Plan.Split {
			ls = append(ls, l)
		}
	}
	return ls
}

// reducedFields returns the state fields of what the split layers reduce the batch to.
func (g *generator) reducedFields() []jen.Code {
	if len(g.splitLayers()) == 0 {
		return nil
	}
	fields := []jen.Code{jen.Comment("<layer>Reduced is what a layer split image by image reduced the batch to.")}
	for _, l := range g.splitLayers() {
		fields = append(fields, id(local(l.Name)+"Reduced").Index().Float32())
	}
	return fields
}

// scratchSetup allocates the scratch buffers: one per worker, or one in all.
func (g *generator) scratchSetup() []jen.Code {
	var setup []jen.Code
	if len(g.directLayers()) > 0 {
		setup = append(setup, sel("s", "packing").Op("=").Qual(runtimePath, "NewPacking").Call(
			id("directHi").Op("-").Id("directLo")))
	}
	for _, b := range g.scratch() {
		alloc := jen.Make(jen.Index().Float32(), b.size)
		if b.perWorker {
			alloc = sel("s", "PerChunk").Call(b.size)
		}
		setup = append(setup, sel("s", b.field).Op("=").Add(alloc))
	}
	return setup
}

// workerCols reports whether the layers use the workers' im2col matrix (col) and its
// gradient (dcol) as scratch space.
func (g *generator) workerCols() (col, dcol bool) { return g.uses["col"], g.uses["dcol"] }

// readsTrain reports whether a layer behaves differently in training (dropout, batch
// norm).
func (g *generator) readsTrain() bool { return g.uses["train"] }

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
	col, dcol := g.workerCols()
	if col {
		bufs = append(bufs, scratchBuf{"col", id("colSize"), true})
	}
	if dcol {
		bufs = append(bufs, scratchBuf{"dcol", id("colSize"), true})
	}
	size := func(fn string, args ...int) jen.Code {
		var a []jen.Code
		for _, v := range args {
			a = append(a, lit(v))
		}
		return jen.Qual(kernelsPath, fn).Call(a...)
	}
	if len(g.foldLayers()) > 0 {
		bufs = append(bufs, scratchBuf{"folded", id("NumParams").Op("+").Id("NumBuffers"), false})
	}
	for _, l := range g.splitLayers() {
		bufs = append(bufs, scratchBuf{local(l.Name) + "Reduced", lit(l.Plan.Reduced), false})
	}
	for _, l := range g.foldLayers() {
		name := local(l.Name)
		bufs = append(bufs, scratchBuf{name + "FoldW", lit(l.Weights()), false}, scratchBuf{name + "FoldB", lit(l.Filters), false})
		if l.Plan.Conv == compiler.ConvDirect {
			bufs = append(bufs, scratchBuf{name + "FoldPacked", size("DirectPackedSize", l.Filters, l.In.C*l.KH*l.KW), false})
		}
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

func list(items ...jen.Code) *jen.Statement { return jen.List(items...) }

// scores is the field holding the network's scores: the loss layer's input.
func (g *generator) scores() string { return g.inField(len(g.net.Layers) - 1) }

// stageFunc is the method expression of the function of per-image stage si: for
// "forward", (*state).forwardImages0.
func stageFunc(dir string, si int) *jen.Statement {
	return jen.Parens(jen.Op("*").Id("state")).Dot(fmt.Sprintf("%sImages%d", dir, si))
}

func (g *generator) forward() {
	n := g.net
	body := []jen.Code{
		id("s").Op(":=").Id("n").Dot("stateOf").Call(id("ws")),
		sel("s", "CheckInput").Call(id("x")),
		sel("s", "x").Op("=").Id("x"),
	}
	if g.readsTrain() {
		body = append(body, sel("s", "train").Op("=").Id("train"))
	}
	if n.Plan.InferStages != nil {
		body = append(body, jen.If(jen.Op("!").Id("train")).Block(jen.Return(sel("s", "infer").Call())))
	}
	if len(g.directLayers()) > 0 {
		body = append(body, sel("s", "packWeights").Call(jen.False()))
	}
	for si, st := range n.Plan.Stages {
		if st.PerImage {
			body = append(body, sel("s", "ForwardImages").Call(stageFunc("forward", si)))
			continue
		}
		body = append(body, sel("s", "Start").Call(lit(0)))
		for _, i := range st.Layers {
			if !n.Layers[i].Kind.IsLoss() {
				body = append(body, sel("s", local(n.Layers[i].Name)+"Forward").Call(),
					sel("s", "Tick").Call(lit(0), lit(i), jen.False()))
			}
		}
	}
	body = append(body, jen.Return(sel("s", g.scores())))
	g.method("Forward runs the network on x, batch × InC × InH × InW values in C,H,W order, and\n"+
		"returns the scores, batch × Outputs, valid until the next Forward on ws. Dropout is\n"+
		"active in training mode only.", "Forward",
		[]jen.Code{id("ws").Op("*").Qual(runtimePath, "Workspace"), id("x").Index().Float32(), id("train").Bool()},
		jen.Index().Float32(), body...)
}

func (g *generator) backward() {
	n := g.net
	loss := n.Loss()
	body := []jen.Code{
		id("s").Op(":=").Id("n").Dot("stateOf").Call(id("ws")),
		sel("s", "CheckLabels").Call(id("labels")),
		sel("s", "Start").Call(lit(0)),
		id("loss").Op(":=").Add(sel("s", local(loss.Name)+"Loss")).Call(id("labels")),
		sel("s", "Tick").Call(lit(0), lit(len(n.Layers)-1), jen.True()),
	}
	body = append(body, sel("s", "ClearGrads").Call())
	if len(g.directLayers()) > 0 {
		body = append(body, sel("s", "packWeights").Call(jen.True()))
	}
	for si := len(n.Plan.Stages) - 1; si >= 0; si-- {
		st := n.Plan.Stages[si]
		if st.PerImage {
			flush := jen.Nil()
			if len(g.stageDirect(st)) > 0 {
				flush = stageFunc("flush", si)
			}
			body = append(body, sel("s", "BackwardImages").Call(stageFunc("backward", si), flush))
			continue
		}
		body = append(body, sel("s", "Start").Call(lit(0)))
		for k := len(st.Layers) - 1; k >= 0; k-- {
			if l := n.Layers[st.Layers[k]]; !l.Kind.IsLoss() {
				body = append(body, sel("s", local(l.Name)+"Backward").Call(),
					sel("s", "Tick").Call(lit(0), lit(st.Layers[k]), jen.True()))
			}
		}
	}
	body = append(body, sel("s", "FoldGrads").Call(), jen.Return(id("loss")))
	g.method("Backward computes the loss of the last Forward on ws against labels, overwrites\n"+
		"Grads with its gradient and fills ws.InputGrad, and returns the mean loss of the batch.", "Backward",
		[]jen.Code{id("ws").Op("*").Qual(runtimePath, "Workspace"), id("labels").Index().Int32()}, jen.Float32(), body...)
}

// infer emits, for a network with a batch norm folded into a conv, the method that runs
// it at inference (see compiler.NetPlan.InferStages) and the functions of its per-image
// stages.
func (g *generator) infer() {
	n := g.net
	if n.Plan.InferStages == nil {
		return
	}
	body := []jen.Code{sel("s", "fold").Call()}
	for _, l := range g.directLayers() {
		if l.Plan.FoldBN == nil {
			body = append(body, sel("s", "packWeights").Call(jen.False()))
			break
		}
	}
	for si, st := range n.Plan.InferStages {
		if st.PerImage {
			body = append(body, sel("s", "ForwardImages").Call(stageFunc("infer", si)))
			continue
		}
		body = append(body, sel("s", "Start").Call(lit(0)))
		for _, i := range st.Layers {
			if !n.Layers[i].Kind.IsLoss() {
				body = append(body, sel("s", local(n.Layers[i].Name)+"Forward").Call(),
					sel("s", "Tick").Call(lit(0), lit(i), jen.False()))
			}
		}
	}
	body = append(body, jen.Return(sel("s", g.scores())))
	g.f.Comment("infer runs the network at inference, each batch norm that follows a conv folded into it,")
	g.f.Comment("and returns the scores.")
	g.f.Func().Params(id("s").Op("*").Id("state")).Id("infer").Params().Index().Float32().Block(body...)
	for si, st := range n.Plan.InferStages {
		if !st.PerImage {
			continue
		}
		var calls []jen.Code
		for _, i := range st.Layers {
			method := "Forward"
			if n.Layers[i].Plan.FoldBN != nil {
				method = "Infer"
			}
			calls = append(calls, sel("s", local(n.Layers[i].Name)+method).Call(id("img"), id("w")),
				sel("s", "Tick").Call(id("w"), lit(i), jen.False()))
		}
		names := rangeText(n.Layers[st.Layers[0]].Name, n.Layers[st.Layers[len(st.Layers)-1]].Name)
		name := fmt.Sprintf("inferImages%d", si)
		g.f.Comment(fmt.Sprintf("%s runs %s at inference on image img, with the buffers of worker w.", name, names))
		g.f.Func().Params(id("s").Op("*").Id("state")).Id(name).Params(id("img"), id("w").Int()).Block(calls...)
	}
}

// fold emits the method that folds the batch norms into the convs before them when the
// parameters have changed since they were last folded.
func (g *generator) fold() {
	if len(g.folds) == 0 {
		return
	}
	g.f.Comment("fold folds each batch norm into the conv before it for inference, if the parameters")
	g.f.Comment("(the running statistics among them) have changed since they were last folded.")
	g.f.Func().Params(id("s").Op("*").Id("state")).Id("fold").Params().Block(append([]jen.Code{
		jen.If(jen.Op("!").Qual(kernelsPath, "Changed").Call(sel("s", "folded"), sel("s", "net", "params"))).Block(jen.Return()),
	}, g.folds...)...)
}

// imageStage emits the functions that run per-image stage si on one image, forward and
// backward, which nn.Split calls for every image of the batch, and the one that flushes
// the weight gradients its direct convolutions accumulate over a worker's images.
func (g *generator) imageStage(si int, st compiler.Stage) {
	n := g.net
	names := rangeText(n.Layers[st.Layers[0]].Name, n.Layers[st.Layers[len(st.Layers)-1]].Name)
	// A split layer's stage is its own: the one before runs its Gather, the one after its
	// Scatter.
	split := func(sj int) int {
		if sj < 0 || sj >= len(n.Plan.Stages) || n.Plan.Stages[sj].PerImage || !n.Layers[n.Plan.Stages[sj].Layers[0]].Plan.Split {
			return -1
		}
		return n.Plan.Stages[sj].Layers[0]
	}
	part := func(i int, method string, back bool) []jen.Code {
		if i < 0 {
			return nil
		}
		return []jen.Code{sel("s", local(n.Layers[i].Name)+method).Call(id("img"), id("w")),
			sel("s", "Tick").Call(id("w"), lit(i), jen.Lit(back))}
	}
	before, after := split(si-1), split(si+1)
	for _, dir := range []string{"forward", "backward"} {
		calls := part(before, "Scatter", false)
		if dir == "backward" {
			calls = part(after, "GradScatter", true)
		}
		for k := range st.Layers {
			i := st.Layers[k]
			if dir == "backward" {
				i = st.Layers[len(st.Layers)-1-k]
			}
			calls = append(calls, sel("s", local(n.Layers[i].Name)+upper(dir)).Call(id("img"), id("w")),
				sel("s", "Tick").Call(id("w"), lit(i), jen.Lit(dir == "backward")))
		}
		if dir == "forward" {
			calls = append(calls, part(after, "Gather", false)...)
		} else {
			calls = append(calls, part(before, "GradGather", true)...)
		}
		name := fmt.Sprintf("%sImages%d", dir, si)
		g.f.Comment(fmt.Sprintf("%s runs %s %s on image img, with the buffers of worker w.", name, names, dir))
		g.f.Func().Params(id("s").Op("*").Id("state")).Id(name).Params(id("img"), id("w").Int()).Block(calls...)
	}
	direct := g.stageDirect(st)
	if len(direct) == 0 {
		return
	}
	var flush []jen.Code
	for _, l := range direct {
		flush = append(flush, jen.Qual(kernelsPath, "FlushDirectWeightGrad").Call(g.gradParam(l.WeightOff, l.Weights()),
			sel("s", local(l.Name)+"GradAcc").Index(id("w")), lit(l.Filters), lit(l.In.C*l.KH*l.KW)))
	}
	g.f.Comment(fmt.Sprintf("flushImages%d adds the weight gradients that the direct convolutions of %s", si, names))
	g.f.Comment("accumulated over worker w's images to the worker's gradients.")
	g.f.Func().Params(id("s").Op("*").Id("state")).Id(fmt.Sprintf("flushImages%d", si)).Params(id("w").Int()).Block(flush...)
}

// stageDirect are the layers of stage st computed by direct convolution.
func (g *generator) stageDirect(st compiler.Stage) []*compiler.Layer {
	var ls []*compiler.Layer
	for _, i := range st.Layers {
		if l := g.net.Layers[i]; l.Plan.Conv == compiler.ConvDirect {
			ls = append(ls, l)
		}
	}
	return ls
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
	g.f.Comment("packWeights packs the weights of the direct convolutions for the forward pass if they")
	g.f.Comment("have changed since they were last packed, and flipped for the input gradients too when")
	g.f.Comment("backward is set and they have changed since they were last packed so.")
	g.f.Func().Params(id("s").Op("*").Id("state")).Id("packWeights").Params(id("backward").Bool()).Block(
		jen.If(sel("s", "packing", "Changed").Call(sel("s", "net", "params").Index(id("directLo"), id("directHi")))).
			Block(fwd...),
		jen.If(id("backward").Op("&&").Add(sel("s", "packing", "FlippedStale").Call())).Block(bwd...))
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

func upper(s string) string { return string(s[0]-'a'+'A') + s[1:] }

// rangeText names a run of layers by its first and last: "conv1 … pool3", or "conv1".
func rangeText(first, last string) string {
	if first == last {
		return first
	}
	return first + " … " + last
}

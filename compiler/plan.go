package compiler

// keepColBudget bounds the im2col matrices kept per image (in floats) from the forward
// pass for the backward pass, which otherwise lays them out again.
const keepColBudget = 1 << 20

// LayerPlan says how a layer is computed and where its data lives in a workspace. Offsets
// are per image: a batch of B images keeps layer data at offset·B, image i at
// offset·B + i·size.
type LayerPlan struct {
	// FuseReLU is set on a conv or full layer whose following ReLU is applied as its output
	// is stored; Fused is set on that ReLU, which then has no code of its own and shares
	// its producer's buffers.
	FuseReLU, Fused bool
	// PerImage layers are computed image by image, the batch split over cores; the others
	// (full, dropout, the loss) are computed on the whole batch at once.
	PerImage bool
	// Out and Grad locate the layer's output and the gradient of the loss with respect to
	// it, in floats per image; Aux locates extra state (dropout's mask, LRN's scale, a split
	// batch norm's moments), AuxSize floats per image, or is -1. Index locates max
	// pooling's argmax in Workspace.Index, or is -1.
	Out, Grad, Aux, AuxSize, Index int
	// Split is set on a batch layer computed image by image around a reduction over the
	// batch (see LayerCode.Gather): the per-image stages before and after it do its work
	// on each image, and its own stage only combines what they gathered into Reduced
	// floats for the whole batch.
	Split   bool
	Reduced int
	// Conv is how a conv layer is computed (see ConvAlgo).
	Conv ConvAlgo
	// Pool is how a pooling layer is computed (see PoolKernel).
	Pool PoolKernel
	// ReLUFolded is set on a conv or full layer whose fused ReLU's backward pass is done
	// by the 2×2 max pooling after it, on which FoldsReLU is set (kernels.MaxUnpool2Relu).
	ReLUFolded, FoldsReLU bool
	// LRNPow34 is set on a norm layer whose beta is 0.75, computed by kernels.DivPow34.
	LRNPow34 bool
	// InGrads locates, for each input, where the layer writes the gradient with respect
	// to it: -1 for the input's own Grad, else a buffer of its own (per image, like Out),
	// because several layers read that input and their gradients must be summed.
	// GradSums lists the reads whose buffers are added into this layer's Grad before its
	// backward pass.
	InGrads  []int
	GradSums []Read
	// TransposedWeightGrad is set on a GEMM conv layer deeper (input channels × taps, per
	// group) than it has filters: its weight gradient is computed transposed, dWᵀ =
	// col·doutᵀ, into the worker's dcol and added transposed, so that GEMM transposes the
	// small output gradient while packing rather than the deep im2col matrix.
	TransposedWeightGrad bool
	// Col is the size of the conv layer's im2col matrix, in floats.
	Col int
	// KeptCol locates, per image, the im2col matrix kept from the forward pass for the
	// backward pass, or is -1 when the backward pass lays it out again.
	KeptCol int
	// DotBatch is, for a full layer, the largest batch whose forward pass computes each
	// output as a dot product of a weight row with the input, reading the weights once
	// in order: small batches are bound by memory, and a GEMM would first copy (pack) the
	// whole weight matrix. ParallelRows splits those rows over the workers.
	DotBatch     int
	ParallelRows bool
	// FoldBN is, on a conv layer whose one reader is a bn layer, that layer: at inference
	// (a Forward not in training mode) the conv computes the bn's output itself, with its
	// weights and biases scaled by the bn's (see kernels.FoldBatchNorm), and the ReLU
	// after the bn too when InferReLU is set. InferOut is then the layer whose output the
	// conv writes at inference, and InferSkip is set on the bn and that ReLU, which have
	// no code at inference.
	FoldBN    *Layer
	InferReLU bool
	InferOut  int
	InferSkip bool
}

// Stage is a run of consecutive layers computed the same way: image by image (PerImage) or
// on the whole batch.
type Stage struct {
	PerImage bool
	// Layers are indexes into Net.Layers.
	Layers []int
}

// NetPlan is the workspace layout and schedule of a whole network.
type NetPlan struct {
	// ImageFloats and ImageInts are the workspace floats and ints needed per image.
	ImageFloats, ImageInts int
	// Col is the scratch space each worker has twice (forward and backward): the largest
	// im2col matrix, transposed weight gradient (one group's) or normalization layer input.
	Col int
	// PrivLo and PrivHi bound the parameters that per-image layers own; each worker but the
	// first accumulates their gradients in a private buffer of that size.
	PrivLo, PrivHi int
	// Stages are the layers in execution order, grouped; InferStages those that run at
	// inference when a batch norm is folded into a conv (see LayerPlan.FoldBN), else nil.
	Stages, InferStages []Stage
	// Init is the default initialization: "he" for networks with ReLU, else "xavier".
	Init string
	// Layers holds each layer's plan, in the order of Net.Layers.
	Layers []LayerPlan
}

// plan decides how every layer of a checked network is computed and lays out the
// workspace. It reads only the network's layers, not an earlier plan, so it can be called
// any number of times with the same result.
func plan(n *Net) NetPlan {
	p := &planner{net: n, plan: NetPlan{Init: "xavier"}, layers: make([]LayerPlan, len(n.Layers))}
	for i, l := range n.Layers {
		lp := &p.layers[i]
		lp.Aux, lp.Index, lp.KeptCol, lp.InferOut = -1, -1, -1, -1
		t := l.Type()
		lp.PerImage = t.Role != RoleBatch && t.Role != RoleLoss
		if l.Kind == ReLU || l.Kind == Leaky {
			p.plan.Init = "he"
		}
		if t.Plan != nil {
			t.Plan(p, i)
		}
	}
	p.plan.Layers = p.layers
	p.layoutBuffers()
	p.layoutGradSums()
	p.plan.Stages = p.stages(func(lp LayerPlan) bool { return lp.Fused })
	for _, lp := range p.layers {
		if lp.FoldBN != nil {
			p.plan.InferStages = p.stages(func(lp LayerPlan) bool { return lp.Fused || lp.InferSkip })
			break
		}
	}
	return p.plan
}

// Read is one layer's read of another's output: its input Input.
type Read struct{ Layer, Input int }

// consumers returns, for every layer, the reads of its output, in layer order.
func consumers(n *Net) [][]Read {
	c := make([][]Read, len(n.Layers))
	for i, l := range n.Layers {
		for k, p := range l.Inputs {
			if p >= 0 {
				c[p] = append(c[p], Read{i, k})
			}
		}
	}
	return c
}

// layoutGradSums gives every read of a layer with several readers but the last its own
// gradient buffer, summed into the layer's Grad before its backward pass (the last reader
// runs its backward pass first and writes the Grad itself). The sums of a fused ReLU are
// its producer's, whose backward pass is also the ReLU's.
func (pl *planner) layoutGradSums() {
	n, p := pl.net, &pl.plan
	for i := range n.Layers {
		pl.layers[i].InGrads = make([]int, len(n.Layers[i].Inputs))
		for k := range pl.layers[i].InGrads {
			pl.layers[i].InGrads[k] = -1
		}
	}
	for prod, reads := range consumers(n) {
		owner := prod
		if pl.layers[prod].Fused {
			owner = prod - 1
		}
		for _, r := range reads[:max(len(reads)-1, 0)] {
			pl.layers[r.Layer].InGrads[r.Input] = p.ImageFloats
			p.ImageFloats += n.Layers[prod].Out.Size()
			pl.layers[owner].GradSums = append(pl.layers[owner].GradSums, r)
		}
	}
}

// setPlan plans the network and points every layer at its entry in the plan.
func (n *Net) setPlan() {
	n.Plan = plan(n)
	for i, l := range n.Layers {
		l.Plan = &n.Plan.Layers[i]
	}
}

// planner holds the plan being made; a kind's Plan function records its choices in
// layers[i] and asks for scratch space and per-image buffers.
type planner struct {
	net    *Net
	plan   NetPlan
	layers []LayerPlan
	// aux and argmax are the sizes, per image, of the auxiliary float buffer and the
	// argmax int buffer each layer asked for.
	aux, argmax map[int]int
}

// onlyReader reports whether layer i reads the layer just before it and is the only layer
// that reads it.
func (p *planner) onlyReader(i int) bool {
	if i == 0 || p.net.Layers[i].Inputs[0] != i-1 || len(p.net.Layers[i].Inputs) > 1 {
		return false
	}
	for j, l := range p.net.Layers {
		for k, in := range l.Inputs {
			if in == i-1 && (j != i || k != 0) {
				return false
			}
		}
	}
	return true
}

// scratch makes each worker's scratch space (Col) at least n floats.
func (p *planner) scratch(n int) { p.plan.Col = max(p.plan.Col, n) }

// needAux asks for an auxiliary buffer of n floats per image for layer i (its Aux).
func (p *planner) needAux(i, n int) {
	if p.aux == nil {
		p.aux = map[int]int{}
	}
	p.aux[i] = n
}

// needArgmax asks for n ints per image for layer i (its Index).
func (p *planner) needArgmax(i, n int) {
	if p.argmax == nil {
		p.argmax = map[int]int{}
	}
	p.argmax[i] = n
}

// layoutBuffers gives every layer its output, gradient and auxiliary buffers. A fused ReLU
// shares its producer's; the loss has none (its input is the scores).
func (pl *planner) layoutBuffers() {
	n, p := pl.net, &pl.plan
	p.PrivLo, p.PrivHi = n.Params, 0
	kept := 0
	for i, l := range n.Layers {
		lp := &pl.layers[i]
		size := l.Out.Size()
		switch {
		case l.Kind.IsLoss():
			lp.Out, lp.Grad = -1, -1
			continue
		case lp.Fused:
			prev := pl.layers[i-1]
			lp.Out, lp.Grad = prev.Out, prev.Grad
			continue
		}
		lp.Out, lp.Grad = p.ImageFloats, p.ImageFloats+size
		p.ImageFloats += 2 * size
		if aux, ok := pl.aux[i]; ok {
			lp.Aux, lp.AuxSize = p.ImageFloats, aux
			p.ImageFloats += aux
		}
		if lp.Col > 0 && kept+lp.Col <= keepColBudget {
			lp.KeptCol = p.ImageFloats
			p.ImageFloats += lp.Col
			kept += lp.Col
		}
		if ints, ok := pl.argmax[i]; ok {
			lp.Index = p.ImageInts
			p.ImageInts += ints
		}
		if lp.PerImage && l.Params > 0 {
			p.PrivLo, p.PrivHi = min(p.PrivLo, l.WeightOff), max(p.PrivHi, l.WeightOff+l.Params)
		}
	}
	if p.PrivHi == 0 {
		p.PrivLo = 0
	}
}

// stages groups the layers that have code of their own (those skip does not report) into
// runs of per-image and of batch layers.
func (pl *planner) stages(skip func(LayerPlan) bool) []Stage {
	var stages []Stage
	for i, lp := range pl.layers {
		if skip(lp) {
			continue
		}
		last := len(stages) - 1
		if last >= 0 && stages[last].PerImage == lp.PerImage {
			stages[last].Layers = append(stages[last].Layers, i)
			continue
		}
		stages = append(stages, Stage{PerImage: lp.PerImage, Layers: []int{i}})
	}
	return stages
}

package compiler

// unrollMax is the largest kernel side whose loops are unrolled in generated code; larger
// kernels use the runtime's generic im2col.
const unrollMax = 5

// dotBatch is the largest batch computed by dot products in full layers, and
// parallelRowsMin the fewest weights worth splitting over the workers.
const (
	dotBatch        = 16
	parallelRowsMin = 1 << 20
)

// directMaxDepth is the deepest convolution (input channels × kernel taps, for the forward
// pass and, with filters for channels, for the input gradient) computed directly: the
// runtime's tile kernel keeps a panel of that many weights per filter row in L1.
const directMaxDepth = 1024

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
	// it, in floats per image; Aux locates extra state (dropout's mask, LRN's scale), or is
	// -1. Index locates max pooling's argmax in Workspace.Index, or is -1.
	Out, Grad, Aux, Index int
	// Im2col is how a conv layer lays out its input for GEMM: "unrolled" (generated code,
	// kernels up to 5x5), "kernel" (the runtime's generic im2col) or "none" (1x1, stride 1,
	// no padding: the input is already the matrix); empty for a Direct layer.
	Im2col string
	// Direct is set on a stride-1 conv layer with few channels computed by the runtime's
	// direct convolution from a padded copy of its input (or output gradient) instead of
	// im2col and GEMM — forward, input gradient and weight gradient.
	Direct bool
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
	// Stages are the layers in execution order, grouped.
	Stages []Stage
	// Init is the default initialization: "he" for networks with ReLU, else "xavier".
	Init string
}

// Plan decides how every layer of a checked network is computed and lays out the
// workspace. It must be called once, after Check succeeded.
func Plan(n *Net) {
	p := &n.Plan
	p.Init = "xavier"
	for i, l := range n.Layers {
		lp := &l.Plan
		lp.Aux, lp.Index = -1, -1
		lp.PerImage = !(l.Kind == Full || l.Kind == Dropout || l.Kind.IsLoss())
		if l.Kind == ReLU {
			p.Init = "he"
			if i > 0 && (n.Layers[i-1].Kind == Conv || n.Layers[i-1].Kind == Full) {
				lp.Fused, n.Layers[i-1].Plan.FuseReLU = true, true
			}
		}
		if l.Kind == Conv {
			planConv(l)
			p.Col = max(p.Col, lp.Col)
			if lp.TransposedWeightGrad {
				p.Col = max(p.Col, l.Weights()/l.Groups) // one group's dWᵀ, in dcol
			}
		}
		if l.Kind == Norm {
			p.Col = max(p.Col, l.In.Size())
		}
		if l.Kind == Full {
			lp.DotBatch, lp.ParallelRows = dotBatch, l.Weights() >= parallelRowsMin
		}
	}
	p.layoutBuffers(n)
	p.stages(n)
}

func planConv(l *Layer) {
	lp := &l.Plan
	pointwise := l.KH == 1 && l.KW == 1 && l.SH == 1 && l.SW == 1 && l.PH == 0 && l.PW == 0
	lp.Direct = !pointwise && l.SH == 1 && l.SW == 1 && l.Groups == 1 &&
		l.PH < l.KH && l.PW < l.KW &&
		l.In.C*l.KH*l.KW <= directMaxDepth && l.Filters*l.KH*l.KW <= directMaxDepth
	switch {
	case lp.Direct:
		return // no im2col matrix at all
	case pointwise:
		lp.Im2col = "none"
	case l.KH <= unrollMax && l.KW <= unrollMax:
		lp.Im2col = "unrolled"
	default:
		lp.Im2col = "kernel"
	}
	if lp.Im2col != "none" {
		lp.Col = l.In.C * l.KH * l.KW * l.Out.H * l.Out.W
	}
	lp.TransposedWeightGrad = l.In.C/l.Groups*l.KH*l.KW > l.Filters/l.Groups
}

// layoutBuffers gives every layer its output, gradient and auxiliary buffers. A fused ReLU
// shares its producer's; the loss has none (its input is the scores).
func (p *NetPlan) layoutBuffers(n *Net) {
	p.PrivLo, p.PrivHi = n.Params, 0
	kept := 0
	for i, l := range n.Layers {
		lp := &l.Plan
		lp.KeptCol = -1
		size := l.Out.Size()
		switch {
		case l.Kind.IsLoss():
			lp.Out, lp.Grad = -1, -1
			continue
		case lp.Fused:
			prev := n.Layers[i-1].Plan
			lp.Out, lp.Grad = prev.Out, prev.Grad
			continue
		}
		lp.Out, lp.Grad = p.ImageFloats, p.ImageFloats+size
		p.ImageFloats += 2 * size
		if l.Kind == Dropout || l.Kind == Norm {
			lp.Aux = p.ImageFloats
			p.ImageFloats += size
		}
		if lp.Col > 0 && !lp.Direct && kept+lp.Col <= keepColBudget {
			lp.KeptCol = p.ImageFloats
			p.ImageFloats += lp.Col
			kept += lp.Col
		}
		if l.Kind == Pool && !l.Avg {
			lp.Index = p.ImageInts
			p.ImageInts += size
		}
		if lp.PerImage && l.Params > 0 {
			p.PrivLo, p.PrivHi = min(p.PrivLo, l.WeightOff), max(p.PrivHi, l.WeightOff+l.Params)
		}
	}
	if p.PrivHi == 0 {
		p.PrivLo = 0
	}
}

func (p *NetPlan) stages(n *Net) {
	for i, l := range n.Layers {
		if l.Plan.Fused {
			continue
		}
		last := len(p.Stages) - 1
		if last >= 0 && p.Stages[last].PerImage == l.Plan.PerImage {
			p.Stages[last].Layers = append(p.Stages[last].Layers, i)
			continue
		}
		p.Stages = append(p.Stages, Stage{PerImage: l.Plan.PerImage, Layers: []int{i}})
	}
}

// TapRange returns the output positions [lo, hi) along one axis at which kernel tap t
// (0 ≤ t < k) reads the input rather than its zero padding: those o with
// 0 ≤ o·stride + t − pad < in, where out is the axis's output size.
func TapRange(in, out, stride, pad, t int) (lo, hi int) {
	off := t - pad
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	hi = min(out, (in-1-off)/stride+1)
	if in-1-off < 0 {
		hi = 0
	}
	return lo, max(lo, hi)
}

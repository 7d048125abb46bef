// Package reference is a deliberately naive float64 implementation of every netc layer,
// forward and backward: the test oracle for the generated code, and the numerical side of
// netc gradcheck (GradCheck).
//
// Nothing in netc's compiled networks or runtime depends on it. Clarity beats speed here. Every layer is a plain nested loop over the definitions,
// in float64 throughout, with PyTorch's semantics (Conv2d, MaxPool2d/AvgPool2d without
// padding, Linear, LocalResponseNorm, inverted dropout, mean cross-entropy), so the
// generated float32 code can be checked against it and it can be checked against PyTorch.
//
// Data layout, shared with the generated code:
//
//   - Parameters are one flat slice of net.Params+net.Buffers values. A conv layer's
//     weights sit at WeightOff as [out][in/groups][kh][kw], its biases (one per filter) at
//     BiasOff; a full layer's weights sit at WeightOff as [out][in] with the input flattened
//     in C,H,W order, its biases at BiasOff. A meansub layer's mean (per channel [C], or a
//     mean image [C][H][W]) sits at its BiasOff; it is not learned and its gradient is 0.
//   - The input and every activation is batch × C×H×W, image after image, each in C,H,W
//     order.
//   - The scores are the input of the loss layer, batch × net.Outputs().
package reference

import (
	"fmt"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/runtime/nn"
)

// Result holds everything a forward and backward pass computes.
type Result struct {
	Scores  []float64 // batch × outputs
	Loss    float64
	DParams []float64 // gradient of Loss w.r.t. every parameter (0 for buffers)
	DInput  []float64 // gradient of Loss w.r.t. the input
}

// Run computes forward (train selects dropout), the loss and all gradients, in float64.
//
// params holds net.Params+net.Buffers values; x holds batch images of net.Input. labels
// (batch values in [0, outputs)) are needed by the softmax and svm losses, and by the
// euclidean loss when targets is nil, which then compares the scores with one-hot
// labels; otherwise targets holds batch × outputs values. In train mode every dropout
// layer, in order, draws one rng.Float32() per value of its whole batch buffer, so rng is
// advanced exactly as the generated code advances its own; rng may be nil when no
// dropout mask is drawn.
func Run(net *compiler.Net, params []float32, x []float32, batch int, labels []int32, targets []float32, train bool, rng *nn.RNG, opts ...Option) (*Result, error) {
	var t []float64
	if targets != nil {
		t = widen(targets)
	}
	if err := validate(net, len(params), len(x), batch, labels, len(t), targets != nil, train, rng != nil); err != nil {
		return nil, err
	}
	p := &pass{net: net, params: widen(params), batch: batch, train: train, rng: rng}
	p.forward(widen(x))
	loss, dscores := lossForward(net.Loss(), p.scores(), compiler.LossArgs{Batch: batch, Labels: labels, Targets: t,
		Smoothing: collect(opts).smoothing})
	dparams, dinput := p.backward(dscores)
	return &Result{
		Scores:  append([]float64(nil), p.scores()...),
		Loss:    loss,
		DParams: dparams,
		DInput:  dinput,
	}, nil
}

// Loss computes only the forward loss for given float64 params and input (for gradient
// checks), with dropout masks drawn from a copy of the given RNG state. So repeated calls
// with the same rngState use the same masks, the ones Run draws from
// nn.RNG{State: rngState}. It panics on arguments Run would reject.
func Loss(net *compiler.Net, params, x []float64, batch int, labels []int32, targets []float64, train bool, rngState uint64, opts ...Option) float64 {
	if err := validate(net, len(params), len(x), batch, labels, len(targets), targets != nil, train, true); err != nil {
		panic(err)
	}
	rng := nn.RNG{State: rngState}
	p := &pass{net: net, params: params, batch: batch, train: train, rng: &rng}
	p.forward(x)
	loss, _ := lossForward(net.Loss(), p.scores(), compiler.LossArgs{Batch: batch, Labels: labels, Targets: targets,
		Smoothing: collect(opts).smoothing})
	return loss
}

// Option changes what Run and Loss compute.
type Option func(*options)

type options struct{ smoothing float64 }

// WithLabelSmoothing gives the softmax loss label smoothing ε (nn.Workspace's
// LabelSmoothing).
func WithLabelSmoothing(eps float64) Option { return func(o *options) { o.smoothing = eps } }

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// validate checks the sizes of Run's and Loss's arguments.
func validate(net *compiler.Net, nparams, nx, batch int, labels []int32, ntargets int, haveTargets, train, haveRNG bool) error {
	if batch < 1 {
		return fmt.Errorf("reference: batch %d must be positive", batch)
	}
	if want := net.Params + net.Buffers; nparams != want {
		return fmt.Errorf("reference: %d parameters, want %d", nparams, want)
	}
	if want := batch * net.Input.Size(); nx != want {
		return fmt.Errorf("reference: input has %d values, want %d (batch %d × %v)", nx, want, batch, net.Input)
	}
	n := net.Outputs()
	needLabels := net.Loss().Kind != compiler.Euclidean || !haveTargets
	if needLabels {
		if len(labels) != batch {
			return fmt.Errorf("reference: %d labels, want %d", len(labels), batch)
		}
		for i, y := range labels {
			if y < 0 || int(y) >= n {
				return fmt.Errorf("reference: label %d of image %d is outside [0, %d)", y, i, n)
			}
		}
	}
	if haveTargets {
		if net.Loss().Kind != compiler.Euclidean {
			return fmt.Errorf("reference: targets are only for the euclidean loss, not %s", net.Loss().Kind)
		}
		if ntargets != batch*n {
			return fmt.Errorf("reference: %d targets, want %d", ntargets, batch*n)
		}
	}
	if train && !haveRNG {
		for _, l := range net.Layers {
			if l.Kind == compiler.Dropout {
				return fmt.Errorf("reference: training with dropout needs an RNG")
			}
		}
	}
	return nil
}

func widen(v []float32) []float64 {
	w := make([]float64, len(v))
	for i, f := range v {
		w[i] = float64(f)
	}
	return w
}

// pass is one forward (and possibly backward) pass through the layers before the loss.
type pass struct {
	net    *compiler.Net
	params []float64
	batch  int
	train  bool
	rng    *nn.RNG
	// acts[0] is the input; acts[i+1] is the output of layer i (for every layer but the
	// loss).
	acts [][]float64
	// refs[i] is what layer i's reference saw in the forward pass, and kept for the
	// backward pass.
	refs []*compiler.Ref
	// rngBefore[i] is the RNG's state before layer i drew its masks.
	rngBefore []uint64
	// frozen makes every later pass take the kinked layers' choices of the last pass
	// (see compiler.Ref.Branches).
	frozen bool
}

// forward computes every layer's output up to the scores, each by its kind's Forward64
// on the outputs of the layers it reads.
func (p *pass) forward(x []float64) { p.forwardFrom(x, 0) }

// forwardFrom computes the outputs of the layers from layer from on, keeping those of the
// layers before it from the last pass (from 0, all of them): a change to the parameters of
// layer from only changes what comes after it. Dropout masks are drawn again from the
// RNG's state before layer from, so they are the same.
func (p *pass) forwardFrom(x []float64, from int) {
	layers := p.net.Layers[:len(p.net.Layers)-1]
	again := p.refs != nil
	if !again {
		p.refs = make([]*compiler.Ref, len(layers))
		p.rngBefore = make([]uint64, len(layers))
	}
	if from == 0 {
		p.acts = append(p.acts[:0], x)
	} else {
		p.acts = p.acts[:from+1]
	}
	for i := from; i < len(layers); i++ {
		l := layers[i]
		r := &compiler.Ref{Params: p.params, Batch: p.batch, Train: p.train}
		if p.frozen {
			r.Branches, r.Frozen = p.refs[i].Branches, true
		}
		for _, in := range l.Inputs {
			r.Ins = append(r.Ins, p.acts[in+1])
		}
		r.In = r.Ins[0]
		if p.rng != nil {
			if again && i == from {
				p.rng.State = p.rngBefore[i]
			}
			p.rngBefore[i] = p.rng.State
			r.Rand = p.rng.Float32
		}
		p.refs[i] = r
		p.acts = append(p.acts, l.Type().Forward64(l, r))
	}
}

// scores returns the loss's input.
func (p *pass) scores() []float64 { return p.acts[p.net.Loss().Inputs[0]+1] }

// backward propagates the gradient of the loss with respect to the scores back through
// every layer, each by its kind's Backward64 (or a merge's MergeBackward64), summing the
// gradients of a layer several read, and returns the gradients of the parameters and of
// the input.
func (p *pass) backward(dscores []float64) (dparams, dinput []float64) {
	dparams = make([]float64, len(p.params))
	grads := make([][]float64, len(p.net.Layers)) // grads[i+1]: of layer i's output; grads[0]: of the input
	grads[p.net.Loss().Inputs[0]+1] = dscores
	for i := len(p.net.Layers) - 2; i >= 0; i-- {
		l, r := p.net.Layers[i], p.refs[i]
		r.Out, r.DParams = p.acts[i+1], dparams
		dy := grads[i+1]
		if dy == nil {
			dy = make([]float64, len(r.Out))
		}
		var dins [][]float64
		if t := l.Type(); t.MergeBackward64 != nil {
			dins = t.MergeBackward64(l, r, dy)
		} else {
			dins = [][]float64{t.Backward64(l, r, dy)}
		}
		for k, in := range l.Inputs {
			if grads[in+1] == nil {
				grads[in+1] = make([]float64, len(dins[k]))
			}
			for j, d := range dins[k] {
				grads[in+1][j] += d
			}
		}
	}
	return dparams, grads[0]
}

// lossForward computes the loss layer l on the scores s (batch × N) and its gradient with
// respect to s, by its kind's Loss64.
func lossForward(l *compiler.Layer, s []float64, a compiler.LossArgs) (float64, []float64) {
	return l.Type().Loss64(l, s, a)
}

package train

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"github.com/netc-dev/netc/runtime/kernels"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/train/settings"
)

// Optimizer methods accepted in OptimizerConfig.Method.
const (
	// MethodSGD is plain stochastic gradient descent: w -= lr·g.
	MethodSGD = settings.MethodSGD
	// MethodMomentum is PyTorch's SGD with momentum (see Optimizer).
	MethodMomentum = settings.MethodMomentum
	// MethodNesterov is PyTorch's SGD with Nesterov momentum (see Optimizer).
	MethodNesterov = settings.MethodNesterov
	// MethodAdam is PyTorch's Adam, weight decay added to the gradient (see Optimizer).
	MethodAdam = settings.MethodAdam
	// MethodAdamW is PyTorch's AdamW, weight decay decoupled from the gradient.
	MethodAdamW = settings.MethodAdamW
)

// Adam's defaults, PyTorch's.
const (
	DefaultBeta1   = 0.9
	DefaultBeta2   = 0.999
	DefaultAdamEps = 1e-8
)

// OptimizerConfig configures an Optimizer: the method, its parameters and the
// regularization (see settings.Optimizer, which the [train] settings write). The zero
// value is plain SGD without regularization.
type OptimizerConfig = settings.Optimizer

// method codes, resolved once by NewOptimizer.
const (
	sgd = iota
	momentum
	nesterov
	adam
	adamw
)

// tensorState is what Step needs of one parameter tensor.
type tensorState struct {
	off, size int
	rows      int     // Shape[0] of a max-norm constrained weight, else 0
	lrMult    float32 // 0: frozen
	wd, l1    float32 // effective coefficients (0 for biases unless DecayBiases)
}

// Optimizer updates a network's parameters from its gradients, one Step per mini-batch.
//
// Per tensor, with η = lr·LRMult (a tensor with LRMult 0 is skipped: its weights and
// velocity stay bit for bit as they were), the effective gradient is
//
//	g = ∇loss + wd·w + l1·sign(w)      (the wd and l1 terms only on weights, unless DecayBiases)
//
// and the update is
//
//	sgd:       w -= η·g
//	momentum:  v = μ·v + g;  w -= η·v              (PyTorch's SGD, dampening 0)
//	nesterov:  v = μ·v + g;  w -= η·(g + μ·v)      (PyTorch's SGD, nesterov=True)
//	adam:      m = β1·m + (1−β1)·g;  s = β2·s + (1−β2)·g²;
//	           w -= η/(1−β1ᵗ) · m / (√s/√(1−β2ᵗ) + ε)   (PyTorch's Adam, t the step count)
//	adamw:     w -= η·wd·w, then adam with g = ∇loss + l1·sign(w)   (PyTorch's AdamW)
//
// followed, if MaxNorm is set, by the max-norm projection of each row of the weights.
// Velocity v starts at zero, so the first step sets v = g, as PyTorch does.
//
// With a constant learning rate these equal the lecture's (Sutskever et al.) formulations,
// whose velocity u = −η·v is measured in weight units:
//
//	momentum:  u = μ·u − η·g;  w += u
//	nesterov:  u' = μ·u − η·g;  w += −μ·u + (1+μ)·u'
//
// (substitute u = −η·v: −μ·u + (1+μ)·u' = η·μ·v_old − (1+μ)·η·v = −η·(g + μ·v), since
// μ·v_old = v − g). When the learning rate changes they differ: PyTorch's form applies
// the new rate to the whole accumulated velocity at once, the classic form only to new
// gradients.
//
// Step allocates nothing and does not modify the gradients. A large network's update is
// split over the kernels' worker pool; an Optimizer is not safe for concurrent Steps.
type Optimizer struct {
	cfg      OptimizerConfig
	method   int
	mu       float32
	maxNorm  float32
	n        int
	tensors  []tensorState
	velocity []float32
	// Adam's: its second moment (velocity holds the first), betas, epsilon, the number of
	// steps taken and this step's bias corrections.
	second              []float32
	beta1, beta2, eps   float32
	steps               int
	correct1, correct2s float32

	// The Step in progress, read by its chunks, and updateFn, o.update bound once so that
	// Step does not allocate.
	params, grads []float32
	lr            float32
	updateFn      func(lo, hi int)
}

// parallelStepMin is the parameter count from which Step splits the update over the
// worker pool. The update streams 20 bytes a parameter through memory, which two cores
// do faster than one; below this it takes a few microseconds, a handoff's worth.
const parallelStepMin = 1 << 16

// NewOptimizer validates cfg against the network described by info and returns an
// optimizer with zero velocity.
func NewOptimizer(cfg OptimizerConfig, info *nn.Info) (*Optimizer, error) {
	if info == nil {
		return nil, fmt.Errorf("optimizer: nil network info")
	}
	o := &Optimizer{cfg: cfg, mu: cfg.Momentum, maxNorm: cfg.MaxNorm, n: info.NumParams}
	o.updateFn = o.update
	m := strings.ToLower(cfg.Method)
	if m == "" {
		m = MethodSGD
		if cfg.Momentum != 0 {
			m = MethodMomentum
		}
	}
	o.cfg.Method = m
	for _, c := range []struct {
		name string
		v    float32
	}{{"momentum", cfg.Momentum}, {"weight decay", cfg.WeightDecay}, {"l1", cfg.L1}, {"max-norm", cfg.MaxNorm}} {
		if f := float64(c.v); math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return nil, fmt.Errorf("optimizer: %s %g must be a finite number ≥ 0", c.name, c.v)
		}
	}
	switch m {
	case MethodSGD:
		o.method = sgd
		if cfg.Momentum != 0 {
			return nil, fmt.Errorf("optimizer: momentum %g given with method sgd (use momentum or nesterov)", cfg.Momentum)
		}
	case MethodMomentum, MethodNesterov:
		o.method = momentum
		if m == MethodNesterov {
			o.method = nesterov
		}
		if !(cfg.Momentum > 0 && cfg.Momentum < 1) {
			return nil, fmt.Errorf("optimizer: method %s needs a momentum in (0, 1), got %g", m, cfg.Momentum)
		}
		o.velocity = make([]float32, info.NumParams)
	case MethodAdam, MethodAdamW:
		if err := o.setAdam(m, cfg, info.NumParams); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("optimizer: unknown method %q (want sgd, momentum, nesterov, adam or adamw)", cfg.Method)
	}
	for i := range info.Params {
		p := &info.Params[i]
		size := 1
		for _, d := range p.Shape {
			size *= d
		}
		switch {
		case p.Offset < 0 || p.Size < 0 || p.Offset+p.Size > info.NumParams:
			return nil, fmt.Errorf("optimizer: tensor %q at [%d, %d) lies outside the %d parameters",
				p.Name, p.Offset, p.Offset+p.Size, info.NumParams)
		case len(p.Shape) == 0 || size != p.Size:
			return nil, fmt.Errorf("optimizer: tensor %q has shape %v but size %d", p.Name, p.Shape, p.Size)
		case math.IsNaN(float64(p.LRMult)) || math.IsInf(float64(p.LRMult), 0) || p.LRMult < 0:
			return nil, fmt.Errorf("optimizer: tensor %q has learning-rate multiplier %g (want finite, ≥ 0)",
				p.Name, p.LRMult)
		}
		if p.Buffer {
			continue // not learned
		}
		t := tensorState{off: p.Offset, size: p.Size, lrMult: p.LRMult}
		if !p.Bias || cfg.DecayBiases {
			t.wd, t.l1 = cfg.WeightDecay, cfg.L1
		}
		if cfg.MaxNorm > 0 && !p.Bias && p.Shape[0] > 0 {
			t.rows = p.Shape[0]
		}
		o.tensors = append(o.tensors, t)
	}
	return o, nil
}

// setAdam configures Adam or AdamW, with PyTorch's defaults for unset betas and epsilon.
func (o *Optimizer) setAdam(m string, cfg OptimizerConfig, n int) error {
	o.method = adam
	if m == MethodAdamW {
		o.method = adamw
	}
	if cfg.Momentum != 0 {
		return fmt.Errorf("optimizer: momentum %g given with method %s (Adam's is beta1)", cfg.Momentum, m)
	}
	o.beta1, o.beta2, o.eps = cmp.Or(cfg.Beta1, DefaultBeta1), cmp.Or(cfg.Beta2, DefaultBeta2), cmp.Or(cfg.Eps, DefaultAdamEps)
	for _, b := range []float32{o.beta1, o.beta2} {
		if !(b >= 0 && b < 1) {
			return fmt.Errorf("optimizer: %s needs betas in [0, 1), got %g and %g", m, o.beta1, o.beta2)
		}
	}
	if !(o.eps > 0) || math.IsInf(float64(o.eps), 0) {
		return fmt.Errorf("optimizer: %s needs a positive epsilon, got %g", m, o.eps)
	}
	o.cfg.Beta1, o.cfg.Beta2, o.cfg.Eps = o.beta1, o.beta2, o.eps
	o.velocity, o.second = make([]float32, n), make([]float32, n)
	return nil
}

// Config returns the optimizer's configuration, with Method resolved.
func (o *Optimizer) Config() OptimizerConfig { return o.cfg }

// Velocity returns the momentum buffer, laid out like the parameters (len NumParams), or
// an empty slice for plain SGD. It is the optimizer's live state, not a copy: checkpoints
// save it as is and restore it with SetVelocity.
func (o *Optimizer) Velocity() []float32 { return o.velocity }

// SetVelocity copies v into the momentum buffer, e.g. from a checkpoint. Its length must
// be that of Velocity.
func (o *Optimizer) SetVelocity(v []float32) error {
	if len(v) != len(o.velocity) {
		return fmt.Errorf("optimizer: velocity has %d values, %s optimizer wants %d",
			len(v), o.cfg.Method, len(o.velocity))
	}
	copy(o.velocity, v)
	return nil
}

// SecondMoment returns Adam's second-moment estimate (live state, like Velocity, which
// holds Adam's first moment), or an empty slice for the other methods; Steps returns the
// number of steps taken, which Adam's bias correction needs. Checkpoints save both and
// restore them with SetSecondMoment and SetSteps.
func (o *Optimizer) SecondMoment() []float32 { return o.second }

// Steps returns the number of Steps taken since the optimizer was made, reset or restored.
func (o *Optimizer) Steps() int { return o.steps }

// SetSecondMoment copies s into Adam's second moment; its length must be SecondMoment's.
func (o *Optimizer) SetSecondMoment(s []float32) error {
	if len(s) != len(o.second) {
		return fmt.Errorf("optimizer: second moment has %d values, %s optimizer wants %d",
			len(s), o.cfg.Method, len(o.second))
	}
	copy(o.second, s)
	return nil
}

// SetSteps sets the number of steps taken, e.g. from a checkpoint.
func (o *Optimizer) SetSteps(n int) error {
	if n < 0 {
		return fmt.Errorf("optimizer: %d steps taken", n)
	}
	o.steps = n
	return nil
}

// Reset sets the optimizer's state (velocity, moments, step count) back to zero.
func (o *Optimizer) Reset() {
	clear(o.velocity)
	clear(o.second)
	o.steps = 0
}

// Step applies one update to params from grads (both laid out as the network's Params)
// with base learning rate lr. See Optimizer for the exact rule. It panics if either
// slice's length is not the network's NumParams.
func (o *Optimizer) Step(params, grads []float32, lr float32) {
	if len(params) != o.n || len(grads) != o.n {
		panic(fmt.Sprintf("optimizer: Step with %d params and %d grads, network has %d",
			len(params), len(grads), o.n))
	}
	o.params, o.grads, o.lr = params, grads, lr
	o.steps++
	if o.method == adam || o.method == adamw {
		o.correct1 = float32(1 - math.Pow(float64(o.beta1), float64(o.steps)))
		o.correct2s = float32(math.Sqrt(1 - math.Pow(float64(o.beta2), float64(o.steps))))
	}
	if o.n >= parallelStepMin {
		kernels.ParallelFor(o.n, o.updateFn)
	} else {
		o.update(0, o.n)
	}
	o.params, o.grads = nil, nil // drop references to the caller's slices
	if o.maxNorm > 0 {
		for _, t := range o.tensors {
			if t.rows > 0 && t.lrMult != 0 {
				maxNorm(params[t.off:t.off+t.size], t.rows, o.maxNorm)
			}
		}
	}
}

// update applies the update rule to the parameters in [lo, hi), a chunk of Step's.
func (o *Optimizer) update(lo, hi int) {
	for i := range o.tensors {
		t := &o.tensors[i]
		a, b := max(t.off, lo), min(t.off+t.size, hi)
		if t.lrMult == 0 || a >= b {
			continue
		}
		w, g := o.params[a:b:b], o.grads[a:b:b]
		eta := o.lr * t.lrMult
		switch o.method {
		case sgd:
			stepSGD(w, g, eta, t.wd, t.l1)
		case momentum:
			stepMomentum(w, g, o.velocity[a:b:b], eta, o.mu, t.wd, t.l1)
		case nesterov:
			stepNesterov(w, g, o.velocity[a:b:b], eta, o.mu, t.wd, t.l1)
		case adam, adamw:
			o.stepAdam(w, g, o.velocity[a:b:b], o.second[a:b:b], eta, t.wd, t.l1)
		}
	}
}

// effGrad is g plus the regularization gradient at w: wd·w + l1·sign(w).
func effGrad(g, w, wd, l1 float32) float32 {
	if wd != 0 {
		g += wd * w
	}
	if l1 != 0 {
		if w > 0 {
			g += l1
		} else if w < 0 {
			g -= l1
		}
	}
	return g
}

func stepSGD(w, g []float32, eta, wd, l1 float32) {
	g = g[:len(w)]
	for i, wi := range w {
		w[i] = wi - eta*effGrad(g[i], wi, wd, l1)
	}
}

func stepMomentum(w, g, v []float32, eta, mu, wd, l1 float32) {
	if l1 == 0 {
		kernels.MomentumStep(eta, mu, wd, w, g, v)
		return
	}
	g, v = g[:len(w)], v[:len(w)]
	for i, wi := range w {
		vi := mu*v[i] + effGrad(g[i], wi, wd, l1)
		v[i] = vi
		w[i] = wi - eta*vi
	}
}

func stepNesterov(w, g, v []float32, eta, mu, wd, l1 float32) {
	g, v = g[:len(w)], v[:len(w)]
	for i, wi := range w {
		gi := effGrad(g[i], wi, wd, l1)
		vi := mu*v[i] + gi
		v[i] = vi
		w[i] = wi - eta*(gi+mu*vi)
	}
}

// stepAdam is Adam's (or AdamW's) update with first moment m and second moment s, in
// PyTorch's order of operations.
func (o *Optimizer) stepAdam(w, g, m, s []float32, eta, wd, l1 float32) {
	g, m, s = g[:len(w)], m[:len(w)], s[:len(w)]
	b1, b2 := o.beta1, o.beta2
	stepSize := eta / o.correct1
	decay := float32(1)
	if o.method == adamw {
		decay, wd = 1-eta*wd, 0
	}
	for i, wi := range w {
		wi *= decay
		gi := effGrad(g[i], wi, wd, l1)
		mi := b1*m[i] + (1-b1)*gi
		si := b2*s[i] + (1-b2)*gi*gi
		m[i], s[i] = mi, si
		denom := float32(math.Sqrt(float64(si)))/o.correct2s + o.eps
		w[i] = wi - stepSize*mi/denom
	}
}

// maxNorm rescales each of the rows slices of w whose L2 norm exceeds c to norm c.
func maxNorm(w []float32, rows int, c float32) {
	n := len(w) / rows
	for r := range rows {
		row := w[r*n : (r+1)*n : (r+1)*n]
		var ss float64
		for _, x := range row {
			ss += float64(x) * float64(x)
		}
		if norm := math.Sqrt(ss); norm > float64(c) {
			s := float32(float64(c) / norm)
			for i := range row {
				row[i] *= s
			}
		}
	}
}

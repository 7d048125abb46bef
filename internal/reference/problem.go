package reference

import (
	"fmt"
	"math"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/runtime/nn"
)

// Problem is random data for one network: parameters, inputs, labels and, for the
// euclidean loss with explicit targets, targets. The values are float32 so that the
// reference and the generated code see exactly the same numbers.
type Problem struct {
	Params, X, Targets []float32
	Labels             []int32
	Batch              int
}

// RandomProblem draws parameters (weights uniform with a fan-in scale, biases and means
// uniform in ±0.5, a batch norm's scale and running variance in 1±0.5), batch inputs
// uniform in ±1, labels and, if withTargets, targets in ±1.
func RandomProblem(net *compiler.Net, batch int, withTargets bool, rng *nn.RNG) Problem {
	uniform := func(scale float64) float32 { return float32(scale * (2*rng.Float64() - 1)) }
	p := Problem{Batch: batch}
	p.Params = make([]float32, net.Params+net.Buffers)
	for _, t := range net.Tensors() {
		for i := range t.Size {
			var v float32
			switch {
			case t.Init == 1:
				v = 1 + uniform(0.5)
			case t.Bias || t.Buffer:
				v = uniform(0.5)
			default:
				v = uniform(1.7 / math.Sqrt(float64(t.FanIn)))
			}
			p.Params[t.Offset+i] = v
		}
	}
	p.X = make([]float32, batch*net.Input.Size())
	for i := range p.X {
		p.X[i] = uniform(1)
	}
	p.Labels = make([]int32, batch)
	for i := range p.Labels {
		p.Labels[i] = int32(rng.Intn(net.Outputs()))
	}
	if withTargets {
		p.Targets = make([]float32, batch*net.Outputs())
		for i := range p.Targets {
			p.Targets[i] = uniform(1)
		}
	}
	return p
}

// KinkDistance returns how close the forward pass of prob comes to a point where the loss
// is not differentiable, by every layer's Kink64 (a ReLU input near 0, a max pool's two
// largest values nearly equal, an SVM margin term near 0): +Inf for a network without
// kinks. Dropout masks are drawn from nn.RNG{State: rngState}, as Loss draws them.
func KinkDistance(net *compiler.Net, prob Problem, train bool, rngState uint64) float64 {
	rng := nn.RNG{State: rngState}
	p := &pass{net: net, params: widen(prob.Params), batch: prob.Batch, train: train, rng: &rng}
	p.forward(widen(prob.X))
	dist := math.Inf(1)
	for _, l := range net.Layers {
		if kink := l.Type().Kink64; kink != nil {
			dist = math.Min(dist, kink(l, p.acts[l.Inputs[0]+1], prob.Batch, prob.Labels))
		}
	}
	return dist
}

// Informative reports whether at least a fifth of every learned layer's parameters have a
// nonzero gradient in dparams: a gradient check of zeros proves little.
func Informative(net *compiler.Net, dparams []float64) bool {
	for _, l := range net.Layers {
		nonzero := 0
		for _, d := range dparams[l.WeightOff : l.WeightOff+l.Params] {
			if d != 0 {
				nonzero++
			}
		}
		if nonzero*5 < l.Params {
			return false
		}
	}
	return true
}

// Draw returns a Problem for a gradient check of net: drawn by RandomProblem from seeds
// seed, seed+1, … until its forward pass (with dropout masks from nn.RNG{State:
// rngState} when train) keeps minKink from every kink and every learned layer gets
// gradients, trying at most tries seeds. minKink must be far enough that a central
// difference's step moves no value across a kink, and that float32 and float64 passes,
// which differ by about 1e-6, take the same side of each. Draw returns the seed used, and
// an error when no seed gave such data.
func Draw(net *compiler.Net, batch int, withTargets, train bool, minKink float64, seed, rngState uint64, tries int) (Problem, uint64, error) {
	for s := seed; s < seed+uint64(tries); s++ {
		r := nn.NewRNG(s)
		prob := RandomProblem(net, batch, withTargets, &r)
		if KinkDistance(net, prob, train, rngState) <= minKink {
			continue
		}
		rng := nn.RNG{State: rngState}
		res, err := Run(net, prob.Params, prob.X, batch, prob.Labels, prob.Targets, train, &rng)
		if err != nil {
			return Problem{}, 0, err
		}
		if Informative(net, res.DParams) {
			return prob, s, nil
		}
	}
	return Problem{}, 0, fmt.Errorf("reference: %d random draws (seeds %d to %d) all put a kink within %g of the forward pass "+
		"or left a learned layer without gradients", tries, seed, seed+uint64(tries)-1, minKink)
}

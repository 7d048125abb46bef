package train

import (
	"math"
	"testing"
)

// adamRef is PyTorch's Adam and AdamW for one tensor in float64, step after step: the
// definition the optimizer is checked against.
type adamRef struct {
	w, m, s     []float64
	t           int
	b1, b2, eps float64
	wd, lr      float64
	decoupled   bool
}

func (a *adamRef) step(g []float32) {
	a.t++
	c1 := 1 - math.Pow(a.b1, float64(a.t))
	c2 := 1 - math.Pow(a.b2, float64(a.t))
	for i := range a.w {
		gi := float64(g[i])
		if a.decoupled {
			a.w[i] *= 1 - a.lr*a.wd
		} else {
			gi += a.wd * a.w[i]
		}
		a.m[i] = a.b1*a.m[i] + (1-a.b1)*gi
		a.s[i] = a.b2*a.s[i] + (1-a.b2)*gi*gi
		a.w[i] -= a.lr / c1 * a.m[i] / (math.Sqrt(a.s[i])/math.Sqrt(c2) + a.eps)
	}
}

// TestAdam runs five steps of Adam and AdamW, with and without weight decay, on a weight
// tensor and a bias (which gets no decay), and compares with the float64 definition; then
// a restored optimizer (moments and step count set from the first) continues exactly as
// the first does.
func TestAdam(t *testing.T) {
	grads := [][]float32{{1, -2, 0.5, 0.1}, {0.5, 0, -1, 0.2}, {-0.3, 0.4, 0.1, 0}, {2, 2, -2, 1}, {0, 0.01, 0, -0.5}}
	for _, c := range []struct {
		method string
		wd     float32
	}{{MethodAdam, 0}, {MethodAdam, 0.1}, {MethodAdamW, 0}, {MethodAdamW, 0.1}} {
		info := testInfo(tensor{"fc.weight", false, 1, []int{1, 3}}, tensor{"fc.bias", true, 1, []int{1}})
		o, err := NewOptimizer(OptimizerConfig{Method: c.method, WeightDecay: c.wd}, info)
		if err != nil {
			t.Fatal(err)
		}
		w := []float32{1, 2, 3, -1}
		ref := []*adamRef{
			{w: []float64{1, 2, 3}, m: make([]float64, 3), s: make([]float64, 3), b1: 0.9, b2: 0.999, eps: 1e-8,
				wd: float64(c.wd), lr: 0.01, decoupled: c.method == MethodAdamW},
			{w: []float64{-1}, m: make([]float64, 1), s: make([]float64, 1), b1: 0.9, b2: 0.999, eps: 1e-8, lr: 0.01},
		}
		var restored *Optimizer
		var wr []float32
		for k, g := range grads {
			o.Step(w, g, 0.01)
			ref[0].step(g[:3])
			ref[1].step(g[3:])
			want := append(append([]float64(nil), ref[0].w...), ref[1].w...)
			for i := range w {
				if math.Abs(float64(w[i])-want[i]) > 1e-6 {
					t.Fatalf("%s wd %g step %d: w = %v, want %v", c.method, c.wd, k+1, w, want)
				}
			}
			if restored != nil {
				restored.Step(wr, g, 0.01)
				for i := range w {
					if wr[i] != w[i] {
						t.Fatalf("%s wd %g step %d: restored optimizer gives %v, the original %v", c.method, c.wd, k+1, wr, w)
					}
				}
			}
			if k == 1 {
				restored, _ = NewOptimizer(OptimizerConfig{Method: c.method, WeightDecay: c.wd}, info)
				if err := restored.SetVelocity(o.Velocity()); err != nil {
					t.Fatal(err)
				}
				if err := restored.SetSecondMoment(o.SecondMoment()); err != nil {
					t.Fatal(err)
				}
				if err := restored.SetSteps(o.Steps()); err != nil {
					t.Fatal(err)
				}
				wr = append([]float32(nil), w...)
			}
		}
		if o.Steps() != len(grads) {
			t.Errorf("%s: %d steps counted, want %d", c.method, o.Steps(), len(grads))
		}
	}
}

// TestAdamErrors checks the settings Adam refuses.
func TestAdamErrors(t *testing.T) {
	info := weight3()
	for _, cfg := range []OptimizerConfig{
		{Method: MethodAdam, Momentum: 0.9},
		{Method: MethodAdamW, Beta1: 1},
		{Method: MethodAdam, Beta2: -0.5},
		{Method: MethodAdam, Eps: -1},
	} {
		if _, err := NewOptimizer(cfg, info); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

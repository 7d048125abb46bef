package train

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/nn"
)

// tensor describes one parameter tensor for testInfo.
type tensor struct {
	name   string
	bias   bool
	lrMult float32
	shape  []int
}

// testInfo lays the tensors out one after the other.
func testInfo(ts ...tensor) *nn.Info {
	in := &nn.Info{Name: "opt-test"}
	for _, t := range ts {
		size := 1
		for _, d := range t.shape {
			size *= d
		}
		in.Params = append(in.Params, nn.ParamTensor{Name: t.name, Offset: in.NumParams, Size: size,
			Shape: t.shape, Bias: t.bias, LRMult: t.lrMult})
		in.NumParams += size
	}
	return in
}

// weight3 is one 1×3 weight tensor: the 3-element tensor of the hand computations.
func weight3() *nn.Info {
	return testInfo(tensor{"fc.weight", false, 1, []int{1, 3}})
}

func near(got, want float32) bool {
	return math.Abs(float64(got)-float64(want)) <= 1e-6*math.Max(1, math.Abs(float64(want)))
}

func checkSlice(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !near(got[i], want[i]) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
}

// TestMethods runs three steps with lr 0.1 on w = [1, 2, 3] with gradients
// g1 = [1, −2, 0.5], g2 = [0.5, 0, −1], g3 = 0. Hand computation, μ = 0.5:
//
//	sgd:       w1 = w0 − 0.1·g1 = [0.9, 2.2, 2.95];  w2 = w1 − 0.1·g2 = [0.85, 2.2, 3.05];  w3 = w2
//	momentum:  v1 = g1, w1 = [0.9, 2.2, 2.95]
//	           v2 = 0.5·v1 + g2 = [1, −1, −0.75],  w2 = w1 − 0.1·v2 = [0.8, 2.3, 3.025]
//	           v3 = 0.5·v2 = [0.5, −0.5, −0.375],  w3 = w2 − 0.1·v3 = [0.75, 2.35, 3.0625]
//	nesterov:  v1 = g1, w1 = w0 − 0.1·(g1 + 0.5·v1) = w0 − 0.15·g1 = [0.85, 2.3, 2.925]
//	           v2 = [1, −1, −0.75], g2 + 0.5·v2 = [1, −0.5, −1.375], w2 = [0.75, 2.35, 3.0625]
//	           v3 = [0.5, −0.5, −0.375], g3 + 0.5·v3 = [0.25, −0.25, −0.1875], w3 = [0.725, 2.375, 3.08125]
func TestMethods(t *testing.T) {
	grads := [][]float32{{1, -2, 0.5}, {0.5, 0, -1}, {0, 0, 0}}
	tests := []struct {
		cfg  OptimizerConfig
		want [][]float32 // weights after each step
		vel  [][]float32 // velocity after each step (nil for sgd)
	}{
		{
			cfg:  OptimizerConfig{Method: "sgd"},
			want: [][]float32{{0.9, 2.2, 2.95}, {0.85, 2.2, 3.05}, {0.85, 2.2, 3.05}},
		},
		{
			cfg:  OptimizerConfig{Method: "momentum", Momentum: 0.5},
			want: [][]float32{{0.9, 2.2, 2.95}, {0.8, 2.3, 3.025}, {0.75, 2.35, 3.0625}},
			vel:  [][]float32{{1, -2, 0.5}, {1, -1, -0.75}, {0.5, -0.5, -0.375}},
		},
		{
			cfg:  OptimizerConfig{Method: "nesterov", Momentum: 0.5},
			want: [][]float32{{0.85, 2.3, 2.925}, {0.75, 2.35, 3.0625}, {0.725, 2.375, 3.08125}},
			vel:  [][]float32{{1, -2, 0.5}, {1, -1, -0.75}, {0.5, -0.5, -0.375}},
		},
		{
			// An empty method with a momentum means "momentum".
			cfg:  OptimizerConfig{Momentum: 0.5},
			want: [][]float32{{0.9, 2.2, 2.95}, {0.8, 2.3, 3.025}, {0.75, 2.35, 3.0625}},
			vel:  [][]float32{{1, -2, 0.5}, {1, -1, -0.75}, {0.5, -0.5, -0.375}},
		},
	}
	for _, tc := range tests {
		o, err := NewOptimizer(tc.cfg, weight3())
		if err != nil {
			t.Fatal(err)
		}
		w := []float32{1, 2, 3}
		for k, g := range grads {
			gcopy := append([]float32(nil), g...)
			o.Step(w, gcopy, 0.1)
			checkSlice(t, o.Config().Method+" weights", w, tc.want[k])
			checkSlice(t, o.Config().Method+" grads (must be unchanged)", gcopy, g)
			if tc.vel != nil {
				checkSlice(t, o.Config().Method+" velocity", o.Velocity(), tc.vel[k])
			} else if len(o.Velocity()) != 0 {
				t.Fatalf("sgd has a velocity of %d values", len(o.Velocity()))
			}
		}
	}
}

// TestRegularizers is one SGD step, lr 0.1, on w = [1, −2, 0] with g = [0.5, 0.5, 0.5]
// (sign(0) = 0, so the third weight gets no L1 pull):
//
//	L2 0.1:          g' = g + 0.1·w       = [0.6, 0.3, 0.5]  → w = [0.94, −2.03, −0.05]
//	L1 0.1:          g' = g + 0.1·sign(w) = [0.6, 0.4, 0.5]  → w = [0.94, −2.04, −0.05]
//	elastic 0.1/0.1: g' = [0.7, 0.2, 0.5]                     → w = [0.93, −2.02, −0.05]
//
// and momentum 0.5 with L2 0.1 for two steps: v1 = [0.6, 0.3, 0.5], w1 = [0.94, −2.03, −0.05];
// g'2 = g + 0.1·w1 = [0.594, 0.297, 0.495], v2 = 0.5·v1 + g'2 = [0.894, 0.447, 0.745],
// w2 = w1 − 0.1·v2 = [0.8506, −2.0747, −0.1245].
func TestRegularizers(t *testing.T) {
	g := []float32{0.5, 0.5, 0.5}
	tests := []struct {
		name  string
		cfg   OptimizerConfig
		steps int
		want  []float32
	}{
		{"none", OptimizerConfig{}, 1, []float32{0.95, -2.05, -0.05}},
		{"L2", OptimizerConfig{WeightDecay: 0.1}, 1, []float32{0.94, -2.03, -0.05}},
		{"L1", OptimizerConfig{L1: 0.1}, 1, []float32{0.94, -2.04, -0.05}},
		{"elastic", OptimizerConfig{WeightDecay: 0.1, L1: 0.1}, 1, []float32{0.93, -2.02, -0.05}},
		{"momentum+L2", OptimizerConfig{Method: "momentum", Momentum: 0.5, WeightDecay: 0.1}, 2,
			[]float32{0.8506, -2.0747, -0.1245}},
	}
	for _, tc := range tests {
		o, err := NewOptimizer(tc.cfg, weight3())
		if err != nil {
			t.Fatal(err)
		}
		w := []float32{1, -2, 0}
		for range tc.steps {
			o.Step(w, g, 0.1)
		}
		checkSlice(t, tc.name, w, tc.want)
	}
}

// TestBiases: a weight [1] and a bias [2], both with gradient 0.5, one SGD step at lr 0.1.
// The weight always gets the regularization; the bias only with DecayBiases:
//
//	L2 0.1:  weight 1 − 0.1·(0.5 + 0.1) = 0.94; bias 2 − 0.05 = 1.95, or 2 − 0.1·(0.5 + 0.2) = 1.93
//	L1 0.1:  weight 1 − 0.1·(0.5 + 0.1) = 0.94; bias 1.95, or 2 − 0.1·(0.5 + 0.1) = 1.94
func TestBiases(t *testing.T) {
	info := testInfo(tensor{"fc.weight", false, 1, []int{1, 1}}, tensor{"fc.bias", true, 1, []int{1}})
	tests := []struct {
		cfg  OptimizerConfig
		want []float32
	}{
		{OptimizerConfig{WeightDecay: 0.1}, []float32{0.94, 1.95}},
		{OptimizerConfig{WeightDecay: 0.1, DecayBiases: true}, []float32{0.94, 1.93}},
		{OptimizerConfig{L1: 0.1}, []float32{0.94, 1.95}},
		{OptimizerConfig{L1: 0.1, DecayBiases: true}, []float32{0.94, 1.94}},
	}
	for _, tc := range tests {
		o, err := NewOptimizer(tc.cfg, info)
		if err != nil {
			t.Fatal(err)
		}
		p := []float32{1, 2}
		o.Step(p, []float32{0.5, 0.5}, 0.1)
		checkSlice(t, "weight, bias", p, tc.want)
	}
}

// TestMaxNorm: a 2×2 weight with rows [3, 4] and [0.3, 0.4], a 2×1×1×2 conv weight with
// rows [0, 0.5] and [0.9, 1.2], and a bias [5]; max-norm 1, SGD lr 0.1.
//
// With zero gradients: [3, 4] (norm 5) becomes [0.6, 0.8]; [0.3, 0.4] (norm 0.5) is kept
// bit for bit; [0.9, 1.2] (norm 1.5) becomes [0.6, 0.8]; [0, 0.5] is kept; the bias 5 is not
// constrained.
//
// With gradient [−10, 0] on the first row: the update gives [4, 4] (norm √32), rescaled
// after the update to [1/√2, 1/√2] = [0.70710678, 0.70710678].
func TestMaxNorm(t *testing.T) {
	info := testInfo(
		tensor{"fc.weight", false, 1, []int{2, 2}},
		tensor{"conv.weight", false, 1, []int{2, 1, 1, 2}},
		tensor{"fc.bias", true, 1, []int{1}},
	)
	o, err := NewOptimizer(OptimizerConfig{MaxNorm: 1}, info)
	if err != nil {
		t.Fatal(err)
	}
	p := []float32{3, 4, 0.3, 0.4, 0, 0.5, 0.9, 1.2, 5}
	o.Step(p, make([]float32, 9), 0.1)
	checkSlice(t, "zero gradient", p, []float32{0.6, 0.8, 0.3, 0.4, 0, 0.5, 0.6, 0.8, 5})
	if p[2] != 0.3 || p[3] != 0.4 || p[5] != 0.5 {
		t.Errorf("rows within the bound changed: %v", p)
	}

	p = []float32{3, 4, 0.3, 0.4, 0, 0.5, 0.6, 0.8, 5}
	o.Step(p, []float32{-10, 0, 0, 0, 0, 0, 0, 0, 0}, 0.1)
	checkSlice(t, "after update", p, []float32{0.70710678, 0.70710678, 0.3, 0.4, 0, 0.5, 0.6, 0.8, 5})
}

// TestFrozen: a tensor with LRMult 0 keeps its exact bits (NaN payloads, −0, huge values)
// and its velocity under every regularizer, while a tensor with LRMult 2 moves twice as
// far: 1 − 2·0.1·0.5 = 0.9.
func TestFrozen(t *testing.T) {
	info := testInfo(
		tensor{"a.weight", false, 0, []int{2, 2}},
		tensor{"a.bias", true, 0, []int{1}},
		tensor{"b.weight", false, 2, []int{1, 1}},
	)
	frozen := []float32{
		math.Float32frombits(0x7fc00001), // a NaN with a payload
		float32(math.Copysign(0, -1)),
		1e30, -3,
		7,
	}
	for _, cfg := range []OptimizerConfig{
		{},
		{Method: "momentum", Momentum: 0.9, WeightDecay: 0.1, L1: 0.1, MaxNorm: 1, DecayBiases: true},
		{Method: "nesterov", Momentum: 0.9, WeightDecay: 0.1, L1: 0.1, MaxNorm: 1, DecayBiases: true},
	} {
		o, err := NewOptimizer(cfg, info)
		if err != nil {
			t.Fatal(err)
		}
		p := append(append([]float32(nil), frozen...), 1)
		g := []float32{1, 1, 1, 1, 1, 0.5}
		for range 3 {
			o.Step(p, g, 0.1)
		}
		for i, v := range frozen {
			if math.Float32bits(p[i]) != math.Float32bits(v) {
				t.Errorf("%s: frozen param %d is %g (bits %#x), want bits %#x", cfg.Method,
					i, p[i], math.Float32bits(p[i]), math.Float32bits(v))
			}
		}
		vel := o.Velocity()
		if len(vel) > 5 {
			vel = vel[:5]
		}
		for i, v := range vel {
			if math.Float32bits(v) != 0 {
				t.Errorf("%s: frozen velocity %d is %g", cfg.Method, i, v)
			}
		}
		if cfg.Method == "" {
			if !near(p[5], 1-3*0.1) { // three steps of 2·0.1·0.5
				t.Errorf("LRMult 2: %g after three steps, want 0.7", p[5])
			}
		}
	}
	o, _ := NewOptimizer(OptimizerConfig{}, info)
	p := append(append([]float32(nil), frozen...), 1)
	o.Step(p, []float32{1, 1, 1, 1, 1, 0.5}, 0.1)
	if !near(p[5], 0.9) {
		t.Errorf("LRMult 2: %g, want 0.9", p[5])
	}
}

func TestVelocityState(t *testing.T) {
	o, err := NewOptimizer(OptimizerConfig{Method: "nesterov", Momentum: 0.9}, weight3())
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SetVelocity([]float32{1, 2}); err == nil {
		t.Error("SetVelocity accepted 2 values for 3 parameters")
	}
	// Restoring a velocity continues exactly: split 4 steps as 2 + save + restore + 2.
	g := []float32{0.3, -0.2, 0.1}
	a := []float32{1, 2, 3}
	for range 4 {
		o.Step(a, g, 0.05)
	}
	o.Reset()
	b := []float32{1, 2, 3}
	o.Step(b, g, 0.05)
	o.Step(b, g, 0.05)
	saved := append([]float32(nil), o.Velocity()...)
	o2, _ := NewOptimizer(OptimizerConfig{Method: "nesterov", Momentum: 0.9}, weight3())
	if err := o2.SetVelocity(saved); err != nil {
		t.Fatal(err)
	}
	o2.Step(b, g, 0.05)
	o2.Step(b, g, 0.05)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("resumed weights %v differ from straight %v", b, a)
		}
	}
	o.Reset()
	for _, v := range o.Velocity() {
		if v != 0 {
			t.Fatal("Reset left a nonzero velocity")
		}
	}
	sgd, _ := NewOptimizer(OptimizerConfig{}, weight3())
	if err := sgd.SetVelocity(nil); err != nil {
		t.Errorf("sgd SetVelocity(nil) = %v", err)
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	info := testInfo(
		tensor{"conv.weight", false, 1, []int{8, 3, 3, 3}},
		tensor{"conv.bias", true, 1, []int{8}},
		tensor{"fc.weight", false, 0.5, []int{10, 72}},
		tensor{"fc.bias", true, 0, []int{10}},
	)
	p := make([]float32, info.NumParams)
	g := make([]float32, info.NumParams)
	for i := range p {
		p[i] = float32(i%7) - 3
		g[i] = float32(i%5) * 0.01
	}
	for _, cfg := range []OptimizerConfig{
		{},
		{Method: "momentum", Momentum: 0.9, WeightDecay: 5e-4},
		{Method: "nesterov", Momentum: 0.9, WeightDecay: 5e-4, L1: 1e-5, MaxNorm: 3},
		{Method: "adamw", WeightDecay: 5e-4},
	} {
		o, err := NewOptimizer(cfg, info)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { o.Step(p, g, 0.01) }); n != 0 {
			t.Errorf("%s: %v allocations per Step", o.Config().Method, n)
		}
	}
}

// TestStepParallel checks that a network large enough for Step to split its update over
// the worker pool gets the same update, bit for bit, as on one core, with chunks cutting
// through tensors, and that it allocates nothing.
func TestStepParallel(t *testing.T) {
	info := testInfo(
		tensor{"conv.weight", false, 1, []int{64, 3, 11, 11}},
		tensor{"conv.bias", true, 1, []int{64}},
		tensor{"fc.weight", false, 0.5, []int{100, 1200}},
		tensor{"fc.bias", true, 0, []int{100}},
	)
	if info.NumParams < 2*parallelStepMin {
		t.Fatalf("%d parameters: too few for Step to split", info.NumParams)
	}
	for _, cfg := range []OptimizerConfig{
		{WeightDecay: 5e-4},
		{Method: "momentum", Momentum: 0.9, WeightDecay: 5e-4},
		{Method: "momentum", Momentum: 0.9, WeightDecay: 5e-4, L1: 1e-4, MaxNorm: 2},
		{Method: "nesterov", Momentum: 0.9, WeightDecay: 5e-4},
		{Method: "adam", WeightDecay: 5e-4},
		{Method: "adamw", WeightDecay: 5e-4, L1: 1e-4},
	} {
		var results [2][]float32
		for k, procs := range []int{1, 3} {
			o, err := NewOptimizer(cfg, info)
			if err != nil {
				t.Fatal(err)
			}
			p, g := make([]float32, info.NumParams), make([]float32, info.NumParams)
			for i := range p {
				p[i] = float32(i%13)*0.25 - 1.5
				g[i] = float32(i%7)*0.01 - 0.03
			}
			prev := runtime.GOMAXPROCS(procs)
			for range 3 {
				o.Step(p, g, 0.1)
			}
			if n := testing.AllocsPerRun(5, func() { o.Step(p, g, 0.1) }); n != 0 {
				t.Errorf("%+v on %d cores: %v allocations per Step", cfg, procs, n)
			}
			runtime.GOMAXPROCS(prev)
			results[k] = append(p, o.Velocity()...)
		}
		for i := range results[0] {
			if math.Float32bits(results[0][i]) != math.Float32bits(results[1][i]) {
				t.Fatalf("%+v: value %d is %v on one core, %v on three", cfg, i, results[0][i], results[1][i])
			}
		}
	}
}

func TestNewOptimizerErrors(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		cfg  OptimizerConfig
		info *nn.Info
		want string
	}{
		{OptimizerConfig{Method: "adagrad"}, nil, `"adagrad"`},
		{OptimizerConfig{Method: "sgd", Momentum: 0.9}, nil, "momentum 0.9"},
		{OptimizerConfig{Method: "momentum"}, nil, "momentum in (0, 1)"},
		{OptimizerConfig{Method: "nesterov", Momentum: 1}, nil, "nesterov"},
		{OptimizerConfig{Momentum: -0.5}, nil, "momentum -0.5"},
		{OptimizerConfig{WeightDecay: -1}, nil, "weight decay -1"},
		{OptimizerConfig{L1: nan}, nil, "l1 NaN"},
		{OptimizerConfig{MaxNorm: -2}, nil, "max-norm -2"},
		{OptimizerConfig{}, testInfo(tensor{"x.weight", false, -1, []int{2}}), `"x.weight"`},
		{OptimizerConfig{}, &nn.Info{NumParams: 2, Params: []nn.ParamTensor{
			{Name: "y.weight", Offset: 1, Size: 2, Shape: []int{2}, LRMult: 1}}}, `"y.weight"`},
		{OptimizerConfig{}, &nn.Info{NumParams: 4, Params: []nn.ParamTensor{
			{Name: "z.weight", Size: 4, Shape: []int{2, 3}, LRMult: 1}}}, `"z.weight"`},
	}
	for _, tc := range tests {
		info := tc.info
		if info == nil {
			info = weight3()
		}
		_, err := NewOptimizer(tc.cfg, info)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewOptimizer(%+v) error = %v, want one containing %s", tc.cfg, err, tc.want)
		}
	}
	if _, err := NewOptimizer(OptimizerConfig{}, nil); err == nil {
		t.Error("nil info accepted")
	}
}

func TestStepPanicsOnLength(t *testing.T) {
	o, _ := NewOptimizer(OptimizerConfig{}, weight3())
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for mismatched lengths")
		}
	}()
	o.Step(make([]float32, 3), make([]float32, 2), 0.1)
}

// BenchmarkStep updates 400K parameters (which fit in L3) with Nesterov momentum, and
// 16.8M (AlexNet's full2, whose weights, gradients and velocity, 200 MB, do not) with
// momentum.
func BenchmarkStep(b *testing.B) {
	for _, bc := range []struct {
		method string
		rows   int
		cols   int
	}{{"nesterov", 500, 800}, {"momentum", 4096, 4096}} {
		b.Run(fmt.Sprintf("%s-%dx%d", bc.method, bc.rows, bc.cols), func(b *testing.B) {
			info := testInfo(tensor{"fc.weight", false, 1, []int{bc.rows, bc.cols}}, tensor{"fc.bias", true, 1, []int{bc.rows}})
			o, _ := NewOptimizer(OptimizerConfig{Method: bc.method, Momentum: 0.9, WeightDecay: 5e-4}, info)
			p := make([]float32, info.NumParams)
			g := make([]float32, info.NumParams)
			for i := range g {
				g[i] = 1e-3 // written, so that reading it goes to memory, not to the zero page
			}
			b.SetBytes(int64(20 * info.NumParams)) // reads w, g, v; writes w, v
			for b.Loop() {
				o.Step(p, g, 0.01)
			}
		})
	}
}

package reference

import (
	"fmt"
	"math"
	"testing"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/runtime/nn"
)

// compile compiles an inline spec, failing the test on any error.
func compile(t testing.TB, spec string) *compiler.Net {
	t.Helper()
	net, err := compiler.Compile("inline.net", []byte(spec))
	if err != nil {
		t.Fatalf("compile %q: %v", spec, err)
	}
	return net
}

// gradCases cover every layer kind and option.
var gradCases = []struct {
	name, spec string
	train      bool    // draw dropout masks
	targets    bool    // euclidean with explicit targets (else one-hot labels)
	smoothing  float64 // the softmax loss's label smoothing
}{
	{"conv-s2-p1-g2/tanh/avgpool/full/svm",
		"input 2x7x7\nconv 4 3x3 s2 p1 g2 | tanh | pool avg 2x2 | full 3 | svm", false, false, 0},
	{"conv-3x2-s2x1/relu/maxpool-3x3-s2/softmax",
		"input 3x9x8\nconv 4 3x2 s2x1 p1 | relu | pool max 3x3 s2 | full 5 | softmax", false, false, 0},
	{"meansub/lrn3/sigmoid/conv-s1x2-p0x1/lrn5/euclidean-onehot",
		"input 5x4x4\nmeansub | norm size3 alpha0.5 beta0.75 k2 | sigmoid | conv 6 2x2 s1x2 p0x1 | norm size5 alpha2 beta0.6 k1 | full 4 | euclidean", false, false, 0},
	{"meansub-image/conv/relu/dropout/full/euclidean-targets/train",
		"input 2x5x5\nmeansub image | conv 4 3x3 p1 | relu | dropout 0.3 | full 16 | relu | dropout 0.5 | full 4 | euclidean", true, true, 0},
	{"meansub-image/conv/relu/dropout/full/euclidean-targets/test",
		"input 2x5x5\nmeansub image | conv 4 3x3 p1 | relu | dropout 0.3 | full 16 | relu | dropout 0.5 | full 4 | euclidean", false, true, 0},
	{"dropout-input/conv-g3/sigmoid/maxpool/softmax/train",
		"input 3x6x6\ndropout 0.25 | conv 6 3x3 g3 | sigmoid | pool max 2x2 | full 3 | softmax", true, false, 0},
	{"lrn-default/lrn4-even/tanh/svm-margin",
		"input 7x2x2\nnorm | norm size4 alpha1 beta0.75 k1 | tanh | full 3 | svm margin0.5", false, false, 0},
	{"conv/leaky/maxpool/leaky-0.2/full/leaky-0/softmax",
		"input 2x6x6\nconv 4 3x3 p1 | leaky | pool max 2x2 | leaky 0.2 | full 5 | leaky 0 | full 3 | softmax", false, false, 0},
	{"conv-nobias/bn/relu/conv-s2-nobias/bn/global-avg/full/softmax/train",
		"input 2x6x6\nconv 4 3x3 p1 nobias | bn | relu | conv 3 3x3 s2 nobias | bn | pool avg global | full 3 | softmax", true, false, 0},
	{"conv/bn/global-avg/test",
		"input 2x5x5\nconv 3 3x3 | bn | pool avg global | full 3 | svm", false, false, 0},
	{"residual/add/relu",
		"input 2x5x5\nconv 3 3x3 p1 | a: relu | conv 3 3x3 p1 | add a | relu | full 3 | softmax", false, false, 0},
	{"projection/from/bn/add/train",
		"input 2x6x6\nconv 4 3x3 p1 | a: relu | conv 4 3x3 s2 p1 nobias | b: bn\n" +
			"conv 4 1x1 s2 nobias from a | bn | add b | relu | full 3 | softmax", true, false, 0},
	{"concat/three-readers",
		"input 2x4x4\nconv 3 3x3 p1 | a: tanh | conv 2 1x1 | c: concat a | conv 3 1x1 from a | add a a | concat c | full 3 | svm", false, false, 0},
	{"full/tanh/softmax-labelsmooth",
		"input 2x3x3\nfull 6 | tanh | full 4 | softmax", false, false, 0.2},
	{"conv-5x5-p2/relu/lrn/maxpool-overlap/relu/full/softmax",
		"input 3x8x8\nconv 6 5x5 p2 | relu | norm size5 alpha1 beta0.75 k1 | pool max 3x3 s2 | full 4 | relu | full 3 | softmax", false, false, 0},
}

// TestGradients checks DParams and DInput of Run against central differences of Loss.
func TestGradients(t *testing.T) {
	const eps, rtol, atol = 1e-6, 1e-6, 1e-9
	for _, tc := range gradCases {
		for _, batch := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/batch%d", tc.name, batch), func(t *testing.T) {
				net := compile(t, tc.spec)
				// Data with no kink within 1e-4 of the forward pass (a step of eps in
				// any value then moves no pre-activation across one) and gradients in every
				// learned layer (a check of zeros proves little).
				const dropSeed = 0x5eed
				prob, seed, err := Draw(net, batch, tc.targets, tc.train, 1e-4, 1, dropSeed, 200)
				if err != nil {
					t.Fatal(err)
				}
				params, x := widen(prob.Params), widen(prob.X)
				rng := nn.NewRNG(dropSeed)
				res, err := Run(net, prob.Params, prob.X, batch, prob.Labels, prob.Targets, tc.train, &rng, WithLabelSmoothing(tc.smoothing))
				if err != nil {
					t.Fatal(err)
				}
				var targets []float64
				if prob.Targets != nil {
					targets = widen(prob.Targets)
				}
				loss := func() float64 {
					return Loss(net, params, x, batch, prob.Labels, targets, tc.train, dropSeed, WithLabelSmoothing(tc.smoothing))
				}
				if l := loss(); math.Abs(l-res.Loss) > 1e-12*math.Abs(l) {
					t.Fatalf("Run's loss %v != Loss %v", res.Loss, l)
				}
				if res.Loss < 0.01 {
					t.Fatalf("loss %v is too small to test the gradients", res.Loss)
				}
				numeric := func(v []float64, i int) float64 {
					old := v[i]
					v[i] = old + eps
					up := loss()
					v[i] = old - eps
					down := loss()
					v[i] = old
					return (up - down) / (2 * eps)
				}
				worst := 0.0
				check := func(what string, got float64, v []float64, i int) {
					want := numeric(v, i)
					worst = math.Max(worst, math.Abs(got-want)/(math.Max(math.Abs(got), math.Abs(want))+atol/rtol))
					if math.Abs(got-want) > rtol*math.Max(math.Abs(got), math.Abs(want))+atol {
						t.Errorf("%s[%d] = %.12g, central difference %.12g", what, i, got, want)
					}
				}
				if len(res.DParams) != len(params) || len(res.DInput) != len(x) {
					t.Fatalf("gradient sizes %d, %d; want %d, %d", len(res.DParams), len(res.DInput), len(params), len(x))
				}
				for i := range params {
					if i >= net.Params { // buffers are not learned
						if res.DParams[i] != 0 {
							t.Errorf("DParams[%d] = %v for a buffer, want 0", i, res.DParams[i])
						}
						continue
					}
					check("DParams", res.DParams[i], params, i)
				}
				for i := range x {
					check("DInput", res.DInput[i], x, i)
				}
				t.Logf("seed %d, loss %.4g, %d parameters and %d inputs checked, worst relative error %.2g", seed, res.Loss, net.Params, len(x), worst)
			})
		}
	}
}

// TestRunAdvancesRNG checks that Run consumes one draw per value of every dropout buffer in
// train mode and none in test mode.
func TestRunAdvancesRNG(t *testing.T) {
	net := compile(t, "input 2x3x3\ndropout 0.5 | full 4 | dropout 0.2 | softmax")
	const batch = 3
	r := nn.NewRNG(7)
	prob := RandomProblem(net, batch, false, &r)
	for _, train := range []bool{false, true} {
		rng := nn.NewRNG(99)
		if _, err := Run(net, prob.Params, prob.X, batch, prob.Labels, nil, train, &rng); err != nil {
			t.Fatal(err)
		}
		want := nn.NewRNG(99)
		if train {
			for range batch * (18 + 4) {
				want.Float32()
			}
		}
		if rng.State != want.State {
			t.Errorf("train=%v: RNG state %#x after Run, want %#x", train, rng.State, want.State)
		}
	}
}

// TestValidate checks that Run rejects inconsistent arguments.
func TestValidate(t *testing.T) {
	net := compile(t, "input 1x2x2\nfull 3 | dropout 0.5 | euclidean")
	params := make([]float32, net.Params)
	x := make([]float32, 2*4)
	rng := nn.NewRNG(1)
	for _, c := range []struct {
		name    string
		params  []float32
		x       []float32
		batch   int
		labels  []int32
		targets []float32
		train   bool
		rng     *nn.RNG
	}{
		{"batch 0", params, x[:0], 0, nil, nil, false, nil},
		{"params", params[1:], x, 2, []int32{0, 1}, nil, false, nil},
		{"input", params, x[1:], 2, []int32{0, 1}, nil, false, nil},
		{"labels", params, x, 2, []int32{0}, nil, false, nil},
		{"label range", params, x, 2, []int32{0, 3}, nil, false, nil},
		{"targets", params, x, 2, nil, make([]float32, 5), false, nil},
		{"rng", params, x, 2, []int32{0, 1}, nil, true, nil},
	} {
		if _, err := Run(net, c.params, c.x, c.batch, c.labels, c.targets, c.train, c.rng); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if _, err := Run(net, params, x, 2, nil, make([]float32, 6), true, &rng); err != nil {
		t.Errorf("valid call: %v", err)
	}
}

// at returns the index of (c, y, x) of image n in a batch buffer of images of shape s.
func at(s compiler.Shape, n, c, y, x int) int {
	return ((n*s.C+c)*s.H+y)*s.W + x
}

// TestLabelSmoothing checks the softmax loss with label smoothing ε against its
// definition through the plain loss: (1−ε)·L(y) + ε·mean over the classes j of L(j).
func TestLabelSmoothing(t *testing.T) {
	net := compile(t, "input 1x2x2\nfull 5 | softmax")
	l := net.Loss()
	const eps = 0.3
	scores := []float64{0.5, -1, 2, 0.25, 0, 3, 1, -2, 0.5, 0.75}
	labels := []int32{2, 4}
	plain := func(labels []int32) float64 {
		loss, _ := l.Type().Loss64(l, scores, compiler.LossArgs{Batch: 2, Labels: labels})
		return loss
	}
	want := (1 - eps) * plain(labels)
	for j := range int32(5) {
		want += eps / 5 * plain([]int32{j, j})
	}
	got, grad := l.Type().Loss64(l, scores, compiler.LossArgs{Batch: 2, Labels: labels, Smoothing: eps})
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("loss %v, want %v", got, want)
	}
	for img := range 2 { // each image's gradient sums to 0, as softmax(s) − q does
		sum := 0.0
		for _, d := range grad[img*5 : img*5+5] {
			sum += d
		}
		if math.Abs(sum) > 1e-12 {
			t.Errorf("image %d: the gradient sums to %v", img, sum)
		}
	}
}

package reference

import (
	"math"
	"testing"

	"github.com/netc-dev/netc/runtime/nn"
)

// The cases here are worked out by hand from the definitions, so that the oracle is
// anchored to PyTorch's semantics and not only consistent with itself.

// handCase is one network on given data with the expected results. Nil expectations are
// not checked.
type handCase struct {
	name, spec string
	params     []float32
	x          []float32
	batch      int
	labels     []int32
	targets    []float32
	train      bool
	rngState   uint64

	scores, dparams, dinput []float64
	loss                    []float64 // the loss, one value
}

func (c handCase) run(t *testing.T) {
	t.Run(c.name, func(t *testing.T) {
		net := compile(t, c.spec)
		rng := nn.NewRNG(c.rngState)
		res, err := Run(net, c.params, c.x, c.batch, c.labels, c.targets, c.train, &rng)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "Scores", res.Scores, c.scores)
		near(t, "DParams", res.DParams, c.dparams)
		near(t, "DInput", res.DInput, c.dinput)
		near(t, "Loss", []float64{res.Loss}, c.loss)
	})
}

// near checks got against want (if not nil) to 1e-12 relative.
func near(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if want == nil {
		return
	}
	if len(got) != len(want) {
		t.Errorf("%s has %d values, want %d: %v", what, len(got), len(want), got)
		return
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12*math.Max(1, math.Abs(want[i])) {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}

// x1to9 is a 1×3×3 image holding 1 … 9 in row-major order.
var x1to9 = []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}

func TestHandConv(t *testing.T) {
	for _, c := range []handCase{{
		// w = [[1 2] [3 4]], b = 0.5: y = [[1+4+12+20 2+6+15+24] [4+10+21+32 5+12+24+36]] + 0.5.
		// The targets leave residuals of 0.5: loss = ½·4·0.25; dy = 0.5; dw[ky][kx] =
		// 0.5·(sum of the 2×2 block of x at ky,kx); db = 4·0.5; dx = 0.5·(sum of the
		// weights that touch each input).
		name:    "conv 1 2x2",
		spec:    "input 1x3x3\nconv 1 2x2 | euclidean",
		params:  []float32{1, 2, 3, 4, 0.5},
		x:       x1to9,
		batch:   1,
		targets: []float32{37, 47, 67, 77},
		scores:  []float64{37.5, 47.5, 67.5, 77.5},
		loss:    []float64{0.5},
		dparams: []float64{6, 8, 12, 14, 2},
		dinput:  []float64{0.5, 1.5, 1, 2, 5, 3, 1.5, 3.5, 2},
	}, {
		// Stride 2, pad 1: window (oy, ox) covers rows 2oy−1…2oy, columns 2ox−1…2ox.
		// y00 = w11·x00 = 4; y01 = w10·x01 + w11·x02 = 6+12; y10 = w01·x10 + w11·x20 =
		// 8+28; y11 = w00·x11 + w01·x12 + w10·x21 + w11·x22 = 5+12+24+36.
		name:    "conv 1 2x2 s2 p1",
		spec:    "input 1x3x3\nconv 1 2x2 s2 p1 | euclidean",
		params:  []float32{1, 2, 3, 4, 0},
		x:       x1to9,
		batch:   1,
		targets: []float32{4, 18, 36, 77},
		scores:  []float64{4, 18, 36, 77},
		loss:    []float64{0},
	}, {
		// Two groups, kernel 1×2, weights [out][in/groups][kh][kw]: filter 0 = [1 −1] sees
		// channel 0 only, filter 1 = [2 3] (bias 1) channel 1 only.
		name:    "conv 2 1x2 g2",
		spec:    "input 2x1x3\nconv 2 1x2 g2 | euclidean",
		params:  []float32{1, -1, 2, 3, 0, 1},
		x:       []float32{1, 2, 3, 10, 20, 30},
		batch:   1,
		targets: []float32{0, 0, 0, 0},
		scores:  []float64{-1, -1, 81, 131},
		// loss = ½(1 + 1 + 81² + 131²); dy = y.
		loss:    []float64{0.5 * (1 + 1 + 81*81 + 131*131)},
		dparams: []float64{-1*1 + -1*2, -1*2 + -1*3, 81*10 + 131*20, 81*20 + 131*30, -2, 81 + 131},
		dinput:  []float64{-1, -1 + 1, 1, 81 * 2, 81*3 + 131*2, 131 * 3},
	}, {
		// Kernel 2×1, stride 1×2 on a 1×2×4 image: y[0][ox] = w0·x[0][2ox] + w1·x[1][2ox].
		name:    "conv 1 2x1 s1x2",
		spec:    "input 1x2x4\nconv 1 2x1 s1x2 | euclidean",
		params:  []float32{1, 10, 0},
		x:       []float32{1, 2, 3, 4, 5, 6, 7, 8},
		batch:   1,
		targets: []float32{0, 0},
		scores:  []float64{1 + 50, 3 + 70},
	}} {
		c.run(t)
	}
}

func TestHandFull(t *testing.T) {
	// The input 2×1×2 flattens in C,H,W order to [1 2 3 4]; W = [[1 0 0 0.5] [0 1 −1 0]],
	// b = [0.25 −0.5].
	handCase{
		name:    "full 2",
		spec:    "input 2x1x2\nfull 2 | euclidean",
		params:  []float32{1, 0, 0, 0.5, 0, 1, -1, 0, 0.25, -0.5},
		x:       []float32{1, 2, 3, 4},
		batch:   1,
		targets: []float32{3, -1},
		scores:  []float64{3.25, -1.5},
		loss:    []float64{0.5 * (0.0625 + 0.25)},
		// dy = [0.25 −0.5]: dW = dy ⊗ x, db = dy, dx = Wᵀ dy.
		dparams: []float64{0.25, 0.5, 0.75, 1, -0.5, -1, -1.5, -2, 0.25, -0.5},
		dinput:  []float64{0.25, -0.5, 0.5, 0.125},
	}.run(t)
}

// TestHandLosses checks the losses on scores that are the input, passed through a dropout
// layer in evaluation mode (the identity): a loss may not read the input directly.
func TestHandLosses(t *testing.T) {
	lse := 3.40760596444438 // log(e¹ + e² + e³)
	p := []float64{math.Exp(1 - lse), math.Exp(2 - lse), math.Exp(3 - lse)}
	for _, c := range []handCase{{
		name:   "softmax",
		spec:   "input 3x1x1\ndropout 0.5 | softmax",
		x:      []float32{1, 2, 3},
		batch:  1,
		labels: []int32{0},
		scores: []float64{1, 2, 3},
		loss:   []float64{lse - 1},
		dinput: []float64{p[0] - 1, p[1], p[2]},
	}, {
		// Mean over the batch: the second image has equal scores, loss log 3.
		name:   "softmax batch 2",
		spec:   "input 3x1x1\ndropout 0.5 | softmax",
		x:      []float32{1, 2, 3, 0, 0, 0},
		batch:  2,
		labels: []int32{0, 2},
		loss:   []float64{(lse - 1 + math.Log(3)) / 2},
		dinput: []float64{(p[0] - 1) / 2, p[1] / 2, p[2] / 2, 1.0 / 6, 1.0 / 6, (1.0/3 - 1) / 2},
	}, {
		// Margin 1, label 0: max(0, 3−1+1) + max(0, 0.5−1+1) = 3 + 0.5.
		name:   "svm",
		spec:   "input 3x1x1\ndropout 0.5 | svm",
		x:      []float32{1, 3, 0.5},
		batch:  1,
		labels: []int32{0},
		loss:   []float64{3.5},
		dinput: []float64{-2, 1, 1},
	}, {
		// Margin 2, label 2: (1−0.5+2) + (3−0.5+2); the second image (label 1) has
		// 1−3+2 = 0 and 0.5−3+2 < 0: no loss, no gradient at the hinge.
		name:   "svm margin2 batch 2",
		spec:   "input 3x1x1\ndropout 0.5 | svm margin2",
		x:      []float32{1, 3, 0.5, 1, 3, 0.5},
		batch:  2,
		labels: []int32{2, 1},
		loss:   []float64{7.0 / 2},
		dinput: []float64{0.5, 0.5, -1, 0, 0, 0},
	}, {
		// One-hot targets: ½((0.5−0)² + (−1−0)² + (2−1)²).
		name:   "euclidean one-hot",
		spec:   "input 3x1x1\ndropout 0.5 | euclidean",
		x:      []float32{0.5, -1, 2},
		batch:  1,
		labels: []int32{2},
		loss:   []float64{1.125},
		dinput: []float64{0.5, -1, 1},
	}, {
		// Given targets, batch 2: 1/(2·2)·Σ(s−t)².
		name:    "euclidean targets batch 2",
		spec:    "input 2x1x1\ndropout 0.5 | euclidean",
		x:       []float32{1, 2, 3, 4},
		batch:   2,
		targets: []float32{0, 2, 5, 3},
		loss:    []float64{(1 + 0 + 4 + 1) / 4.0},
		dinput:  []float64{0.5, 0, -1, 0.5},
	}} {
		c.run(t)
	}
}

func TestHandLRN(t *testing.T) {
	// a = [1 2 3] at one pixel; alpha/size = 1 and beta 1 throughout, except where noted.
	for _, c := range []handCase{{
		// Size 3: windows {0,1}, {0,1,2}, {1,2}: b = [1/(1+1+4) 2/(1+1+4+9) 3/(1+4+9)].
		name:    "size3",
		spec:    "input 3x1x1\nnorm size3 alpha3 beta1 k1 | euclidean",
		x:       []float32{1, 2, 3},
		batch:   1,
		targets: []float32{0, 0, 0},
		scores:  []float64{1.0 / 6, 2.0 / 15, 3.0 / 14},
	}, {
		// Even size 2: PyTorch's window is c−1 … c: {0}, {0,1}, {1,2}.
		name:    "size2",
		spec:    "input 3x1x1\nnorm size2 alpha2 beta1 k1 | euclidean",
		x:       []float32{1, 2, 3},
		batch:   1,
		targets: []float32{0, 0, 0},
		scores:  []float64{1.0 / 2, 2.0 / 6, 3.0 / 14},
	}, {
		// Beta 0.5, k 2, size 3 on two pixels (channel-major [1 10] [2 20] [3 30]):
		// pixel 0: b = [1/√(2+5) 2/√(2+14) 3/√(2+13)]; pixel 1 scales every square by 100.
		name:    "size3 beta0.5 k2",
		spec:    "input 3x1x2\nnorm size3 alpha3 beta0.5 k2 | euclidean",
		x:       []float32{1, 10, 2, 20, 3, 30},
		batch:   1,
		targets: []float32{0, 0, 0, 0, 0, 0},
		scores: []float64{1 / math.Sqrt(7), 10 / math.Sqrt(502), 2 / math.Sqrt(16), 20 / math.Sqrt(1402),
			3 / math.Sqrt(15), 30 / math.Sqrt(1302)},
	}, {
		// The AlexNet defaults: size 5, alpha 1e-4, beta 0.75, k 1; every window of 3
		// channels covers them all: b_c = a_c·(1 + 1e-4/5·14)^−0.75.
		name:    "defaults",
		spec:    "input 3x1x1\nnorm | euclidean",
		x:       []float32{1, 2, 3},
		batch:   1,
		targets: []float32{0, 0, 0},
		scores:  []float64{math.Pow(1.00028, -0.75), 2 * math.Pow(1.00028, -0.75), 3 * math.Pow(1.00028, -0.75)},
	}} {
		c.run(t)
	}
}

func TestHandPool(t *testing.T) {
	for _, c := range []handCase{{
		// Ties go to the first value in row-major window order: window (0,0) is all 5s →
		// x00; window (0,1) holds x01 = x11 = x12 = 5 → x01.
		name:    "max ties",
		spec:    "input 1x2x3\npool max 2x2 s1 | euclidean",
		x:       []float32{5, 5, 1, 5, 5, 5},
		batch:   1,
		targets: []float32{4, 3},
		scores:  []float64{5, 5},
		dinput:  []float64{1, 2, 0, 0, 0, 0},
	}, {
		// Overlapping 3×3 windows with stride 2 on a 1×5×5 ramp x = 5·row + col: each
		// window's maximum is its bottom-right corner; the centre column and row are
		// shared.
		name:    "max 3x3 s2",
		spec:    "input 1x5x5\npool max 3x3 s2 | euclidean",
		x:       ramp(25),
		batch:   1,
		targets: []float32{0, 0, 0, 0},
		scores:  []float64{12, 14, 22, 24},
		dinput: []float64{
			0, 0, 0, 0, 0,
			0, 0, 0, 0, 0,
			0, 0, 12, 0, 14,
			0, 0, 0, 0, 0,
			0, 0, 22, 0, 24},
	}, {
		// Average 2×2 on a 1×2×5 image: floor leaves the last column out.
		name:    "avg 2x2",
		spec:    "input 1x2x5\npool avg 2x2 | euclidean",
		x:       []float32{1, 2, 3, 4, 100, 5, 6, 7, 8, 100},
		batch:   1,
		targets: []float32{0, 0},
		scores:  []float64{3.5, 5.5},
		dinput:  []float64{0.875, 0.875, 1.375, 1.375, 0, 0.875, 0.875, 1.375, 1.375, 0},
	}} {
		c.run(t)
	}
}

// ramp returns 0, 1, …, n−1.
func ramp(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return v
}

func TestHandActivations(t *testing.T) {
	x := []float32{-1, 0.5, 2}
	for _, c := range []handCase{{
		name: "relu", spec: "input 3x1x1\nrelu | euclidean", x: x, batch: 1, targets: []float32{0, 0, 0},
		scores: []float64{0, 0.5, 2}, dinput: []float64{0, 0.5, 2},
	}, {
		name: "tanh", spec: "input 3x1x1\ntanh | euclidean", x: x, batch: 1, targets: []float32{0, 0, 0},
		scores: []float64{-0.7615941559557649, 0.46211715726000974, 0.9640275800758169},
	}, {
		name: "sigmoid", spec: "input 3x1x1\nsigmoid | euclidean", x: x, batch: 1, targets: []float32{0, 0, 0},
		scores: []float64{0.2689414213699951, 0.6224593312018546, 0.8807970779778823},
	}} {
		c.run(t)
	}
}

func TestHandMeanSub(t *testing.T) {
	for _, c := range []handCase{{
		// One mean per channel: [10 20]; the mean is a buffer, its gradient 0.
		name:    "channel",
		spec:    "input 2x1x2\nmeansub | euclidean",
		params:  []float32{10, 20},
		x:       []float32{1, 2, 3, 4},
		batch:   1,
		targets: []float32{0, 0, 0, 0},
		scores:  []float64{-9, -8, -17, -16},
		dparams: []float64{0, 0},
		dinput:  []float64{-9, -8, -17, -16},
	}, {
		name:    "image",
		spec:    "input 2x1x2\nmeansub image | euclidean",
		params:  []float32{1, 3, 5, 7},
		x:       []float32{1, 2, 3, 4, 0, 0, 0, 0},
		batch:   2,
		targets: make([]float32, 8),
		scores:  []float64{0, -1, -2, -3, -1, -3, -5, -7},
		dparams: []float64{0, 0, 0, 0},
	}, {
		// Learned parameters come first, the mean after them.
		name:    "layout",
		spec:    "input 1x1x2\nmeansub | full 1 | euclidean",
		params:  []float32{1, 1, 0, 0.5},
		x:       []float32{1, 2},
		batch:   1,
		targets: []float32{0},
		scores:  []float64{2},
		dparams: []float64{1, 3, 2, 0},
	}} {
		c.run(t)
	}
}

func TestHandDropout(t *testing.T) {
	// Two dropout layers on a batch of 2 images of 4 ones: the first layer draws 8
	// numbers (image 0, then image 1), keeping those ≥ 0.5 scaled by 2; then the second
	// draws 8, keeping those ≥ 0.25 scaled by 4/3.
	const seed = 42
	rng := nn.NewRNG(seed)
	var want, dx []float64
	var m1, m2 [8]float64
	for i := range m1 {
		if rng.Float32() >= 0.5 {
			m1[i] = 2
		}
	}
	for i := range m2 {
		if rng.Float32() >= 0.25 {
			m2[i] = 4.0 / 3
		}
	}
	kept := 0
	for i := range m1 {
		want = append(want, m1[i]*m2[i])
		dx = append(dx, m1[i]*m2[i]*m1[i]*m2[i]/2) // dy = s/batch, targets 0
		if m1[i]*m2[i] != 0 {
			kept++
		}
	}
	if kept == 0 || kept == 8 {
		t.Fatalf("seed %d keeps %d of 8: pick another", seed, kept)
	}
	spec := "input 1x2x2\ndropout 0.5 | dropout 0.25 | euclidean"
	ones := []float32{1, 1, 1, 1, 1, 1, 1, 1}
	handCase{name: "train", spec: spec, x: ones, batch: 2, targets: make([]float32, 8), train: true,
		rngState: seed, scores: want, dinput: dx}.run(t)
	handCase{name: "test", spec: spec, x: ones, batch: 2, targets: make([]float32, 8), train: false,
		rngState: seed, scores: []float64{1, 1, 1, 1, 1, 1, 1, 1}, loss: []float64{2}}.run(t)
}

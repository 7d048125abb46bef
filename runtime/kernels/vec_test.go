package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var vecSizes = []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 127, 128, 129, 200, 1000, 1031}

func close32(got, want float32, tol float64) bool {
	if math.IsNaN(float64(want)) {
		return math.IsNaN(float64(got))
	}
	return math.Abs(float64(got-want)) <= tol*math.Max(1, math.Abs(float64(want)))
}

// vecCase is a kernel that updates its output slice in place given inputs, with its
// reference loop.
type vecCase struct {
	name string
	run  func(x, y []float32)
	ref  func(x, y []float32)
	tol  float64
}

func reversed(x []float32) []float32 {
	r := make([]float32, len(x))
	for i, v := range x {
		r[len(x)-1-i] = v
	}
	return r
}

func onePlusSquares(x []float32) []float32 {
	r := make([]float32, len(x))
	for i, v := range x {
		r[i] = 1 + v*v
	}
	return r
}

func TestVectorOps(t *testing.T) {
	cases := []vecCase{
		{"Axpy", func(x, y []float32) { Axpy(-1.25, x, y) }, func(x, y []float32) {
			for i := range x {
				y[i] += -1.25 * x[i]
			}
		}, 1e-6},
		{"Scale", func(x, y []float32) { Scale(0.3, y) }, func(x, y []float32) {
			for i := range y {
				y[i] *= 0.3
			}
		}, 0},
		{"Add", func(x, y []float32) { Add(x, y) }, func(x, y []float32) {
			for i := range x {
				y[i] += x[i]
			}
		}, 0},
		{"Relu", func(x, y []float32) { Relu(y) }, func(x, y []float32) {
			for i := range y {
				if y[i] < 0 {
					y[i] = 0
				}
			}
		}, 0},
		{"ReluBackward", func(x, y []float32) { ReluBackward(x, y) }, func(x, y []float32) {
			for i := range x {
				if x[i] <= 0 {
					y[i] = 0
				}
			}
		}, 0},
		{"AddSquares", func(x, y []float32) { AddSquares(0.7, x, y) }, func(x, y []float32) {
			for i := range x {
				y[i] += 0.7 * x[i] * x[i]
			}
		}, 1e-6},
		// The third operand is x reversed.
		{"AddProduct", func(x, y []float32) { AddProduct(-1.5, x, reversed(x), y) }, func(x, y []float32) {
			for i := range x {
				y[i] += -1.5 * x[i] * x[len(x)-1-i]
			}
		}, 1e-6},
		// The scale is 1 + x², as local response normalization's is: positive.
		{"DivPow34", func(x, y []float32) { DivPow34(y, onePlusSquares(x), y) }, func(x, y []float32) {
			for i := range x {
				y[i] = float32(float64(y[i]) / math.Pow(1+float64(x[i])*float64(x[i]), 0.75))
			}
		}, 1e-6},
		{"BiasAct", func(x, y []float32) { BiasAct(y, []float32{0.25}, 1, len(y), false) }, func(x, y []float32) {
			for i := range y {
				y[i] += 0.25
			}
		}, 0},
		{"BiasActRelu", func(x, y []float32) { BiasAct(y, []float32{0.25}, 1, len(y), true) }, func(x, y []float32) {
			for i := range y {
				y[i] = max(0, y[i]+0.25)
			}
		}, 0},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, tc := range cases {
			for _, n := range vecSizes {
				x := randSlice(r, n)
				if n > 3 {
					x[1], x[2] = 0, float32(math.Copysign(0, -1)) // ReLU edge: y <= 0 at ±0
				}
				y, check := guarded(r, n)
				want := append([]float32(nil), y...)
				tc.ref(x, want)
				tc.run(x, y)
				check(t)
				for i := range y {
					if !close32(y[i], want[i], tc.tol) {
						t.Fatalf("%s n=%d: [%d] = %v, want %v", tc.name, n, i, y[i], want[i])
					}
				}
			}
		}
	})
}

// TestMomentumStep checks the momentum update, which writes two slices, against its
// definition in float64.
func TestMomentumStep(t *testing.T) {
	const eta, mu, wd = 0.05, 0.9, 0.01
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, n := range vecSizes {
			g := randSlice(r, n)
			w, checkW := guarded(r, n)
			v, checkV := guarded(r, n)
			wantV, wantW := make([]float64, n), make([]float64, n)
			for i := range n {
				wantV[i] = mu*float64(v[i]) + float64(g[i]) + wd*float64(w[i])
				wantW[i] = float64(w[i]) - eta*wantV[i]
			}
			MomentumStep(eta, mu, wd, w, g, v)
			checkW(t)
			checkV(t)
			for i := range n {
				if !close32(v[i], float32(wantV[i]), 1e-6) || !close32(w[i], float32(wantW[i]), 1e-6) {
					t.Fatalf("n=%d: [%d] w=%v v=%v, want w=%v v=%v", n, i, w[i], v[i], wantW[i], wantV[i])
				}
			}
		}
	})
}

func TestReductions(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, n := range vecSizes {
			x, y := randSlice(r, n), randSlice(r, n)
			var want float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
			}
			if got := Dot(x, y); math.Abs(float64(got)-want) > 1e-6*float64(n) {
				t.Errorf("Dot n=%d = %v, want %v", n, got, want)
			}
			// Put the maximum at every position class: first, last, middle, tail.
			for _, pos := range []int{0, n - 1, n / 2, n - n%16} {
				if pos >= n {
					continue
				}
				z := append([]float32(nil), x...)
				z[pos] = 5
				if got := Max(z); got != 5 {
					t.Errorf("Max n=%d pos=%d = %v", n, pos, got)
				}
				if got := ArgMax(z); got != pos {
					t.Errorf("ArgMax n=%d pos=%d = %d", n, pos, got)
				}
				// Ties go to the first.
				if pos+1 < n {
					z[n-1] = 5
					if got := ArgMax(z); got != pos {
						t.Errorf("ArgMax tie n=%d pos=%d = %d", n, pos, got)
					}
				}
			}
			neg := make([]float32, n)
			for i := range neg {
				neg[i] = -1 - float32(i%5)
			}
			if got := Max(neg); got != -1 {
				t.Errorf("Max of negatives n=%d = %v", n, got)
			}
		}
	})
}

func TestReluNaN(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		nan := float32(math.NaN())
		x := []float32{nan, -1, 2, nan, -0.5, 3, nan, 1, nan, -2, nan}
		Relu(x)
		for i, want := range []float32{nan, 0, 2, nan, 0, 3, nan, 1, nan, 0, nan} {
			if !close32(x[i], want, 0) {
				t.Fatalf("Relu NaN handling: [%d] = %v, want %v", i, x[i], want)
			}
		}
		y := []float32{nan, -1, 2, nan, 0, 3, nan, 1, nan, -2, nan}
		dy := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
		ReluBackward(y, dy)
		for i, want := range []float32{1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1} {
			if dy[i] != want {
				t.Fatalf("ReluBackward NaN handling: [%d] = %v, want %v", i, dy[i], want)
			}
		}
	})
}

func TestExp(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		// Dense sweep of [-88, 88]: relative error against float64 exp.
		const n = 200003
		x := make([]float32, n)
		for i := range x {
			x[i] = -88 + 176*float32(i)/float32(n-1)
		}
		y := append([]float32(nil), x...)
		Exp(y)
		worst, at := 0.0, float32(0)
		for i, v := range x {
			want := math.Exp(float64(v))
			if want < 0x1p-126 { // subnormal results: absolute error of a subnormal ulp
				if d := math.Abs(float64(y[i]) - want); d > 0x1p-149 {
					t.Fatalf("Exp(%v) = %v, want %v (subnormal)", v, y[i], want)
				}
				continue
			}
			if e := math.Abs(float64(y[i])-want) / want; e > worst {
				worst, at = e, v
			}
		}
		t.Logf("max relative error %.3g at %v", worst, at)
		if worst > 2e-7 {
			t.Fatalf("Exp relative error %.3g at %v > 2e-7", worst, at)
		}
		inf := float32(math.Inf(1))
		special := []float32{0, -1000, -200, -104, -88.8, float32(math.Inf(-1)), 89, 100, inf, float32(math.NaN()), 1, -1}
		for _, n := range []int{len(special), 1, 3} { // whole vectors and scalar tails
			for i := 0; i+n <= len(special); i++ {
				in := special[i : i+n]
				s := append([]float32(nil), in...)
				Exp(s)
				for j, v := range in {
					want := float32(math.Exp(float64(v)))
					switch {
					case math.IsNaN(float64(v)):
						if !math.IsNaN(float64(s[j])) {
							t.Errorf("Exp(NaN) = %v", s[j])
						}
					case want == 0 || math.IsInf(float64(want), 1):
						if s[j] != want {
							t.Errorf("Exp(%v) = %v, want %v", v, s[j], want)
						}
					default:
						if math.Abs(float64(s[j]-want)) > 2e-7*float64(want)+0x1p-149 {
							t.Errorf("Exp(%v) = %v, want %v", v, s[j], want)
						}
					}
				}
			}
		}
		// Guards around odd lengths.
		r := rand.New(rand.NewPCG(1, 1))
		for _, n := range vecSizes {
			g, check := guarded(r, n)
			Exp(g)
			check(t)
		}
	})
}

func TestLengthChecks(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	x, y := make([]float32, 3), make([]float32, 4)
	mustPanic("Axpy", func() { Axpy(1, x, y) })
	mustPanic("Dot", func() { Dot(x, y) })
	mustPanic("Add", func() { Add(x, y) })
	mustPanic("ReluBackward", func() { ReluBackward(x, y) })
	mustPanic("AddSquares", func() { AddSquares(1, x, y) })
	mustPanic("AddProduct", func() { AddProduct(1, x, x, y) })
	mustPanic("DivPow34", func() { DivPow34(x, y, x) })
	mustPanic("MomentumStep", func() { MomentumStep(1, 0.9, 0, x, y, x) })
	mustPanic("MomentumStep velocity", func() { MomentumStep(1, 0.9, 0, x, x, y) })
	mustPanic("MaxPoolS2", func() { MaxPoolS2(y, 1, 2, 2, 2, x[:0], nil) })
	mustPanic("MaxPoolS2 window", func() { MaxPoolS2(y, 1, 2, 2, 1, x, nil) })
	mustPanic("MaxUnpool2", func() { MaxUnpool2(y, nil, 1, 2, 2, y) })
	mustPanic("Max", func() { Max(nil) })
	mustPanic("ArgMax", func() { ArgMax(nil) })
	mustPanic("BiasAct", func() { BiasAct(x, y, 2, 2, true) })
	mustPanic("Sgemm short C", func() { Sgemm(false, false, 2, 2, 2, 1, y, 2, y, 2, 0, x, 2) })
	mustPanic("Sgemm small lda", func() { Sgemm(false, false, 2, 2, 2, 1, y, 1, y, 2, 0, y, 2) })
	mustPanic("Sgemm short A^T", func() { Sgemm(true, false, 3, 1, 1, 1, x[:2], 3, y, 1, 0, y, 1) })
	mustPanic("Im2col", func() { Im2col(y, 1, 2, 2, 3, 3, 1, 1, 0, 0, y) })
	mustPanic("MaxPool", func() { MaxPool(y, 1, 2, 2, 2, 2, 1, 1, nil, nil) })
	// Empty inputs are fine.
	Axpy(1, nil, nil)
	Scale(2, nil)
	Exp(nil)
	if Dot(nil, nil) != 0 {
		t.Error("Dot(nil, nil) != 0")
	}
	Sgemm(false, false, 0, 0, 0, 1, nil, 0, nil, 0, 0, nil, 0)
}

func ExampleSgemm() {
	// C (2×2) = A (2×3) · B (3×2)
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 0, 1, 1, 1}
	c := make([]float32, 4)
	Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [4 5 10 11]
}

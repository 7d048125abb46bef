package kernels

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func benchGemm(b *testing.B, m, n, k int, serial bool) {
	benchGemmT(b, false, false, m, n, k, serial)
}

func benchGemmT(b *testing.B, tA, tB bool, m, n, k int, serial bool) {
	r := rand.New(rand.NewPCG(1, 2))
	a := randSlice(r, m*k)
	bb := randSlice(r, k*n)
	c := randSlice(r, m*n)
	f := Sgemm
	if serial {
		f = SgemmSerial
	}
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	f(tA, tB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f(tA, tB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSgemmSquare(b *testing.B) {
	for _, n := range []int{64, 256, 1024} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchGemm(b, n, n, n, false) })
	}
}

// The GEMM shapes (M = out channels, N = out h·w, K = in channels·kh·kw) of the
// convolutions of cifar-small and AlexNet, via im2col.
var convShapes = []struct {
	name    string
	m, n, k int
}{
	{"cifar-conv1", 16, 1024, 75},
	{"cifar-conv2", 20, 256, 400},
	{"cifar-conv3", 20, 64, 500},
	{"alexnet-conv1", 96, 3025, 363},
	{"alexnet-conv2", 128, 729, 1200},
	{"alexnet-conv3", 384, 169, 2304},
	{"alexnet-conv4", 192, 169, 1728},
	{"alexnet-conv5", 128, 169, 1728},
}

func BenchmarkSgemmConv(b *testing.B) {
	for _, s := range convShapes {
		b.Run(s.name, func(b *testing.B) { benchGemm(b, s.m, s.n, s.k, false) })
	}
}

// BenchmarkSgemmTrans covers the transposed products of training: A·Bᵀ (weight
// gradients, fully connected forward) and Aᵀ·B (input gradients).
func BenchmarkSgemmTrans(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{256, 256, 256}, {128, 1200, 729}} {
		b.Run(fmt.Sprintf("NT-%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) { benchGemmT(b, false, true, s.m, s.n, s.k, false) })
		b.Run(fmt.Sprintf("TN-%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) { benchGemmT(b, true, false, s.m, s.n, s.k, false) })
	}
}

func BenchmarkSgemmConvSerial(b *testing.B) {
	for _, s := range convShapes {
		b.Run(s.name, func(b *testing.B) { benchGemm(b, s.m, s.n, s.k, true) })
	}
}

func BenchmarkVector(b *testing.B) {
	const n = 4096
	r := rand.New(rand.NewPCG(1, 2))
	x, y := randSlice(r, n), randSlice(r, n)
	ops := []struct {
		name string
		f    func()
	}{
		{"Axpy", func() { Axpy(1e-3, x, y) }},
		{"Dot", func() { Dot(x, y) }},
		{"Exp", func() { copy(y, x); Exp(y) }},
		{"BiasAct", func() { BiasAct(y, x[:4], 4, n/4, true) }},
		{"ReluBackward", func() { ReluBackward(x, y) }},
		{"Max", func() { Max(x) }},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			b.SetBytes(4 * n)
			for i := 0; i < b.N; i++ {
				op.f()
			}
		})
	}
}

// BenchmarkIm2col covers cifar-small conv2 (16 channels of 16×16 after pooling, 5×5,
// pad 2) and AlexNet conv1 (3 channels of 227×227, 11×11, stride 4), whose rows are
// strided gathers.
func BenchmarkIm2col(b *testing.B) {
	for _, g := range []struct {
		name              string
		c, h, k, s, p, oh int
	}{{"cifar-conv2", 16, 16, 5, 1, 2, 16}, {"alexnet-conv1", 3, 227, 11, 4, 0, 55}} {
		b.Run(g.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			src := randSlice(r, g.c*g.h*g.h)
			dst := make([]float32, g.c*g.k*g.k*g.oh*g.oh)
			b.SetBytes(int64(4 * len(dst)))
			for b.Loop() {
				Im2col(src, g.c, g.h, g.h, g.k, g.k, g.s, g.s, g.p, g.p, dst)
			}
		})
	}
}

func TestBenchGemm(t *testing.T) {
	if g, err := BenchGemm(48, 5*time.Millisecond); !(g > 0) || err != nil {
		t.Fatalf("BenchGemm = %v, %v", g, err)
	}
	// Sizes that cannot make sense are refused before anything is allocated.
	for _, n := range []int{0, -3, MaxBenchGemm + 1, 1 << 40} {
		if _, err := BenchGemm(n, time.Millisecond); err == nil || !strings.Contains(err.Error(), "(kernels.MaxBenchGemm)") {
			t.Errorf("BenchGemm(%d): %v", n, err)
		}
	}
}

// BenchmarkSgemmFull covers AlexNet's first fully connected layer (9216 → 4096) at batch
// 8: the forward product X·Wᵀ, the input gradient dY·W and the weight gradient dYᵀ·X.
// They read or write the 151 MB weight matrix once and do little arithmetic with it.
func BenchmarkSgemmFull(b *testing.B) {
	const batch, in, out = 8, 9216, 4096
	b.Run("forward", func(b *testing.B) { benchGemmT(b, false, true, batch, out, in, false) })
	b.Run("inputgrad", func(b *testing.B) { benchGemmT(b, false, false, batch, in, out, false) })
	b.Run("weightgrad", func(b *testing.B) { benchGemmT(b, true, false, out, in, batch, false) })
}

// BenchmarkDepthwise covers mobile-cifar's depthwise layers conv6 (128 channels of 16×16,
// 3×3, stride 1) and conv8 (128 channels of 16×16, stride 2): forward, input gradient and
// weight gradient, in multiply-adds per second (as bytes: MB/s reads as M MACs/s).
func BenchmarkDepthwise(b *testing.B) {
	for _, s := range []int{1, 2} {
		g := DepthwiseGeom{C: 128, H: 16, W: 16, KH: 3, KW: 3, SH: s, SW: s, PH: 1, PW: 1}
		g.OH, g.OW = (g.H+2-3)/s+1, (g.W+2-3)/s+1
		r := rand.New(rand.NewPCG(1, 2))
		x, w, y := randSlice(r, g.C*g.H*g.W), randSlice(r, g.C*9), randSlice(r, g.C*g.OH*g.OW)
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		for _, op := range []struct {
			name string
			f    func()
		}{
			{"forward", func() { DepthwiseConv(y, x, w, g) }},
			{"inputgrad", func() { DepthwiseConvInputGrad(dx, y, w, g) }},
			{"weightgrad", func() { DepthwiseConvWeightGrad(dw, x, y, g) }},
		} {
			b.Run(fmt.Sprintf("s%d/%s", s, op.name), func(b *testing.B) {
				b.SetBytes(int64(len(y) * 9))
				for b.Loop() {
					op.f()
				}
			})
		}
	}
}

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// forEachPath runs f once for every path this binary and CPU support, with that path
// selected, and skips (with a log line) the ones it lacks.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	saved := currentPath()
	defer setPath(saved)
	for _, p := range []path{pathGo, pathAVX2, pathAVX512} {
		t.Run(p.String(), func(t *testing.T) {
			if impls[p] == nil {
				t.Skipf("path %v not supported by this build or CPU", p)
			}
			setPath(p)
			f(t)
		})
	}
}

const guard = float32(-12345.678)

// guarded returns a slice of n elements inside a larger backing array whose extra
// elements hold guard, and a function that reports stray writes to them.
func guarded(r *rand.Rand, n int) ([]float32, func(t *testing.T)) {
	const pad = 37
	all := make([]float32, n+2*pad)
	for i := range all {
		all[i] = guard
	}
	s := all[pad : pad+n : pad+n]
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s, func(t *testing.T) {
		t.Helper()
		for i := 0; i < pad; i++ {
			if all[i] != guard || all[pad+n+i] != guard {
				t.Fatalf("write outside the output slice (guard %d)", i)
			}
		}
	}
}

func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// Materialize op(A) (m×k) and op(B)ᵀ (n×k) in float64 so that the loop is plain.
	opA := make([]float64, m*k)
	opBT := make([]float64, n*k)
	for i := 0; i < m; i++ {
		for p := 0; p < k; p++ {
			if transA {
				opA[i*k+p] = float64(a[p*lda+i])
			} else {
				opA[i*k+p] = float64(a[i*lda+p])
			}
		}
	}
	for j := 0; j < n; j++ {
		for p := 0; p < k; p++ {
			if transB {
				opBT[j*k+p] = float64(b[j*ldb+p])
			} else {
				opBT[j*k+p] = float64(b[p*ldb+j])
			}
		}
	}
	for i := 0; i < m; i++ {
		ra := opA[i*k : i*k+k]
		for j := 0; j < n; j++ {
			rb := opBT[j*k : j*k+k]
			rb = rb[:len(ra)]
			var s0, s1, s2, s3 float64
			p := 0
			for ; p+4 <= len(ra); p += 4 {
				s0 += ra[p] * rb[p]
				s1 += ra[p+1] * rb[p+1]
				s2 += ra[p+2] * rb[p+2]
				s3 += ra[p+3] * rb[p+3]
			}
			for ; p < len(ra); p++ {
				s0 += ra[p] * rb[p]
			}
			v := float64(alpha) * ((s0 + s1) + (s2 + s3))
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

func TestSgemm(t *testing.T) {
	type shape struct{ m, n, k int }
	shapes := []shape{
		{1, 1, 1}, {1, 17, 3}, {15, 1, 16}, {16, 16, 16}, {17, 17, 17}, {31, 33, 15},
		{33, 31, 17}, {6, 16, 256}, {7, 17, 257}, {14, 32, 192}, {15, 33, 193},
		{64, 64, 64}, {100, 37, 300}, {145, 49, 513}, {20, 256, 400}, {3, 3100, 5},
		{300, 2, 9}, {13, 5, 0},
	}
	if !testing.Short() {
		shapes = append(shapes, shape{160, 3100, 70}, shape{260, 130, 600})
	}
	type gemmCase struct {
		name           string
		transA, transB bool
		m, n, k        int
		alpha, beta    float32
		a, b, c, want  []float32
		lda, ldb, ldc  int
	}
	// Build the cases and their expected results once, for all paths.
	var cases []gemmCase
	r := rand.New(rand.NewPCG(7, 8))
	for _, sh := range shapes {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for bi, beta := range []float32{0, 1, -0.75} {
				m, n, k := sh.m, sh.n, sh.k
				// Strides: tight for the first beta, padded (lda > cols, odd) otherwise.
				pad := 0
				if bi > 0 {
					pad = 2*bi + 1
				}
				ra, ca := m, k
				if tr[0] {
					ra, ca = k, m
				}
				rb, cb := k, n
				if tr[1] {
					rb, cb = n, k
				}
				gc := gemmCase{transA: tr[0], transB: tr[1], m: m, n: n, k: k, alpha: 1, beta: beta,
					lda: ca + pad, ldb: cb + pad + 1, ldc: n + pad}
				if bi == 2 {
					gc.alpha = 1.5
				}
				gc.a = randSlice(r, max(0, (ra-1)*gc.lda+ca))
				gc.b = randSlice(r, max(0, (rb-1)*gc.ldb+cb))
				gc.c = randSlice(r, (m-1)*gc.ldc+n)
				if beta == 0 {
					for i := range gc.c {
						gc.c[i] = float32(math.NaN()) // must be overwritten, not scaled
					}
				}
				gc.want = append([]float32(nil), gc.c...)
				naiveGemm(tr[0], tr[1], m, n, k, gc.alpha, gc.a, gc.lda, gc.b, gc.ldb, beta, gc.want, gc.ldc)
				gc.name = fmt.Sprintf("m=%d n=%d k=%d tA=%v tB=%v beta=%v", m, n, k, tr[0], tr[1], beta)
				cases = append(cases, gc)
			}
		}
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 1))
		for _, gc := range cases {
			c, check := guarded(r, len(gc.c))
			copy(c, gc.c)
			Sgemm(gc.transA, gc.transB, gc.m, gc.n, gc.k, gc.alpha, gc.a, gc.lda, gc.b, gc.ldb, gc.beta, c, gc.ldc)
			check(t)
			compareMatrix(t, gc.name, gc.m, gc.n, c, gc.want, gc.ldc, gc.k)
		}
	})
}

// compareMatrix compares the m×n matrices got and want (stride ld), with an error bound
// for sums of k products of numbers in [-1, 1].
func compareMatrix(t *testing.T, name string, m, n int, got, want []float32, ld, k int) {
	t.Helper()
	tol := 1e-6 * float64(k+4)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			g, w := got[i*ld+j], want[i*ld+j]
			if !(math.Abs(float64(g-w)) <= tol) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, g, w)
			}
		}
		// Elements between rows (stride padding) must be untouched.
		if i < m-1 {
			for j := n; j < ld; j++ {
				if got[i*ld+j] != want[i*ld+j] && !(got[i*ld+j] != got[i*ld+j] && want[i*ld+j] != want[i*ld+j]) {
					t.Fatalf("%s: padding C[%d,%d] changed", name, i, j)
				}
			}
		}
	}
}

// refKernel returns a plain-loop micro-kernel for mr×nr tiles.
func refKernel(mr, nr int) microKernel {
	return func(k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc, rows int, alpha, beta float32) {
		for i := 0; i < rows; i++ {
			for j := 0; j < nr; j++ {
				var s float32
				for p := 0; p < k; p++ {
					s += a[i*aRow+p*aStep] * b[p*bStep+j]
				}
				if beta == 0 {
					c[i*ldc+j] = alpha * s
				} else {
					c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
				}
			}
		}
	}
}

// TestGemmDriverShapes runs the blocked driver with tile shapes and block sizes of every
// path (including AVX-512's 14×32, which this CPU may not run) and with tiny blocks so
// that every loop of the driver takes several trips and every edge case occurs.
func TestGemmDriverShapes(t *testing.T) {
	shapes := []gemmShape{
		{mr: 14, nr: 32, mc: 252, kc: 192, nc: 3072, direct: true},
		{mr: 6, nr: 16, mc: 144, kc: 256, nc: 3072, direct: true},
		{mr: 2, nr: 4, mc: 128, kc: 256, nc: 3072},
		{mr: 14, nr: 32, mc: 28, kc: 5, nc: 64, direct: true},
		{mr: 6, nr: 16, mc: 12, kc: 7, nc: 32, direct: true},
		{mr: 6, nr: 16, mc: 12, kc: 7, nc: 32},
		{mr: 3, nr: 5, mc: 6, kc: 4, nc: 10, direct: true},
	}
	r := rand.New(rand.NewPCG(11, 12))
	defer func(v float64) { parallelMinFlops = v }(parallelMinFlops)
	parallelMinFlops = 0 // split every product that has two tiles
	old := runtime.GOMAXPROCS(3)
	defer runtime.GOMAXPROCS(old)
	defer func(b, a int) { packBPanels, packAPanels = b, a }(packBPanels, packAPanels)
	for si, sh := range shapes {
		// Alternate the packing thresholds: default, always pack, never pack (in place).
		switch si % 3 {
		case 1:
			packBPanels, packAPanels = 0, 0
		case 2:
			packBPanels, packAPanels = 1<<30, 1<<30
		}
		sh.kernel = refKernel(sh.mr, sh.nr)
		im := *impls[pathGo]
		im.gemm = sh
		for _, dims := range [][3]int{{1, 1, 1}, {15, 33, 17}, {29, 65, 200}, {60, 100, 21}, {200, 50, 9}} {
			m, n, k := dims[0], dims[1], dims[2]
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, beta := range []float32{0, 1, 0.5} {
					lda, ldb, ldc := k+1, n+2, n+3
					if tr[0] {
						lda = m + 1
					}
					if tr[1] {
						ldb = k + 2
					}
					ra, rb := m, k
					if tr[0] {
						ra = k
					}
					if tr[1] {
						rb = n
					}
					a := randSlice(r, ra*lda)
					b := randSlice(r, rb*ldb)
					c := randSlice(r, (m-1)*ldc+n)
					want := append([]float32(nil), c...)
					naiveGemm(tr[0], tr[1], m, n, k, 0.75, a, lda, b, ldb, beta, want, ldc)
					for _, par := range []bool{false, true} {
						got := append([]float32(nil), c...)
						gemm(&im, par, tr[0], tr[1], m, n, k, 0.75, a, lda, b, ldb, beta, got, ldc)
						name := fmt.Sprintf("%d×%d blocks %d/%d/%d: m=%d n=%d k=%d trans=%v beta=%v par=%v",
							sh.mr, sh.nr, sh.mc, sh.kc, sh.nc, m, n, k, tr, beta, par)
						compareMatrix(t, name, m, n, got, want, ldc, k)
					}
				}
			}
		}
	}
}

// TestSgemmPackingModes runs the selected paths' real kernels with operands packed and
// read in place, on shapes with edges in every dimension.
func TestSgemmPackingModes(t *testing.T) {
	defer func(b, a int) { packBPanels, packAPanels = b, a }(packBPanels, packAPanels)
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		for _, th := range [][2]int{{0, 0}, {1 << 30, 1 << 30}, {0, 1 << 30}, {1 << 30, 0}} {
			packBPanels, packAPanels = th[0], th[1]
			for _, d := range [][3]int{{13, 35, 300}, {29, 17, 5}, {6, 16, 1}, {40, 70, 260}} {
				m, n, k := d[0], d[1], d[2]
				for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
					lda, ldb, ldc := k+3, n+1, n+2
					if tr[0] {
						lda = m + 3
					}
					if tr[1] {
						ldb = k + 1
					}
					ra, rb := m, k
					if tr[0] {
						ra = k
					}
					if tr[1] {
						rb = n
					}
					a, b := randSlice(r, ra*lda), randSlice(r, rb*ldb)
					c, check := guarded(r, (m-1)*ldc+n)
					want := append([]float32(nil), c...)
					naiveGemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0.5, want, ldc)
					Sgemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0.5, c, ldc)
					check(t)
					compareMatrix(t, fmt.Sprintf("thresholds %v m=%d n=%d k=%d trans=%v", th, m, n, k, tr), m, n, c, want, ldc, k)
				}
			}
		}
	})
}

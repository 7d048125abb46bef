package kernels

import (
	"fmt"
	"os"
)

// path is one implementation of the kernels: pure Go, AVX2+FMA or AVX-512.
type path int

const (
	pathGo path = iota
	pathAVX2
	pathAVX512
)

func (p path) String() string {
	switch p {
	case pathGo:
		return "go"
	case pathAVX2:
		return "avx2"
	case pathAVX512:
		return "avx512"
	}
	return fmt.Sprintf("path(%d)", int(p))
}

// gemmShape is the blocking of one path's GEMM: the micro-kernel computes mr×nr tiles of C;
// the driver packs mc×kc blocks of A (kept in L2) and kc×nc blocks of B (L3), and the kernel
// streams kc×nr micro-panels of B from L1.
type gemmShape struct {
	mr, nr     int
	mc, kc, nc int
	// direct says that kernel can read operands in place (any aRow, aStep, bStep), so
	// that small products can skip packing; otherwise it needs packed panels
	// (aRow = 1, aStep = mr, bStep = nr).
	direct bool
	// Optional packing routines for full panels (nil: generic Go): copyA/copyB pack
	// panels whose lines are contiguous in the source (see packCopyGo), interA/interB
	// panels that must be transposed (see packInterleaveGo). The A routines handle width
	// mr, the B routines width nr.
	copyA, copyB   func(dst, src []float32, ld, kb, panels int)
	interA, interB func(dst, src []float32, ld, kb int)
	// kernel computes one mr×nr tile and stores its first rows rows:
	// c[i*ldc+j] = alpha*Σp a[i*aRow+p*aStep]*b[p*bStep+j] + beta*c[i*ldc+j] for i < rows,
	// not reading c when beta == 0.
	kernel microKernel
}

type microKernel func(k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc, rows int, alpha, beta float32)

// impl is the table of unchecked kernels of one path. The exported functions check their
// arguments and call through the table of the selected path.
type impl struct {
	path path
	gemm gemmShape
	// tiles are the direct-convolution tile kernels (see DirectConv), gradTiles those of
	// its weight gradient (DirectWeightGrad).
	tiles      []convTile
	gradTiles  []gradTile
	transpose8 func(dst []float32, ldd int, src []float32, lds, n int)          // see transpose8Go
	copyRows   func(dst []float32, ldd int, src []float32, lds, rows, cols int) // see copyRowsGo; cols ≥ 8
	maxPoolS2  [4]poolS2Fn                                                      // indexed by window size, 2 or 3
	maxUnpool2 [2]unpool2Fn                                                     // without and with the ReLU folded in
	// dw3x3 and dw3x3Grad are the 3×3 depthwise kernels (see dw3x3Go, dw3x3GradGo); the
	// SIMD paths' take cols a positive multiple of 8 and rows > 0.
	dw3x3     func(dst, src []float32, rowOff, colOff []int, w []float32, rows, cols, ldd, lds int)
	dw3x3Grad func(dw, dout, src []float32, rowOff, colOff []int, rows, cols, ldd, lds int)
	// deinterleave splits pairs, row by row (see deinterleaveGo); the SIMD paths' take n a
	// positive multiple of 8 and rows > 0.
	deinterleave func(even, odd, src []float32, pitch, w, n, rows int)

	axpy          func(alpha float32, x, y []float32) // y += alpha*x, len(y) >= len(x)
	scale         func(alpha float32, x []float32)
	add           func(x, y []float32) // y += x, len(y) >= len(x)
	dot           func(x, y []float32) float32
	addScalar     func(b float32, x []float32)
	addScalarRelu func(b float32, x []float32)
	relu          func(x []float32)
	reluBackward  func(y, dy []float32) // len(dy) >= len(y)
	addSquares    func(alpha float32, x, y []float32)
	addProduct    func(alpha float32, x, z, y []float32)
	divPow34      func(x, sc, y []float32)
	momentum      func(eta, mu, wd float32, w, g, v []float32) // len(g), len(v) >= len(w)
	max           func(x []float32) float32
	exp           func(x []float32)
	// The kernels of batch normalization (see sumDevGo, dotDevGo, scaleShiftGo, bnGradGo).
	sumDev         func(c float32, x []float32) (sum, sq float32)
	dotDev         func(c float32, x, dy []float32) (sum, dot float32)
	scaleShift     func(a, m, b float32, x, y []float32)
	scaleShiftRelu func(a, m, b float32, x, y []float32)
	bnGrad         func(a, b, c, mean, lo float32, dy, x, dx []float32)
}

// poolS2Fn pools k×k windows with stride 2 (see maxPoolS2Go) for one k.
type poolS2Fn func(dst []float32, arg []int32, src []float32, w, n, rows, ldd, at int)

// unpool2Fn is the backward pass of 2×2 stride-2 max pooling (see maxUnpool2Go) for one
// setting of its relu.
type unpool2Fn func(din, dout, out []float32, arg []int32, w, n, rows, ldd, at int)

// impls holds the table of every path this binary and CPU support, indexed by path.
// impls[pathGo] is always set; archInit fills in the SIMD paths.
var impls [3]*impl

// cur is the selected implementation. It is chosen at init and changed only by tests.
var cur *impl

// envVar names the environment variable that forces a path at init: go, avx2 or avx512.
const envVar = "NETC_KERNELS"

func init() {
	impls[pathGo] = &goImpl
	archInit()
	best := pathGo
	for p := pathAVX512; p > pathGo; p-- {
		if impls[p] != nil {
			best = p
			break
		}
	}
	cur = impls[best]
	if v := os.Getenv(envVar); v != "" {
		want, ok := parsePath(v)
		if !ok {
			fmt.Fprintf(os.Stderr, "kernels: %s=%q is not go, avx2 or avx512; using %v\n", envVar, v, best)
			return
		}
		if got := setPath(want); got != want {
			fmt.Fprintf(os.Stderr, "kernels: %s=%s is not supported here; using %v\n", envVar, v, got)
		}
	}
}

func parsePath(s string) (path, bool) {
	switch s {
	case "go", "purego":
		return pathGo, true
	case "avx2":
		return pathAVX2, true
	case "avx512":
		return pathAVX512, true
	}
	return pathGo, false
}

// setPath selects path p if this binary and CPU support it, else the best supported path
// below it, and returns the path now in use. It must not be called while kernels run.
func setPath(p path) path {
	for ; p > pathGo && impls[p] == nil; p-- {
	}
	cur = impls[p]
	return p
}

// currentPath returns the path in use.
func currentPath() path { return cur.path }

// Path returns the name of the kernel implementation in use: "go", "avx2" or "avx512".
func Path() string { return cur.path.String() }

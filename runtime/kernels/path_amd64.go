//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// archInit registers the SIMD paths the CPU supports. The AVX-512 path needs AVX512F and
// AVX512VL (its reductions and scalar tails use EVEX-encoded XMM/YMM forms) and FMA (VEX
// scalar tails); x/sys/cpu also checks that the OS saves the wide registers.
func archInit() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		impls[pathAVX2] = &avx2Impl
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		impls[pathAVX512] = &avx512Impl
	}
}

var avx2Impl = impl{
	path: pathAVX2,
	// 6×16 tiles (12 ymm accumulators). kc=256: a 256×16 B micro-panel is 16 KiB of the
	// 32 KiB L1d; mc=144: the 144×256 A block is 144 KiB of the 512 KiB L2; nc=3072: the
	// 256×3072 B block is 3 MiB of L3.
	gemm: gemmShape{mr: 6, nr: 16, mc: 144, kc: 256, nc: 3072, direct: true, kernel: sgemmKernelAVX2,
		copyA: packCopy6, copyB: packCopy16, interA: packInterleave6, interB: packInterleave16},
	tiles: avx2Tiles, gradTiles: avx2GradTiles, transpose8: transpose8, copyRows: copyRows,
	maxPoolS2: [4]poolS2Fn{2: maxPool2s2, 3: maxPool3s2}, maxUnpool2: [2]unpool2Fn{maxUnpool2, maxUnpool2Relu},
	dw3x3: dw3x3AVX2, dw3x3Grad: dw3x3GradAVX2, deinterleave: deinterleaveAVX2,

	axpy:           axpyAVX2,
	scale:          scaleAVX2,
	add:            addAVX2,
	dot:            dotAVX2,
	addScalar:      addScalarAVX2,
	addScalarRelu:  addScalarReluAVX2,
	relu:           reluAVX2,
	reluBackward:   reluBackwardAVX2,
	addSquares:     addSquaresAVX2,
	addProduct:     addProductAVX2,
	divPow34:       divPow34AVX2,
	momentum:       momentumAVX2,
	sumDev:         sumDevAVX2,
	dotDev:         dotDevAVX2,
	scaleShift:     scaleShiftAVX2,
	scaleShiftRelu: scaleShiftReluAVX2,
	bnGrad:         bnGradAVX2,
	max:            maxAVX2,
	exp:            expAVX2,
}

// avx2Tiles are the direct-convolution tiles, with their speed relative to 6×2 on Zen 3
// (on one core, each on the shapes of cifar-small that it fills: 6×2 85-95 GFLOP/s,
// 5×2 89-93, 4×2 83-90, 10×1 81, 8×1 about 75). The narrower tiles win where they fill
// their rows and 6×2 would not: 16 filters (4×2, 8% faster than 6×2's 18 rows), 10 and
// 20 (5×2), 20 on 8-wide rows (10×1).
var avx2Tiles = []convTile{
	{r: 6, cols: 16, eff: 1, fn: convTile6x2},
	{r: 5, cols: 16, eff: 0.98, fn: convTile5x2},
	{r: 4, cols: 24, eff: 0.9, fn: convTile4x3},
	{r: 4, cols: 16, eff: 0.95, fn: convTile4x2},
	{r: 12, cols: 8, eff: 0.75, fn: convTile12x1},
	{r: 10, cols: 8, eff: 0.85, fn: convTile10x1},
	{r: 8, cols: 8, eff: 0.8, fn: convTile8x1},
}

// avx512Tiles are the direct-convolution tiles of the AVX-512 path, rated like avx2Tiles
// (on one core of a Zen 5, on the shapes of resnet20's 3×3 layers: 16×16 170-190
// GFLOP/s, 12×16 and 10×16 about 150-170 where they fill their rows, 8×16 150-165, 8×32
// 160-168 on 32-wide rows; the AVX2 tiles at most 98, so they are not among them: even
// 8-wide rows, half of a 16-wide tile, go faster on 16×16, 90 against 82).
var avx512Tiles = []convTile{
	{r: 16, cols: 16, eff: 1, fn: convTile16x1AVX512},
	{r: 12, cols: 16, eff: 0.92, fn: convTile12x1AVX512},
	{r: 10, cols: 16, eff: 0.9, fn: convTile10x1AVX512},
	{r: 8, cols: 16, eff: 0.85, fn: convTile8x1AVX512},
	{r: 8, cols: 32, eff: 0.9, fn: convTile8x2AVX512},
}

// avx2GradTiles are the weight-gradient tiles, rated like avx2Tiles
// (BenchmarkDirectWeightGrad).
var avx2GradTiles = []gradTile{
	{r: 6, v: 2, eff: 1, fn: gradTile6x2},
	{r: 4, v: 3, eff: 0.97, fn: gradTile4x3},
	{r: 4, v: 2, eff: 0.82, fn: gradTile4x2},
	{r: 8, v: 1, eff: 0.63, fn: gradTile8x1},
}

var avx512Impl = impl{
	path: pathAVX512,
	// 14×32 tiles (28 zmm accumulators). kc=192: a 192×32 B micro-panel is 24 KiB of L1d;
	// mc=252: the A block is 189 KiB of L2. Not tuned: no AVX-512 machine was available.
	gemm: gemmShape{mr: 14, nr: 32, mc: 252, kc: 192, nc: 3072, direct: true, kernel: sgemmKernelAVX512,
		copyA: packCopy14, copyB: packCopy32, interA: packInterleave14, interB: packInterleave32},
	// The AVX-512 direct-convolution tiles; the weight-gradient tiles are AVX2's (AVX-512
	// CPUs have AVX2).
	tiles: avx512Tiles, gradTiles: avx2GradTiles, transpose8: transpose8, copyRows: copyRows,
	maxPoolS2: [4]poolS2Fn{2: maxPool2s2, 3: maxPool3s2}, maxUnpool2: [2]unpool2Fn{maxUnpool2, maxUnpool2Relu},
	dw3x3: dw3x3AVX2, dw3x3Grad: dw3x3GradAVX2, deinterleave: deinterleaveAVX2,

	axpy:           axpyAVX512,
	scale:          scaleAVX512,
	add:            addAVX512,
	dot:            dotAVX512,
	addScalar:      addScalarAVX512,
	addScalarRelu:  addScalarReluAVX512,
	relu:           reluAVX512,
	reluBackward:   reluBackwardAVX512,
	addSquares:     addSquaresAVX512,
	addProduct:     addProductAVX512,
	divPow34:       divPow34AVX512,
	momentum:       momentumAVX512,
	sumDev:         sumDevAVX512,
	dotDev:         dotDevAVX512,
	scaleShift:     scaleShiftAVX512,
	scaleShiftRelu: scaleShiftReluAVX512,
	bnGrad:         bnGradAVX512,
	max:            maxAVX512,
	exp:            expAVX512,
}

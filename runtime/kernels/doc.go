// Package kernels is the numerical runtime that netc-generated networks call: float32
// GEMM, the convolution helpers around it, pooling and the vector operations of the
// optimizers and losses.
//
// # API
//
// Matrices are row-major with explicit leading dimensions (row strides); images are
// [c, h, w] per image.
//
//   - Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
//     C = alpha·op(A)·op(B) + beta·C with BLAS semantics (beta == 0 overwrites C, NaNs
//     included). Large products run on all cores; SgemmSerial never leaves the calling
//     goroutine, for callers that parallelize over a batch themselves.
//   - ParallelFor(n, body): the persistent worker pool, for other code too.
//   - Im2col, Col2im (adds): convolution as GEMM; BiasAct: per-channel bias and ReLU.
//   - DirectConv, DirectConvSerial, DirectWeightGrad, FlushDirectWeightGrad and their
//     helpers (ConvOffsets, PadInto, PackDirect, PackDirectFlipped, PackDirectGrad,
//     Changed): stride-1 convolution straight from a padded image by tile kernels.
//   - MaxPool (with argmax), MaxPoolBackward, AvgPool, AvgPoolBackward (adding);
//     MaxPoolS2 (2×2 and 3×3 windows, stride 2) and MaxUnpool2, MaxUnpool2Relu (its
//     backward pass for 2×2, writing every input gradient).
//   - AddSquares, AddProduct, DivPow34: local response normalization.
//   - MomentumStep: the update of SGD with momentum and weight decay.
//   - Axpy, Scale, Dot, Add, Max, ArgMax, Exp, Relu, ReluBackward.
//   - BenchGemm(n, dur): GFLOP/s of an n×n×n Sgemm, for `netc bench gemm N`.
//
// Exported functions check their arguments and panic on a programming error (a slice too
// short, a stride too small); they do not allocate in steady state.
//
// # Implementation paths
//
// Every kernel has three implementations with the same results up to rounding:
//
//   - avx512: AVX-512F (+VL), 16 lanes; GEMM micro-kernel 14×32 with 28 zmm accumulators;
//   - avx2: AVX2 + FMA, 8 lanes; GEMM micro-kernel 6×16 with 12 ymm accumulators;
//   - go: portable Go (generic.go, gemm_go.go), whose doc comments give the reference
//     loop of each kernel.
//
// The best path the CPU supports is chosen at init with golang.org/x/sys/cpu. The
// environment variable NETC_KERNELS=go|avx2|avx512 forces one (a path the CPU or build
// lacks falls back to the best one below it, with a warning on stderr), so that tests can
// run every path: `NETC_KERNELS=go go test ./runtime/kernels/...`. The build tag purego
// (`go test -tags purego`) compiles the pure-Go path only. Path reports the path in use.
//
// GEMM is BLIS-style: op(B) is packed in kc×nc blocks (kept in L3) of nr-wide
// micro-panels, op(A) in mc×kc blocks (L2) of mr-tall micro-panels, and an assembly
// micro-kernel computes mr×nr tiles of C with broadcast-FMA from one kc×nr micro-panel of B
// (L1). Small products read operands in place instead of packing them. Parallel products
// that split evenly run as one serial product per worker on a band of C, of columns when
// C is wider than tall (each worker packs all of op(A)), else of rows; others
// pack each block of B once, together, and split the rows (or columns) of C between
// workers, each packing its own panels of A. Packing buffers are per worker and reused.
//
// # Assembly
//
// The assembly (kernels_amd64.s) and its Go declarations (stubs_amd64.go) are generated
// by the avo program in asm/, a separate module so that this one does not depend on avo.
// Each kernel is written once in the generator and emitted for both vector widths, so the
// AVX2 and AVX-512 code are structurally the same. Regenerate after editing asm/main.go
// with
//
//	go generate ./runtime/kernels
package kernels

//go:generate go run -C asm . -out ../kernels_amd64.s -stubs ../stubs_amd64.go -pkg kernels

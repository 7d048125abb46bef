package kernels

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/netc-dev/netc/internal/limits"
)

// MaxBenchGemm is the largest n that BenchGemm takes: one 8192×8192×8192 product is 1.1
// TFLOP, seconds to tens of seconds on a few cores, and its three matrices take 768 MiB.
const MaxBenchGemm = 8192

// BenchGemm times C = A·B for n×n matrices with Sgemm (all cores, the selected path) for
// about dur after a warm-up call, and returns the rate in GFLOP/s (2·n³ flops per call).
// n must be in [1, MaxBenchGemm], and the matrices must fit in the machine's memory.
func BenchGemm(n int, dur time.Duration) (gflops float64, err error) {
	if n < 1 || n > MaxBenchGemm {
		return 0, fmt.Errorf("bench gemm %d: the size must be between 1 and %d (kernels.MaxBenchGemm)", n, MaxBenchGemm)
	}
	what := fmt.Sprintf("bench gemm %d: three matrices", n)
	if err := limits.CheckMemory(what, 3*4*limits.Product(n, n)); err != nil {
		return 0, err
	}
	r := rand.New(rand.NewPCG(uint64(n), 1))
	a := make([]float32, n*n)
	b := make([]float32, n*n)
	c := make([]float32, n*n)
	for i := range a {
		a[i] = r.Float32()*2 - 1
		b[i] = r.Float32()*2 - 1
	}
	Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm-up: pool, buffers, caches
	calls := 0
	start := time.Now()
	var elapsed time.Duration
	for {
		Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		calls++
		if elapsed = time.Since(start); elapsed >= dur {
			break
		}
	}
	return 2 * float64(n) * float64(n) * float64(n) * float64(calls) / elapsed.Seconds() / 1e9, nil
}

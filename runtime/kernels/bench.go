package kernels

import (
	"math/rand/v2"
	"time"
)

// BenchGemm times C = A·B for n×n matrices with Sgemm (all cores, the selected path) for
// about dur after a warm-up call, and returns the rate in GFLOP/s (2·n³ flops per call).
func BenchGemm(n int, dur time.Duration) (gflops float64) {
	if n <= 0 {
		return 0
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
	return 2 * float64(n) * float64(n) * float64(n) * float64(calls) / elapsed.Seconds() / 1e9
}

package kernels

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestParallelFor(t *testing.T) {
	for _, procs := range []int{1, 2, 3, 8} {
		old := runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2, 3, 7, 100, 1001} {
			hits := make([]atomic.Int32, n)
			var calls atomic.Int32
			ParallelFor(n, func(lo, hi int) {
				calls.Add(1)
				if lo >= hi {
					t.Errorf("empty chunk [%d, %d)", lo, hi)
				}
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if hits[i].Load() != 1 {
					t.Fatalf("GOMAXPROCS=%d n=%d: index %d covered %d times", procs, n, i, hits[i].Load())
				}
			}
			if c := int(calls.Load()); c > procs || (n > 0 && c != min(n, procs)) {
				t.Fatalf("GOMAXPROCS=%d n=%d: %d chunks", procs, n, c)
			}
		}
		runtime.GOMAXPROCS(old)
	}
}

// Nested and concurrent calls must neither deadlock nor lose chunks.
func TestParallelForNestedConcurrent(t *testing.T) {
	old := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(old)
	var total atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 50; rep++ {
				ParallelFor(8, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						ParallelFor(10, func(lo, hi int) { total.Add(int64(hi - lo)) })
					}
				})
			}
		}()
	}
	wg.Wait()
	if want := int64(4 * 50 * 8 * 10); total.Load() != want {
		t.Fatalf("total %d, want %d", total.Load(), want)
	}
}

// Concurrent Sgemm calls share the pool and the buffer free lists.
func TestSgemmConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	const m, n, k = 70, 90, 300
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	want := make([]float32, m*n)
	naiveGemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := make([]float32, m*n)
			for rep := 0; rep < 10; rep++ {
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				compareMatrix(t, "concurrent", m, n, c, want, n, k)
			}
		}()
	}
	wg.Wait()
}

func TestNoAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	r := rand.New(rand.NewPCG(1, 1))
	const n = 160 // large enough to run in parallel
	a, b, c := randSlice(r, n*n), randSlice(r, n*n), randSlice(r, n*n)
	body := func(lo, hi int) {}
	cases := map[string]func(){
		"Sgemm":         func() { Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) },
		"Sgemm T":       func() { Sgemm(true, true, n, n, n, 1, a, n, b, n, 1, c, n) },
		"Sgemm small":   func() { Sgemm(false, true, 17, 9, 33, 1, a, n, b, n, 0.5, c, n) },
		"SgemmSerial":   func() { SgemmSerial(false, false, n, n, n, 1, a, n, b, n, 0, c, n) },
		"ParallelFor":   func() { ParallelFor(100, body) },
		"Im2col":        func() { Im2col(a, 3, 16, 16, 3, 3, 1, 1, 1, 1, b) },
		"Exp":           func() { Exp(c[:1000]) },
		"BiasAct":       func() { BiasAct(c, a[:16], 16, 100, true) },
		"MaxPool":       func() { MaxPool(a, 4, 16, 16, 2, 2, 2, 2, b, make32) },
		"AvgPoolBwd":    func() { AvgPoolBackward(a, 4, 16, 16, 2, 2, 2, 2, b) },
		"Col2im":        func() { Col2im(b, 3, 16, 16, 3, 3, 1, 1, 1, 1, a) },
		"Dot/Axpy/Relu": func() { Axpy(Dot(a, b), a, c); Relu(c) },
	}
	forEachPath(t, func(t *testing.T) {
		for name, f := range cases {
			f() // warm up: pool, buffers
			if allocs := testing.AllocsPerRun(20, f); allocs != 0 {
				t.Errorf("%s: %v allocations per call", name, allocs)
			}
		}
	})
}

var make32 = make([]int32, 4*8*8)

func TestPathSelection(t *testing.T) {
	saved := currentPath()
	defer setPath(saved)
	for _, p := range []path{pathGo, pathAVX2, pathAVX512} {
		got := setPath(p)
		if impls[p] != nil && got != p {
			t.Errorf("setPath(%v) = %v though supported", p, got)
		}
		if impls[p] == nil && (got >= p || impls[got] == nil) {
			t.Errorf("setPath(%v) = %v, want a supported fallback below it", p, got)
		}
		if Path() != got.String() {
			t.Errorf("Path() = %q after setPath(%v)", Path(), got)
		}
	}
	for _, s := range []string{"go", "avx2", "avx512"} {
		if p, ok := parsePath(s); !ok || p.String() != s {
			t.Errorf("parsePath(%q) = %v, %v", s, p, ok)
		}
	}
	if _, ok := parsePath("sse"); ok {
		t.Error("parsePath accepted sse")
	}
}

// TestEnvVar runs this test binary again with NETC_KERNELS set and checks the path the
// child selected at init.
func TestEnvVar(t *testing.T) {
	if os.Getenv("NETC_KERNELS_CHILD") != "" {
		t.Skip()
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	for _, want := range []string{"go", "avx2", "avx512", "bogus"} {
		cmd := exec.Command(exe, "-test.run=^TestEnvChild$", "-test.v")
		cmd.Env = append(os.Environ(), envVar+"="+want, "NETC_KERNELS_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s=%s: %v\n%s", envVar, want, err, out)
		}
		expect := want
		if p, ok := parsePath(want); !ok || impls[p] == nil {
			expect = "" // a fallback: any supported path, and a warning
		}
		if expect != "" && !strings.Contains(string(out), "path="+expect+"\n") {
			t.Errorf("%s=%s: child output:\n%s", envVar, want, out)
		}
		if expect == "" && !strings.Contains(string(out), "kernels: ") {
			t.Errorf("%s=%s: no warning in child output:\n%s", envVar, want, out)
		}
	}
}

func TestEnvChild(t *testing.T) {
	if os.Getenv("NETC_KERNELS_CHILD") == "" {
		t.Skip("run by TestEnvVar")
	}
	t.Logf("path=%s\n", Path())
	os.Stdout.WriteString("path=" + Path() + "\n")
}

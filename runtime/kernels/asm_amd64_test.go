//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestAVX2RegisterSet checks the generated assembly: the AVX2 functions must run on CPUs
// without AVX-512, so they may use only X0–X15/Y0–Y15 and no Z or K registers (avo's
// register allocator would otherwise be free to pick X16–X31).
func TestAVX2RegisterSet(t *testing.T) {
	src, err := os.ReadFile("kernels_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	bad := regexp.MustCompile(`\b([XY](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b`)
	fn := ""
	n := 0
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "TEXT ") {
			fn = line
			if strings.Contains(fn, "AVX2") {
				n++
			}
			continue
		}
		if strings.Contains(fn, "AVX2") && bad.MatchString(line) {
			t.Errorf("%s uses an AVX-512 register: %s", fn, strings.TrimSpace(line))
		}
	}
	if n < 12 {
		t.Errorf("found %d AVX2 functions, want at least 12", n)
	}
}

// The packing routines are plain integer moves, so all of them, including the AVX-512
// path's widths 14 and 32, run and are checked here.
func TestPackRoutines(t *testing.T) {
	copies := map[int]func(dst, src []float32, ld, kb, panels int){6: packCopy6, 14: packCopy14, 16: packCopy16, 32: packCopy32}
	inters := map[int]func(dst, src []float32, ld, kb int){6: packInterleave6, 14: packInterleave14, 16: packInterleave16, 32: packInterleave32}
	r := rand.New(rand.NewPCG(5, 5))
	for w, f := range copies {
		for _, kb := range []int{1, 2, 7, 64} {
			for _, panels := range []int{1, 3} {
				ld := panels*w + 3
				src := randSlice(r, (kb-1)*ld+panels*w)
				want := make([]float32, panels*w*kb)
				packCopyGo(want, src, ld, kb, panels, w)
				dst, check := guarded(r, len(want))
				f(dst, src, ld, kb, panels)
				check(t)
				if !slices.Equal(dst, want) {
					t.Fatalf("packCopy%d kb=%d panels=%d differs", w, kb, panels)
				}
			}
		}
	}
	for w, f := range inters {
		for _, kb := range []int{1, 2, 7, 64} {
			ld := kb + 5
			src := randSlice(r, (w-1)*ld+kb)
			want := make([]float32, w*kb)
			packInterleaveGo(want, src, ld, kb, w, w)
			dst, check := guarded(r, len(want))
			f(dst, src, ld, kb)
			check(t)
			if !slices.Equal(dst, want) {
				t.Fatalf("packInterleave%d kb=%d differs", w, kb)
			}
		}
	}
}

// TestGemmKernel14Rows runs the generator's 14-row micro-kernel (the AVX-512 tile height)
// in its 8-lane AVX2 form through the driver, in place and packed.
func TestGemmKernel14Rows(t *testing.T) {
	if impls[pathAVX2] == nil {
		t.Skip("no AVX2")
	}
	defer func(b, a int) { packBPanels, packAPanels = b, a }(packBPanels, packAPanels)
	r := rand.New(rand.NewPCG(14, 8))
	for _, th := range [][2]int{{0, 0}, {1 << 30, 1 << 30}} {
		packBPanels, packAPanels = th[0], th[1]
		im := *impls[pathAVX2]
		im.gemm = gemmShape{mr: 14, nr: 8, mc: 28, kc: 37, nc: 24, direct: true, kernel: sgemmKernelAVX2Check14x8,
			copyA: packCopy14, interA: packInterleave14}
		for _, d := range [][3]int{{14, 8, 1}, {13, 7, 40}, {45, 50, 80}, {100, 17, 5}} {
			m, n, k := d[0], d[1], d[2]
			for _, tr := range [][2]bool{{false, false}, {true, true}, {true, false}} {
				lda, ldb, ldc := k+1, n+2, n+3
				ra, rb := m, k
				if tr[0] {
					lda, ra = m+1, k
				}
				if tr[1] {
					ldb, rb = k+2, n
				}
				a, b := randSlice(r, ra*lda), randSlice(r, rb*ldb)
				for _, beta := range []float32{0, 1, -2} {
					c := randSlice(r, (m-1)*ldc+n)
					want := append([]float32(nil), c...)
					naiveGemm(tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, beta, want, ldc)
					gemm(&im, false, tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, beta, c, ldc)
					compareMatrix(t, fmt.Sprintf("14x8 %v m=%d n=%d k=%d tr=%v beta=%v", th, m, n, k, tr, beta), m, n, c, want, ldc, k)
				}
			}
		}
	}
}

package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestAddTransposed checks addTransposed against the definition on sizes around its
// column blocks, with t's rows padded.
func TestAddTransposed(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, rows := range []int{1, 3, 16, 17} {
		for _, cols := range []int{1, 15, 16, 17, 40} {
			for _, ldt := range []int{rows, rows + 5} {
				m, tr := randSlice(r, rows*cols), randSlice(r, cols*ldt)
				want := append([]float32(nil), m...)
				for i := range rows {
					for j := range cols {
						want[i*cols+j] += tr[j*ldt+i]
					}
				}
				addTransposed(m, tr, rows, cols, ldt)
				for i := range want {
					if m[i] != want[i] {
						t.Fatalf("%d×%d, ldt %d: [%d] = %v, want %v", rows, cols, ldt, i, m[i], want[i])
					}
				}
			}
		}
	}
}

func TestAddTransposedSmall(t *testing.T) {
	m := []float32{1, 2, 3, 4, 5, 6}        // 2×3
	tr := []float32{10, 40, 20, 50, 30, 60} // 3×2, the transpose of 10·m
	AddTransposed(m, tr, 2, 3)
	want := []float32{11, 22, 33, 44, 55, 66}
	for i := range want {
		if m[i] != want[i] {
			t.Fatalf("got %v, want %v", m, want)
		}
	}
}

// BenchmarkAddTransposed adds AlexNet conv3's transposed weight gradient (2304×384), which
// does not fit in L2.
func BenchmarkAddTransposed(b *testing.B) {
	const rows, cols = 384, 2304
	m, t := make([]float32, rows*cols), make([]float32, rows*cols)
	b.SetBytes(12 * rows * cols) // reads t and m, writes m
	for b.Loop() {
		AddTransposed(m, t, rows, cols)
	}
}

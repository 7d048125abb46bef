package kernels

import "testing"

func TestAddTransposed(t *testing.T) {
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

package compiler

import "testing"

// TestPlanConv checks how conv layers are computed and that each worker's scratch (Col)
// holds what their GEMM path needs.
func TestPlanConv(t *testing.T) {
	for _, c := range []struct {
		spec       string
		direct     bool
		im2col     string
		transposed bool
		col        int // NetPlan.Col
	}{
		// Stride 1, few channels: direct, no scratch.
		{"input 3x32x32 | conv 16 5x5 pad2 | full 2 | softmax", true, "", false, 0},
		// Strided: im2col; deeper (3·9) than it has filters (2): dWᵀ.
		{"input 3x8x8 | conv 2 3x3 stride2 | full 2 | softmax", false, "unrolled", true, 3 * 9 * 3 * 3},
		// 1x1 with no padding: the input is the matrix; the 8×2 dWᵀ still needs scratch.
		{"input 8x4x4 | conv 2 1x1 | full 2 | softmax", false, "none", true, 8 * 2},
		{"input 2x4x4 | conv 8 1x1 | full 2 | softmax", false, "none", false, 0},
		// Too deep for the direct kernels (300·9 taps).
		{"input 300x6x6 | conv 4 3x3 pad1 | full 2 | softmax", false, "unrolled", true, 300 * 9 * 36},
		// Groups: one group's dWᵀ (4·9 × 2).
		{"input 8x6x6 | conv 4 3x3 stride2 g2 | full 2 | softmax", false, "unrolled", true, 8 * 9 * 4},
	} {
		net := compile(t, c.spec)
		lp := net.Layers[0].Plan
		if lp.Direct != c.direct || lp.Im2col != c.im2col || lp.TransposedWeightGrad != c.transposed || net.Plan.Col != c.col {
			t.Errorf("%s: direct %v, im2col %q, transposed %v, col %d; want %v, %q, %v, %d",
				c.spec, lp.Direct, lp.Im2col, lp.TransposedWeightGrad, net.Plan.Col, c.direct, c.im2col, c.transposed, c.col)
		}
	}
}

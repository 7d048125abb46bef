package compiler

import (
	"reflect"
	"testing"
)

// TestPlanConv checks how conv layers are computed and that each worker's scratch (Col)
// holds what their GEMM path needs.
func TestPlanConv(t *testing.T) {
	for _, c := range []struct {
		spec       string
		algo       ConvAlgo
		transposed bool
		col        int // NetPlan.Col
	}{
		// Stride 1, few channels: direct, no scratch.
		{"input 3x32x32 | conv 16 5x5 pad2 | full 2 | softmax", ConvDirect, false, 0},
		// Strided: im2col; deeper (3·9) than it has filters (2): dWᵀ.
		{"input 3x8x8 | conv 2 3x3 stride2 | full 2 | softmax", ConvUnrolled, true, 3 * 9 * 3 * 3},
		// 1x1 with no padding: the input is the matrix; the 8×2 dWᵀ still needs scratch.
		{"input 8x4x4 | conv 2 1x1 | full 2 | softmax", ConvPointwise, true, 8 * 2},
		{"input 2x4x4 | conv 8 1x1 | full 2 | softmax", ConvPointwise, false, 0},
		// Too deep for the direct kernels (300·9 taps).
		{"input 300x6x6 | conv 4 3x3 pad1 | full 2 | softmax", ConvUnrolled, true, 300 * 9 * 36},
		// Groups: one group's dWᵀ (4·9 × 2).
		{"input 8x6x6 | conv 4 3x3 stride2 g2 | full 2 | softmax", ConvUnrolled, true, 8 * 9 * 4},
	} {
		net := compile(t, c.spec)
		lp := net.Layers[0].Plan
		if lp.Conv != c.algo || lp.TransposedWeightGrad != c.transposed || net.Plan.Col != c.col {
			t.Errorf("%s: algorithm %d, transposed %v, col %d; want %d, %v, %d",
				c.spec, lp.Conv, lp.TransposedWeightGrad, net.Plan.Col, c.algo, c.transposed, c.col)
		}
	}
}

// TestPlanIdempotent checks that planning again gives the same plan: the plan is a
// function of the checked network, not of an earlier plan (a second call used to double
// the workspace).
func TestPlanIdempotent(t *testing.T) {
	for _, spec := range []string{
		"input 3x32x32 | conv 16 5x5 pad2 | relu | pool max 2x2 s2 | conv 20 5x5 pad2 | relu | pool max 2x2 s2 | full 10 | softmax",
		"input 3x8x8 | conv 2 3x3 stride2 | norm | dropout 0.5 | full 2 | relu | full 3 | svm",
	} {
		net := compile(t, spec)
		first := net.Plan
		again := plan(net)
		if !reflect.DeepEqual(first, again) {
			t.Errorf("%s: planning again gives\n%+v\nwant\n%+v", spec, again, first)
		}
		net.setPlan()
		if !reflect.DeepEqual(first, net.Plan) || net.Layers[0].Plan != &net.Plan.Layers[0] {
			t.Errorf("%s: setPlan again changed the plan or left layers pointing at the old one", spec)
		}
	}
}

// TestPlanChoices checks the kernel choices the plan makes for pooling, ReLU folding and
// LRN, which the generator only follows.
func TestPlanChoices(t *testing.T) {
	net := compile(t, "input 3x16x16 | conv 4 3x3 pad1 | relu | pool max 2x2 s2 | pool max 3x3 s1 | "+
		"pool avg 2x2 s2 | norm beta0.75 | norm beta0.5 | full 2 | softmax")
	want := []struct {
		pool               PoolKernel
		folded, folds, p34 bool
	}{
		{folded: true}, {}, {pool: PoolMaxS2, folds: true}, {pool: PoolUnrolled}, {pool: PoolUnrolled},
		{p34: true}, {}, {}, {},
	}
	for i, w := range want {
		lp := net.Layers[i].Plan
		if lp.Pool != w.pool || lp.ReLUFolded != w.folded || lp.FoldsReLU != w.folds || lp.LRNPow34 != w.p34 {
			t.Errorf("layer %s: pool %d, relu folded %v, folds relu %v, pow34 %v; want %+v",
				net.Layers[i].Name, lp.Pool, lp.ReLUFolded, lp.FoldsReLU, lp.LRNPow34, w)
		}
	}
}

package reference

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/runtime/nn"
)

// analytic returns the reference's own gradients of prob in float32, as generated code
// would hand them to GradCheck.
func analytic(t *testing.T, net *compiler.Net, prob Problem, opt CheckOptions) (grads, inputGrad []float32) {
	t.Helper()
	rng := nn.RNG{State: opt.RNGState}
	res, err := Run(net, prob.Params, prob.X, prob.Batch, prob.Labels, prob.Targets, opt.Train, &rng)
	if err != nil {
		t.Fatal(err)
	}
	narrow := func(v []float64) []float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return f
	}
	return narrow(res.DParams), narrow(res.DInput)
}

// TestGradCheckPasses checks every gradient case's float32-rounded reference gradients:
// each learned tensor and the input get a row, and none fails.
func TestGradCheckPasses(t *testing.T) {
	for _, tc := range gradCases {
		t.Run(tc.name, func(t *testing.T) {
			net := compile(t, tc.spec)
			opt := CheckOptions{Train: tc.train, RNGState: 7, Samples: 8, Seed: 3}
			prob, _, err := Draw(net, 2, tc.targets, tc.train, 1e-4, 1, opt.RNGState, 200)
			if err != nil {
				t.Fatal(err)
			}
			grads, inputGrad := analytic(t, net, prob, opt)
			rows, err := GradCheck(net, prob, opt, grads, inputGrad)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(learned(net)) + 1; len(rows) != want {
				t.Fatalf("%d rows, want %d (every learned tensor and the input)", len(rows), want)
			}
			for _, r := range rows {
				if Verdict(r.MaxErr) != "ok" || r.Checked != min(r.Tensor.Size, opt.Samples) {
					t.Errorf("%s: %d of %d checked, max relative error %.3g (analytic %g, numerical %g)",
						r.Tensor.Name, r.Checked, r.Tensor.Size, r.MaxErr, r.Analytic, r.Numeric)
				}
			}
		})
	}
}

// TestGradCheckCatchesWrongGradients corrupts the correct gradients the way backward
// passes go wrong, and checks that the check gives the corrupted tensor, and only it, a
// verdict other than ok: WRONG, which fails, or for a gradient 1% off, suspect.
func TestGradCheckCatchesWrongGradients(t *testing.T) {
	net := compile(t, "input 2x6x6\nconv 4 3x3 p1 | relu | pool max 2x2 | conv 3 2x2 nobias | bn | tanh | full 3 | softmax")
	opt := CheckOptions{Train: true, RNGState: 7, Samples: 1000, Seed: 3}
	prob, _, err := Draw(net, 2, false, true, 1e-4, 1, opt.RNGState, 200)
	if err != nil {
		t.Fatal(err)
	}
	tensor := func(name string) compiler.Tensor {
		i := slices.IndexFunc(net.Tensors(), func(t compiler.Tensor) bool { return t.Name == name })
		if i < 0 {
			t.Fatalf("no tensor %s", name)
		}
		return net.Tensors()[i]
	}
	for _, c := range []struct {
		name, tensor, verdict string
		corrupt               func(g []float32)
	}{
		// A kernel applied unflipped, as a correlation's gradient taken for a convolution's.
		{"flipped kernel", "conv1.weight", "WRONG", func(g []float32) { slices.Reverse(g[:9]) }},
		// A bias gradient not divided by the batch.
		{"sum for mean", "conv1.bias", "WRONG", func(g []float32) {
			for i := range g {
				g[i] *= 2
			}
		}},
		// One term of a sum left out: 1% off.
		{"one percent", "conv2.weight", "suspect", func(g []float32) {
			for i := range g {
				g[i] *= 1.01
			}
		}},
		{"sign", "bn1.bias", "WRONG", func(g []float32) { g[1] = -g[1] }},
		{"zero input gradient", "input", "WRONG", func(g []float32) { clear(g) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			grads, inputGrad := analytic(t, net, prob, opt)
			if c.tensor == "input" {
				c.corrupt(inputGrad)
			} else {
				tt := tensor(c.tensor)
				c.corrupt(grads[tt.Offset : tt.Offset+tt.Size])
			}
			rows, err := GradCheck(net, prob, opt, grads, inputGrad)
			if err != nil {
				t.Fatal(err)
			}
			var table bytes.Buffer
			if err := WriteCheckTable(&table, net, rows); err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				want := "ok"
				if r.Tensor.Name == c.tensor {
					want = c.verdict
				}
				if got := Verdict(r.MaxErr); got != want || r.Failed() != (want == "WRONG") {
					t.Errorf("%s: %s (failed %v) with max relative error %.3g, want %s\n%s", r.Tensor.Name, got, r.Failed(), r.MaxErr, want, &table)
				}
			}
			if !strings.Contains(table.String(), c.verdict) {
				t.Errorf("the table does not say %s:\n%s", c.verdict, &table)
			}
		})
	}
}

// TestGradCheckTable checks the table's columns and verdicts.
func TestGradCheckTable(t *testing.T) {
	net := compile(t, "input 1x3x3\nconv 2 2x2 | relu | full 2 | softmax")
	ts := net.Tensors()
	rows := []CheckRow{
		{Tensor: ts[0], Checked: 8, MaxErr: 3e-7, Analytic: 0.5, Numeric: 0.5},
		{Tensor: ts[1], Checked: 2, MaxErr: 2e-3, Analytic: 0.2, Numeric: 0.2004},
		{Tensor: ts[2], Checked: 8, MaxErr: 0.5, Analytic: 1, Numeric: 2},
		{Tensor: compiler.Tensor{Name: "input", Layer: -1, Size: 9}, Checked: 9, MaxErr: 1e-5},
	}
	var b bytes.Buffer
	if err := WriteCheckTable(&b, net, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want a header and 4 rows:\n%s", len(lines), &b)
	}
	for i, want := range [][]string{
		{"layer", "tensor", "max rel. error", "verdict"},
		{"conv1 (line 2)", "conv", "conv1.weight", "8/8", "3.00e-07", "ok"},
		{"conv1.bias", "2/2", "2.00e-03", "suspect"},
		{"full1 (line 2)", "full1.weight", "5.00e-01", "WRONG"},
		{"input", "9/9", "1.00e-05", "ok"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	for _, c := range []struct {
		err  float64
		want string
	}{{0, "ok"}, {ErrSuspect, "ok"}, {2 * ErrSuspect, "suspect"}, {ErrWrong, "suspect"}, {0.02, "WRONG"}, {math.NaN(), "WRONG"}} {
		if got := Verdict(c.err); got != c.want {
			t.Errorf("Verdict(%g) = %s, want %s", c.err, got, c.want)
		}
	}
}

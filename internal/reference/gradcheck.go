package reference

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/runtime/nn"
)

// The thresholds of a gradient check on the relative error |a − n| / max(|a|, |n|) of an
// analytic gradient a against a numerical one n, after the lecture: above ErrWrong the
// gradient is most likely wrong; between ErrSuspect and ErrWrong it should make one
// uncomfortable; below ErrSuspect it is right within what float32 arithmetic allows (in
// float64 on both sides, 1e-7 and less would be expected).
const (
	ErrWrong   = 1e-2
	ErrSuspect = 1e-4
)

// Verdict names the band of the thresholds a relative error falls in: "ok", "suspect" or
// "WRONG".
func Verdict(err float64) string {
	switch {
	case err > ErrWrong || math.IsNaN(err):
		return "WRONG"
	case err > ErrSuspect:
		return "suspect"
	}
	return "ok"
}

// CheckOptions set up a gradient check.
type CheckOptions struct {
	// Train runs the forward pass in training mode, dropout masks drawn from
	// nn.RNG{State: RNGState} and batch norms on the batch's statistics.
	Train    bool
	RNGState uint64
	// Samples is how many entries of each tensor (and of the input) are checked, drawn
	// with Seed; a tensor with fewer entries is checked whole.
	Samples int
	Seed    uint64
	// Step is the central difference's h (default 1e-5).
	Step float64
}

// CheckRow is the result of a gradient check for one tensor: a parameter tensor, or the
// input (Tensor.Name "input", Tensor.Layer -1).
type CheckRow struct {
	Tensor  compiler.Tensor
	Checked int
	// MaxErr is the largest relative error among the checked entries, at entry Worst
	// (an index into the tensor), where the gradients were Analytic and Numeric.
	MaxErr            float64
	Worst             int
	Analytic, Numeric float64
}

// GradCheck compares analytic gradients computed for prob (grads laid out as the
// network's parameters, inputGrad as the input) with central differences of the float64
// reference's loss, on opt.Samples entries of every learned tensor and of the input, and
// returns a row per tensor in the order of the parameters, the input last.
//
// The perturbed passes keep the choices of the unperturbed one at the ReLUs and max
// pools (compiler.Ref.Branches): a network of any size has inputs of its ReLUs within a
// step's reach of 0, and a central difference across such a kink measures the slopes of
// both sides. The analytic gradient is that of the side the unperturbed pass is on, and
// so is the central difference of the function that stays on it. (An SVM loss's hinges
// are not held: Draw keeps the data away from them.)
//
// The relative error of an entry is |a − n| / max(|a|, |n|, f), where the floor f is
// 1e-3 times the tensor's largest analytic gradient, and at least 1e-6: an entry a
// thousand times smaller than its tensor's largest carries float32 rounding of that size,
// a gradient below 1e-6 of a loss of order 1 is mostly rounding on both sides (the
// central difference's own is about 1e-11), and without the floor the error would
// measure that rounding, not the gradient.
func GradCheck(net *compiler.Net, prob Problem, opt CheckOptions, grads, inputGrad []float32) ([]CheckRow, error) {
	if err := validate(net, len(prob.Params), len(prob.X), prob.Batch, prob.Labels, len(prob.Targets), prob.Targets != nil, opt.Train, true); err != nil {
		return nil, err
	}
	if len(grads) != len(prob.Params) || len(inputGrad) != len(prob.X) {
		return nil, fmt.Errorf("reference: %d parameter and %d input gradients, want %d and %d",
			len(grads), len(inputGrad), len(prob.Params), len(prob.X))
	}
	if opt.Step == 0 {
		opt.Step = 1e-5
	}
	var targets []float64
	if prob.Targets != nil {
		targets = widen(prob.Targets)
	}
	p := &pass{net: net, params: widen(prob.Params), batch: prob.Batch, train: opt.Train}
	x := widen(prob.X)
	rng := nn.RNG{State: opt.RNGState}
	p.rng = &rng
	p.forward(x)
	p.frozen = true
	loss := func(from int) float64 {
		p.forwardFrom(x, from)
		l, _ := lossForward(net.Loss(), p.scores(), compiler.LossArgs{Batch: prob.Batch, Labels: prob.Labels, Targets: targets})
		return l
	}
	pick := nn.NewRNG(opt.Seed)
	var rows []CheckRow
	// Later layers first: a perturbed parameter of layer k leaves the outputs of the
	// layers after k stale, and every later check recomputes from its own layer, which
	// is earlier or the same.
	tensors := learned(net)
	slices.SortStableFunc(tensors, func(a, b compiler.Tensor) int { return cmp.Compare(b.Layer, a.Layer) })
	for _, t := range tensors {
		rows = append(rows, checkTensor(t, p.params[t.Offset:t.Offset+t.Size], grads[t.Offset:t.Offset+t.Size],
			opt, &pick, func() float64 { return loss(t.Layer) }))
	}
	in := compiler.Tensor{Name: "input", Layer: -1, Size: len(x), Shape: []int{prob.Batch, net.Input.C, net.Input.H, net.Input.W}}
	rows = append(rows, checkTensor(in, x, inputGrad, opt, &pick, func() float64 { return loss(0) }))
	slices.SortStableFunc(rows[:len(rows)-1], func(a, b CheckRow) int { return cmp.Compare(a.Tensor.Offset, b.Tensor.Offset) })
	return rows, nil
}

// learned lists the network's learned tensors (buffers have no gradient).
func learned(net *compiler.Net) []compiler.Tensor {
	var ts []compiler.Tensor
	for _, t := range net.Tensors() {
		if !t.Buffer {
			ts = append(ts, t)
		}
	}
	return ts
}

// checkTensor checks opt.Samples entries of one tensor, whose values v the loss reads and
// whose analytic gradient is a, by central differences of loss.
func checkTensor(t compiler.Tensor, v []float64, a []float32, opt CheckOptions, pick *nn.RNG, loss func() float64) CheckRow {
	var scale float64
	for _, g := range a {
		scale = math.Max(scale, math.Abs(float64(g)))
	}
	floor := math.Max(1e-3*scale, 1e-6)
	row := CheckRow{Tensor: t}
	for _, i := range sample(len(v), opt.Samples, pick) {
		old := v[i]
		v[i] = old + opt.Step
		up := loss()
		v[i] = old - opt.Step
		down := loss()
		v[i] = old
		n, an := (up-down)/(2*opt.Step), float64(a[i])
		err := math.Abs(an-n) / math.Max(math.Max(math.Abs(an), math.Abs(n)), floor)
		if row.Checked == 0 || err > row.MaxErr || math.IsNaN(err) {
			row.MaxErr, row.Worst, row.Analytic, row.Numeric = err, i, an, n
		}
		row.Checked++
	}
	return row
}

// sample returns k distinct indices in [0, n) drawn by rng, in increasing order, or all of
// them when k >= n.
func sample(n, k int, rng *nn.RNG) []int {
	if k >= n {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	chosen := map[int]bool{}
	for len(chosen) < k {
		chosen[rng.Intn(n)] = true
	}
	idx := make([]int, 0, k)
	for i := range chosen {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	return idx
}

// Failed reports whether a row's error is above ErrWrong (or NaN). An error between
// ErrSuspect and ErrWrong is suspect, not failed: in a deep network float32 rounding
// builds up to such errors in the first layers (about 1e-3 in ResNet-20's), as the
// lecture warns.
func (r CheckRow) Failed() bool { return Verdict(r.MaxErr) == "WRONG" }

// WriteCheckTable writes rows as a table, one line per tensor with its layer's kind and
// position, its largest relative error and the thresholds' verdict.
func WriteCheckTable(w io.Writer, net *compiler.Net, rows []CheckRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tkind\ttensor\tchecked\tmax rel. error\tanalytic\tnumerical\tverdict\t")
	for _, r := range rows {
		layer, kind := "", "input"
		if r.Tensor.Layer >= 0 {
			l := net.Layers[r.Tensor.Layer]
			layer, kind = fmt.Sprintf("%s (line %d)", l.Name, l.Pos.Line), string(l.Kind)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%.2e\t%.6g\t%.6g\t%s\t\n", layer, kind, r.Tensor.Name, r.Checked, r.Tensor.Size,
			r.MaxErr, r.Analytic, r.Numeric, Verdict(r.MaxErr))
	}
	return tw.Flush()
}

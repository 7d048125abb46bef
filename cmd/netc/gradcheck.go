package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/internal/reference"
	"github.com/netc-dev/netc/runtime/cli"
	"github.com/netc-dev/netc/runtime/safetensors"
)

func init() {
	register(command{"gradcheck", "check the generated backward pass against numerical gradients", runGradcheck})
}

const gradcheckUsage = `usage: netc gradcheck SPEC [-batch N] [-samples K] [-seed S] [-eval]

Gradcheck compares the gradients of the spec's generated backward pass with central
differences of the loss, (L(w+h) − L(w−h)) / 2h with h = 1e-5, computed in float64 by
netc's reference implementation of every layer. It draws random parameters, a batch of
random inputs and labels (from seed S on, until no ReLU input, max-pool tie or hinge
comes within 1e-4 of a kink and every learned layer gets gradients), runs one forward
and backward pass in the spec's program (in training mode: dropout masks, batch norms on
the batch's statistics; -eval for evaluation mode), and checks K random entries of
every parameter tensor and of the input.

It prints a table, one row per tensor with its layer: the largest relative error
|a − n| / max(|a|, |n|) among the entries checked (with a floor of 1e-3 of the tensor's
largest gradient, and 1e-6, below which float32 rounding is all there is to measure), the
analytic and numerical gradients where it is largest, and a verdict after the lecture's
thresholds: above 1e-2 the gradient is WRONG; between 1e-4 and 1e-2 it is suspect; below
1e-4 it is ok (float32 gradients can do no better than about 1e-7). netc gradcheck exits
with status 1 when a tensor is WRONG. Suspect ones are listed: in a deep network float32
rounding builds up to such errors in the first layers (ResNet-20 shows up to about 1e-3),
but a gradient 1% off shows so too; check again with another -seed and more -samples.

Where a step of the central difference would cross a kink (a ReLU input near 0, a tie in
a max pool), the perturbed passes keep the unperturbed pass's choices, so that both sides
measure the piece of the function that the analytic gradient is the slope of.

The reference's passes are plain loops: on a large network, check fewer entries (-samples).

flags:
`

// gradcheckMinKink is how far from a kink the data's forward pass must stay, and
// gradcheckTries how many seeds netc gradcheck tries to find such data: a large network
// has hundreds of thousands of ReLU inputs, and a few of them are always within 1e-4 of 0.
const (
	gradcheckMinKink = 1e-6
	gradcheckTries   = 100
)

func runGradcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gradcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, gradcheckUsage); fs.PrintDefaults() }
	batch := fs.Int("batch", 2, "images in the batch (2 or more splits it over the workers)")
	samples := fs.Int("samples", 10, "entries of each tensor to check")
	seed := fs.Uint64("seed", 1, "first seed of the random data")
	eval := fs.Bool("eval", false, "check evaluation mode (no dropout, batch norms on running statistics)")
	i := specIndex(args)
	if i < 0 {
		fs.Usage()
		return 2
	}
	if err := fs.Parse(slices.Concat(args[:i], args[i+1:])); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *batch < 1 || *samples < 1 {
		fmt.Fprintln(stderr, "netc: gradcheck: -batch and -samples must be positive, and SPEC comes alone")
		return 2
	}
	net, ok := loadSpec(args[i], stderr)
	if !ok {
		return 1
	}
	opt := reference.CheckOptions{Train: !*eval, RNGState: *seed, Samples: *samples, Seed: *seed}
	prob, used, err := reference.Draw(net, *batch, false, opt.Train, gradcheckMinKink, *seed, opt.RNGState, gradcheckTries)
	if err != nil {
		fmt.Fprintf(stderr, "netc: gradcheck: %v; try another -seed or -batch\n", err)
		return 1
	}
	grads, inputGrad, status := programGradients(net, prob, opt, stderr)
	if status != 0 {
		return status
	}
	rows, err := reference.GradCheck(net, prob, opt, grads, inputGrad)
	if err != nil {
		fmt.Fprintf(stderr, "netc: gradcheck: %v\n", err)
		return 1
	}
	mode := "training"
	if *eval {
		mode = "evaluation"
	}
	fmt.Fprintf(stdout, "gradient check of %s: batch %d in %s mode (data seed %d), up to %d entries per tensor,\n"+
		"central differences with h = %g in float64\n\n", net.Path, *batch, mode, used, *samples, 1e-5)
	if err := reference.WriteCheckTable(stdout, net, rows); err != nil {
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return 1
	}
	return gradcheckVerdict(rows, stdout)
}

// gradcheckVerdict prints the check's last line and returns the exit status: 1 if a row
// failed.
func gradcheckVerdict(rows []reference.CheckRow, w io.Writer) int {
	worst := rows[0]
	for _, r := range rows {
		if r.MaxErr > worst.MaxErr || math.IsNaN(r.MaxErr) {
			worst = r
		}
	}
	var failed, suspect []string
	for _, r := range rows {
		switch reference.Verdict(r.MaxErr) {
		case "WRONG":
			failed = append(failed, r.Tensor.Name)
		case "suspect":
			suspect = append(suspect, r.Tensor.Name)
		}
	}
	fmt.Fprintln(w)
	if len(suspect) > 0 {
		fmt.Fprintf(w, "suspect (between %g and %g): %s\n", reference.ErrSuspect, reference.ErrWrong, strings.Join(suspect, ", "))
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "FAIL: %d of %d tensors above %g: %s (largest error %.2e, %s)\n",
			len(failed), len(rows), reference.ErrWrong, strings.Join(failed, ", "), worst.MaxErr, worst.Tensor.Name)
		return 1
	}
	fmt.Fprintf(w, "ok: no gradient above %g (largest error %.2e, %s)\n", reference.ErrWrong, worst.MaxErr, worst.Tensor.Name)
	return 0
}

// programGradients runs the spec's program on prob and returns its gradients of the
// parameters and of the input; a non-zero status means it failed and said why.
func programGradients(net *compiler.Net, prob reference.Problem, opt reference.CheckOptions, stderr io.Writer) (grads, inputGrad []float32, status int) {
	dir, err := os.MkdirTemp("", "netc-gradcheck-")
	if err != nil {
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return nil, nil, 1
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "problem.safetensors"), filepath.Join(dir, "gradients.safetensors")
	labels := make([]float32, len(prob.Labels))
	for i, y := range prob.Labels {
		labels[i] = float32(y)
	}
	shape := []int{prob.Batch, net.Input.C, net.Input.H, net.Input.W}
	err = safetensors.WriteFile(in, []safetensors.Tensor{
		safetensors.Float32Tensor(cli.GradientsParams, []int{len(prob.Params)}, prob.Params),
		safetensors.Float32Tensor(cli.GradientsInput, shape, prob.X),
		safetensors.Float32Tensor(cli.GradientsLabels, []int{prob.Batch}, labels),
	}, map[string]string{cli.GradientsRNGState: strconv.FormatUint(opt.RNGState, 10), cli.GradientsTrain: strconv.FormatBool(opt.Train)})
	if err != nil {
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return nil, nil, 1
	}
	if status := runProgram(net, "gradients", []string{"-in", in, "-out", out}, io.Discard, stderr); status != 0 {
		return nil, nil, status
	}
	f, err := safetensors.ReadFile(out)
	if err == nil {
		grads, err = f.Float32(cli.GradientsGrads, []int{len(prob.Params)})
	}
	if err == nil {
		inputGrad, err = f.Float32(cli.GradientsInputGrad, shape)
	}
	if err != nil {
		fmt.Fprintf(stderr, "netc: reading the program's gradients: %v\n", err)
		return nil, nil, 1
	}
	return grads, inputGrad, 0
}

package cli

import (
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/safetensors"
)

// The tensors and metadata of the files the gradients subcommand reads and writes.
const (
	GradientsParams    = "params"     // in: every parameter and buffer, flat
	GradientsInput     = "input"      // in: batch × C × H × W
	GradientsLabels    = "labels"     // in: one class per image, as float32
	GradientsRNGState  = "rng_state"  // in, metadata: the dropout RNG's state, decimal
	GradientsTrain     = "train"      // in, metadata: "true" for training mode
	GradientsGrads     = "grads"      // out: the parameters' gradients, flat
	GradientsInputGrad = "input_grad" // out: the input's gradient
	GradientsLoss      = "loss"       // out: the batch's mean loss, one value
)

// gradientsMain is the program's side of netc gradcheck: it reads the parameters, a
// batch of inputs and their labels from the safetensors file of -in, runs one forward
// pass (in training mode if the file says so, with dropout masks from its RNG state) and
// the backward pass, and writes the gradients of the parameters and of the input, and
// the loss, to the file of -out. netc compares them with central differences of its
// float64 reference, which is not part of the program.
func gradientsMain(newNet func(seed uint64) nn.Network, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gradients", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "safetensors `file` with params, input and labels")
	out := fs.String("out", "", "safetensors `file` to write grads, input_grad and loss to")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: gradients -in FILE -out FILE")
		return 2
	}
	if err := gradients(newNet(1), *in, *out); err != nil {
		fmt.Fprintf(stderr, "gradients: %v\n", err)
		return 1
	}
	return 0
}

// gradients runs one forward and backward pass of net on the problem in file in and
// writes its gradients to file out.
func gradients(net nn.Network, in, out string) error {
	f, err := safetensors.ReadFile(in)
	if err != nil {
		return err
	}
	info := net.Info()
	params, err := f.Float32(GradientsParams, []int{len(net.Params())})
	if err != nil {
		return err
	}
	labelsT, ok := f.Tensor(GradientsLabels)
	if !ok || len(labelsT.Shape) != 1 || labelsT.Shape[0] < 1 {
		return fmt.Errorf("%s: no %s tensor of one dimension", in, GradientsLabels)
	}
	batch := labelsT.Shape[0]
	x, err := f.Float32(GradientsInput, []int{batch, info.InC, info.InH, info.InW})
	if err != nil {
		return err
	}
	labelValues, err := f.Float32(GradientsLabels, []int{batch})
	if err != nil {
		return err
	}
	labels := make([]int32, batch)
	for i, v := range labelValues {
		if v != float32(int32(v)) || v < 0 || int(v) >= info.Outputs {
			return fmt.Errorf("%s: label %v of image %d is not a class in [0, %d)", in, v, i, info.Outputs)
		}
		labels[i] = int32(v)
	}
	meta := f.Metadata()
	state, err := strconv.ParseUint(meta[GradientsRNGState], 10, 64)
	if err != nil {
		return fmt.Errorf("%s: metadata %s: %v", in, GradientsRNGState, err)
	}
	copy(net.Params(), params)
	ws := net.NewWorkspace(batch)
	ws.RNG = nn.RNG{State: state}
	net.Forward(ws, x, meta[GradientsTrain] == "true")
	loss := net.Backward(ws, labels)
	return safetensors.WriteFile(out, []safetensors.Tensor{
		safetensors.Float32Tensor(GradientsGrads, []int{len(net.Grads())}, net.Grads()),
		safetensors.Float32Tensor(GradientsInputGrad, []int{batch, info.InC, info.InH, info.InW}, ws.InputGrad),
		safetensors.Float32Tensor(GradientsLoss, []int{1}, []float32{loss}),
	}, nil)
}

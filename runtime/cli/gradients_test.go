package cli

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/safetensors"
)

// TestGradients runs the gradients subcommand on a file of parameters, inputs and labels
// and checks that it writes what a forward and backward pass of the network computes.
func TestGradients(t *testing.T) {
	const batch = 3
	net := newLenet(5)
	info := net.Info()
	rng := nn.NewRNG(9)
	x := make([]float32, batch*info.InputSize())
	for i := range x {
		x[i] = rng.Float32()
	}
	labels := []int32{3, 0, 9}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
	err := safetensors.WriteFile(in, []safetensors.Tensor{
		safetensors.Float32Tensor(GradientsParams, []int{len(net.Params())}, net.Params()),
		safetensors.Float32Tensor(GradientsInput, []int{batch, info.InC, info.InH, info.InW}, x),
		safetensors.Float32Tensor(GradientsLabels, []int{batch}, []float32{3, 0, 9}),
	}, map[string]string{GradientsRNGState: "77", GradientsTrain: "true"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	// The program's own network starts from other parameters (seed 1): the file's count.
	if status := Run(newLenet, []string{"gradients", "-in", in, "-out", out}, &stdout, &stderr); status != 0 {
		t.Fatalf("status %d: %s", status, &stderr)
	}
	ws := net.NewWorkspace(batch)
	ws.RNG = nn.RNG{State: 77}
	net.Forward(ws, x, true)
	loss := net.Backward(ws, labels)

	f, err := safetensors.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want []float32
	}{
		{GradientsGrads, net.Grads()},
		{GradientsInputGrad, ws.InputGrad},
		{GradientsLoss, []float32{loss}},
	} {
		tensor, ok := f.Tensor(c.name)
		if !ok {
			t.Fatalf("no %s in the output", c.name)
		}
		got, err := f.Float32(c.name, tensor.Shape)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s differs from the network's own pass", c.name)
		}
	}
}

// TestGradientsBadInput: a file with a label out of range or no RNG state is an error.
func TestGradientsBadInput(t *testing.T) {
	net := newLenet(1)
	info := net.Info()
	dir := t.TempDir()
	for _, c := range []struct {
		name   string
		labels []float32
		meta   map[string]string
		want   string
	}{
		{"label range", []float32{10}, map[string]string{GradientsRNGState: "1"}, "label 10 of image 0 is not a class in [0, 10)"},
		{"fraction", []float32{1.5}, map[string]string{GradientsRNGState: "1"}, "label 1.5 of image 0"},
		{"rng state", []float32{1}, nil, "metadata rng_state"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := filepath.Join(dir, c.name+".safetensors")
			err := safetensors.WriteFile(in, []safetensors.Tensor{
				safetensors.Float32Tensor(GradientsParams, []int{len(net.Params())}, net.Params()),
				safetensors.Float32Tensor(GradientsInput, []int{1, info.InC, info.InH, info.InW}, make([]float32, info.InputSize())),
				safetensors.Float32Tensor(GradientsLabels, []int{1}, c.labels),
			}, c.meta)
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			status := Run(newLenet, []string{"gradients", "-in", in, "-out", filepath.Join(dir, "out")}, &stdout, &stderr)
			if status != 1 || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("status %d, stderr %q; want 1 and %q", status, &stderr, c.want)
			}
		})
	}
}

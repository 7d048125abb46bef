package gen

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/pytorch"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/train"
	"github.com/netc-dev/netc/runtime/train/settings"
	"github.com/netc-dev/netc/runtime/weights"
)

// exportCase is one network of TestPyTorchExport: a golden package and, maybe, settings
// that override its spec's [train] section.
type exportCase struct {
	net      goldenNet
	name     string
	override map[string]string
}

// TestPyTorchExport exports every golden network with netc export's package
// (--format pytorch), loads netc's weights into it with strict=True and compares, on the
// same inputs, its scores in evaluation mode with netc's, then one training step — the
// loss, every gradient, and the weights and running statistics after train.py's
// optimizer — within 1e-4 relative (gen/testdata/pytorch_step.py, one Python process
// for all). Dropout uses the mask netc draws. Each spec's own [train] recipe is used,
// and a few small networks are also stepped with the other optimizers and
// regularizers, so that train.py's reading of them is tested too. The module's state
// after the step, written by netc_support.py, must load into netc as it is. The largest
// relative difference seen is logged.
func TestPyTorchExport(t *testing.T) {
	if testing.Short() {
		t.Skip("PyTorch's side takes a while; make test's first pass runs it")
	}
	needTorch(t)
	var cases []exportCase
	for _, g := range goldenNets {
		cases = append(cases, exportCase{net: g, name: g.pkg})
	}
	variants := []map[string]string{
		{"optimizer": "adamw", "l2": "0.05", "l1": "1e-3", "lr": "1e-3", "warmup": "20 from 0.5", "labelsmooth": "0.1"},
		{"optimizer": "adam", "decay": "biases", "maxnorm": "0.5", "schedule": "cosine to 1e-3"},
		{"optimizer": "nesterov 0.8", "l1": "1e-4", "decay": "biases", "schedule": "step 0.1 every 2 epochs"},
		{"optimizer": "sgd", "l2": "0", "maxnorm": "0.3", "lr": "0.5"},
	}
	for _, g := range goldenNets {
		if g.pkg == "leaky" || g.pkg == "modern" {
			for i, v := range variants {
				cases = append(cases, exportCase{net: g, name: g.pkg + "-variant" + string(rune('1'+i)), override: v})
			}
		}
	}
	root := t.TempDir()
	var dirs []string
	checks := make([]func(t *testing.T) float64, len(cases))
	for i, c := range cases {
		dir := filepath.Join(root, c.name)
		dirs = append(dirs, dir)
		checks[i] = prepareExport(t, c, dir)
	}
	cmd := exec.Command(python3, append([]string{"testdata/pytorch_step.py"}, dirs...)...)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pytorch_step.py: %v\n%s", err, out)
	}
	worst, worstName := 0.0, ""
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if d := checks[i](t); d > worst {
				worst, worstName = d, c.name
			}
		})
	}
	t.Logf("largest relative difference from PyTorch: %.3g (%s)", worst, worstName)
}

// prepareExport exports c's network into dir with random weights and inputs, for
// pytorch_step.py, and returns the check that runs netc's side and compares, returning
// the largest relative difference.
func prepareExport(t *testing.T, c exportCase, dir string) func(t *testing.T) float64 {
	src, err := os.ReadFile(filepath.Join("..", c.net.spec))
	if err != nil {
		t.Fatal(err)
	}
	ir, err := compiler.Compile(c.net.spec, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := pytorch.Write(dir, ir); err != nil {
		t.Fatal(err)
	}
	batch := 3
	if ir.Input.Size() > 100_000 { // alexnet
		batch = 2
	}
	net := c.net.new(7)
	info, params := net.Info(), net.Params()
	rng := nn.NewRNG(11)
	awayFromInit(info, params, &rng)
	x := make([]float32, batch*info.InputSize())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int32, batch)
	lb := make([]byte, 8*batch)
	for i := range labels {
		labels[i] = int32(rng.Intn(info.Outputs))
		binary.LittleEndian.PutUint64(lb[8*i:], uint64(labels[i]))
	}
	if err := weights.Write(filepath.Join(dir, "weights.safetensors"), weights.InfoTensors(info), params,
		weights.Meta{Network: info.Name, SpecHash: info.SpecHash}); err != nil {
		t.Fatal(err)
	}
	type tensor struct {
		Name   string `json:"name"`
		Offset int    `json:"offset"`
		Shape  []int  `json:"shape"`
	}
	var ts []tensor
	for _, p := range info.Params {
		ts = append(ts, tensor{p.Name, p.Offset, p.Shape})
	}
	js, _ := json.Marshal(ts)
	writeFile(t, filepath.Join(dir, "tensors.json"), js)
	writeFile(t, filepath.Join(dir, "x.f32"), f32Bytes(x))
	writeFile(t, filepath.Join(dir, "labels.i64"), lb)

	// The recipe: the spec's, overridden; train.py's RECIPE gets the same entries.
	cfg, err := train.ConfigFromInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.override {
		if err := cfg.Set(k, strings.Fields(v)); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := pytorch.RecipeEntries(cfg.Recipe)
	if err != nil {
		t.Fatal(err)
	}
	js, _ = json.Marshal(entries)
	writeFile(t, filepath.Join(dir, "recipe.json"), js)

	// Dropout masks, drawn from the workspace's generator as the generated code does: layer
	// after layer, value after value over the batch.
	const dropoutSeed = 99
	mrng := nn.NewRNG(dropoutSeed)
	for _, l := range ir.Layers {
		if l.Kind != compiler.Dropout {
			continue
		}
		p := float32(l.Prob)
		mask := make([]float32, batch*l.Out.Size())
		for j := range mask {
			if mrng.Float32() >= p {
				mask[j] = float32(1) / (1 - p)
			}
		}
		writeFile(t, filepath.Join(dir, "mask_"+l.Name+".f32"), f32Bytes(mask))
	}

	return func(t *testing.T) float64 {
		worst := 0.0
		check := func(what string, got, want []float32) {
			t.Helper()
			expectCloseF32(t, what, got, want)
			worst = math.Max(worst, relDiff(got, want))
		}
		ws := net.NewWorkspace(batch)
		ws.InputGrad = nil
		ws.LabelSmoothing = cfg.LabelSmoothing
		check("evaluation scores", net.Forward(ws, x, false), readF32(t, dir, "eval.f32"))
		ws.RNG = nn.NewRNG(dropoutSeed)
		net.Forward(ws, x, true)
		loss := net.Backward(ws, labels)
		check("loss", []float32{loss}, readF32(t, dir, "loss.f32"))
		grads := readF32(t, dir, "grads.f32")
		for _, p := range info.Params {
			if g := p.Data(grads); !p.Buffer && !math.IsNaN(float64(g[0])) {
				check(p.Name+" gradient", p.Data(net.Grads()), g)
			}
		}
		opt, err := train.NewOptimizer(cfg.Optimizer, info)
		if err != nil {
			t.Fatal(err)
		}
		sched, err := settings.ParseSchedule(cfg.Schedule, cfg.LR, 10, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Warmup) > 0 {
			w, err := settings.ParseWarmup(cfg.Warmup, 10)
			if err != nil {
				t.Fatal(err)
			}
			sched = sched.WithWarmup(w)
		}
		lr := sched.LR(0)
		if got := readF32(t, dir, "lr.f32")[0]; got != lr {
			t.Errorf("train.py's learning rate %g, netc's %g", got, lr)
		}
		opt.Step(params, net.Grads(), lr)
		after := readF32(t, dir, "params_after.f32")
		for _, p := range info.Params {
			check(p.Name+" after the step", p.Data(params), p.Data(after))
		}
		// The module's state_dict as train.py writes it loads into netc as it is.
		back := c.net.new(1)
		f, err := weights.Load(filepath.Join(dir, "after.safetensors"), back, false)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range back.Params() {
			if v != after[i] {
				t.Fatalf("after.safetensors read back: value %d is %g, PyTorch's %g", i, v, after[i])
			}
		}
		hasBN := slices.ContainsFunc(info.Params, func(p nn.ParamTensor) bool { return strings.HasSuffix(p.Name, ".running_mean") })
		if hasBN && f.Meta.Steps != 1 {
			t.Errorf("after.safetensors records %d steps in its batch counters, want 1", f.Meta.Steps)
		}
		return worst
	}
}

// relDiff is the largest difference between got and want relative to want's magnitude,
// as expectClose measures it.
func relDiff(got, want []float32) float64 {
	var maxDiff, maxRef float64
	for i := range got {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
	}
	return maxDiff / math.Max(maxRef, 1e-3)
}

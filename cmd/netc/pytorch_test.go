package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/safetensors"
	"github.com/netc-dev/netc/runtime/weights"
)

// python3 is Debian's Python, which has python3-torch (a python3 earlier on PATH may not).
const python3 = "/usr/bin/python3"

// torchPredict is run in an exported package's folder: it loads a checkpoint of train.py
// into model.Net, applies the preprocessing its metadata records to the pixels in
// argv[2] (float32, N×C×H×W, in [0, 1]) and writes the scores to argv[3].
const torchPredict = `
import json, sys
import numpy as np
import torch
import model, netc_support
tensors, meta = netc_support.load_safetensors(sys.argv[1])
net = model.Net()
net.load_state_dict(tensors, strict=True)
net.eval()
x = torch.from_numpy(np.fromfile(sys.argv[2], dtype=np.float32).reshape(-1, *model.INPUT_SHAPE))
p = json.loads(meta["preprocess"])
if p.get("mean"):
    m = torch.tensor(p["mean"])
    x -= m[:, None, None] if p["kind"] == "channel" else m.view(model.INPUT_SHAPE)
if p["std"]:
    x /= torch.tensor(p["std_dev"])[:, None, None]
with torch.no_grad():
    net(x).numpy().astype(np.float32).tofile(sys.argv[3])
`

// TestPyTorchRoundTrip: lenet-mnist exported with netc export --format pytorch and
// trained by torchrun with 2 processes (DistributedDataParallel, gloo on loopback) for
// one epoch of MNIST reaches a test accuracy of 0.97, its checkpoint recording the mean
// netc fits; the checkpoint comes back to netc:
// netc predict gives PyTorch's top class (and scores within 1e-4) on 1,000 test images,
// netc train --weights starts from every one of its tensors, and netc export reads it.
func TestPyTorchRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for an epoch and builds a program")
	}
	if err := exec.Command(python3, "-c", "import torch.distributed.run").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 with torch is needed (apt-get install python3-torch): %v", err)
		}
		t.Skip("python3 with torch is not installed (apt-get install python3-torch)")
	}
	dir := t.TempDir()
	pkg, run := filepath.Join(dir, "lenet"), filepath.Join(dir, "run")
	if status, _, stderr := runNetc("export", lenetSpec, "--format", "pytorch", "-o", pkg); status != 0 {
		t.Fatalf("netc export --format pytorch: status %d\n%s", status, stderr)
	}
	mod, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", data.GoMNISTModule).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", data.GoMNISTModule, err)
	}
	mnist := filepath.Join(strings.TrimSpace(string(mod)), "data")

	// torchrun is torch.distributed.run; --redirects 1 --tee 1 (stdout to log files and
	// the console) works around Debian's torch 1.13 under Python 3.12, whose default of 0
	// fails ("'NoneType' object has no attribute 'get'").
	cmd := exec.Command(python3, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
		"--redirects", "1", "--tee", "1", filepath.Join(pkg, "train.py"),
		"--epochs", "1", "--run", run, "--data-dir", mnist)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("torchrun train.py: %v\n%s", err, out)
	}
	var result struct {
		TestAccuracy float64 `json:"test_accuracy"`
		Processes    int     `json:"processes"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(run, "result.json")), &result); err != nil {
		t.Fatal(err)
	}
	t.Logf("torchrun, 2 processes, 1 epoch: test accuracy %.4f in %.1f s", result.TestAccuracy, time.Since(start).Seconds())
	if result.TestAccuracy < 0.97 || result.Processes != 2 {
		t.Errorf("test accuracy %.4f with %d processes, want ≥ 0.97 with 2\n%s", result.TestAccuracy, result.Processes, out)
	}

	// train.py's mean subtraction is netc's, fitted on the same training split.
	ckpt := filepath.Join(run, "best.safetensors")
	all, test, err := data.Load(data.MNIST, mnist)
	if err != nil {
		t.Fatal(err)
	}
	trainSet, _, err := all.Split(5000)
	if err != nil {
		t.Fatal(err)
	}
	var pre data.Preprocess
	if err := pre.Fit(trainSet, data.MeanChannel, false); err != nil {
		t.Fatal(err)
	}
	f, err := weights.Open(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Meta.Preprocess; got == nil || got.Kind != data.MeanChannel || len(got.Mean) != 1 ||
		math.Abs(float64(got.Mean[0]-pre.Mean[0])) > 1e-6 || f.Meta.Network != "lenet-mnist" {
		t.Errorf("train.py's checkpoint records %+v (network %q), want the mean %v of netc's training split, lenet-mnist",
			got, f.Meta.Network, pre.Mean)
	}

	// netc predict and PyTorch on the same 1,000 test images, as pixels in [0, 1].
	const n = 1000
	x := test.X[:n*784]
	in, outFile, pixels, scores := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors"),
		filepath.Join(dir, "x.f32"), filepath.Join(dir, "scores.f32")
	if err := safetensors.WriteFile(in, []safetensors.Tensor{safetensors.Float32Tensor("input", []int{n, 1, 28, 28}, x)}, nil); err != nil {
		t.Fatal(err)
	}
	if status, _, stderr := runNetc("predict", lenetSpec, "--weights", ckpt, "--input", in, "--normalize", "-o", outFile); status != 0 {
		t.Fatalf("netc predict: status %d\n%s", status, stderr)
	}
	got, err := must(safetensors.ReadFile(outFile)).Float32("logits", []int{n, 10})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(pixels, b, 0o644); err != nil {
		t.Fatal(err)
	}
	py := exec.Command(python3, "-c", torchPredict, ckpt, pixels, scores)
	py.Dir = pkg
	if out, err := py.CombinedOutput(); err != nil {
		t.Fatalf("PyTorch's predictions: %v\n%s", err, out)
	}
	raw := readFile(t, scores)
	want := make([]float32, len(raw)/4)
	for i := range want {
		want[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	if len(want) != len(got) {
		t.Fatalf("PyTorch gave %d scores, netc %d", len(want), len(got))
	}
	differ, maxDiff, maxScore := 0, 0.0, 0.0
	for i := range n {
		if argmax(got[i*10:(i+1)*10]) != argmax(want[i*10:(i+1)*10]) {
			differ++
		}
	}
	for i := range got {
		maxDiff = max(maxDiff, math.Abs(float64(got[i]-want[i])))
		maxScore = max(maxScore, math.Abs(float64(want[i])))
	}
	t.Logf("netc predict vs PyTorch on %d test images: %d top classes differ; scores differ by at most %.3g (largest %.3g)",
		n, differ, maxDiff, maxScore)
	if differ > 0 || maxDiff > 1e-4*maxScore {
		t.Errorf("netc's predictions differ from PyTorch's: %d top classes, scores by %.3g", differ, maxDiff)
	}

	// Fine-tuning from the checkpoint, and export.
	status, stdout, stderr := runNetc("train", lenetSpec, "--weights", ckpt, "--max-iters", "2", "--run", filepath.Join(dir, "ft"))
	if status != 0 || !strings.Contains(stdout, "weights from "+ckpt+": loaded conv1.weight, conv1.bias, conv2.weight, conv2.bias, full1.weight, full1.bias\n") {
		t.Errorf("netc train --weights: status %d\n%s\n%s", status, stdout, stderr)
	}
	if status, _, stderr := runNetc("export", lenetSpec, "--weights", ckpt, "-o", filepath.Join(dir, "lenet.onnx")); status != 0 {
		t.Errorf("netc export: status %d\n%s", status, stderr)
	}
}

// argmax returns the index of the largest value.
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

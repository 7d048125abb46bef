package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netc-dev/netc/onnx"
	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/predict"
	"github.com/netc-dev/netc/runtime/safetensors"
	"github.com/netc-dev/netc/runtime/train"
	"github.com/netc-dev/netc/runtime/weights"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

const lenetSpec = "../../specs/lenet-mnist.net"

func TestExportUsage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	forward := filepath.Join(t.TempDir(), "forward.net")
	if err := os.WriteFile(forward, []byte("input 1x4x4\nforward: conv 2 3x3 | full 2 | softmax\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"export"}, 2, "usage: netc export SPEC --weights FILE"},
		{[]string{"export", lenetSpec}, 2, "--weights FILE is required"},
		{[]string{"export", lenetSpec, "x.net", "--weights", "w"}, 2, "one spec, not 2 arguments"},
		{[]string{"export", lenetSpec, "--weights", "w", "--format", "pt"}, 2, `unknown format "pt"`},
		{[]string{"export", lenetSpec, "--format", "pytorch", "-o", file}, 1, "not a directory"},
		{[]string{"export", forward, "--format", "pytorch", "-o", t.TempDir()}, 1, `layer name "forward" cannot name a PyTorch submodule`},
		{[]string{"export", lenetSpec, "--format", "pytorch", "--weights", "missing.safetensors", "-o", t.TempDir()}, 1, "missing.safetensors: no such file"},
		{[]string{"export", "../../specs/missing.net", "--weights", "w"}, 1, "missing.net"},
		{[]string{"export", lenetSpec, "--weights", "missing.safetensors", "-o", filepath.Join(t.TempDir(), "x.onnx")}, 1, "missing.safetensors: no such file"},
	} {
		status, _, stderr := runNetc(tc.args...)
		if status != tc.status || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: status %d, stderr:\n%s\nwant status %d and %q", tc.args, status, stderr, tc.status, tc.want)
		}
	}
}

// trainLenet trains lenet-mnist (the golden package of specs/lenet-mnist.net) on 4,000
// MNIST images for one epoch and returns it, its checkpoint and the test set.
func trainLenet(t *testing.T) (net nn.Network, ckpt string, pre data.Preprocess, test *data.Dataset) {
	t.Helper()
	trainAll, testAll, err := data.Load(data.MNIST, "")
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, 4000)
	for i := range idx {
		idx[i] = i
	}
	net = lenetmnist.New(1)
	cfg, err := train.ConfigFromInfo(net.Info())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.Batch, cfg.RunDir = 1, 32, t.TempDir()
	res, err := train.Train(net, trainAll.Subset(idx), nil, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return net, res.Checkpoint, res.Preprocess, testAll.Subset(idx[:32])
}

// TestWeightsInOut: a lenet-mnist trained in the test goes out of netc as safetensors and
// ONNX, comes back, and predicts.
func TestWeightsInOut(t *testing.T) {
	net, ckpt, pre, test := trainLenet(t)
	info := net.Info()
	dir := t.TempDir()
	exported := filepath.Join(dir, "lenet.safetensors")

	t.Run("safetensors", func(t *testing.T) {
		status, stdout, stderr := runNetc("export", lenetSpec, "--weights", ckpt, "-o", exported)
		if status != 0 {
			t.Fatalf("status %d: %s", status, stderr)
		}
		for _, want := range []string{
			fmt.Sprintf("wrote %s: safetensors, 6 tensors, 5,994 parameters of lenet-mnist from %s\n", exported, ckpt),
			fmt.Sprintf("preprocessing recorded in the metadata: pixels in [0, 1] minus the channel mean %v\n", pre.Mean),
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		// The weights, bit for bit, and nothing else (no momentum).
		f, err := weights.Open(exported)
		if err != nil {
			t.Fatal(err)
		}
		ck, err := safetensors.ReadFile(ckpt)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Tensors.Names()) != len(info.Params) {
			t.Errorf("tensors %q", f.Tensors.Names())
		}
		for _, p := range info.Params {
			a, err := f.Tensors.Float32(p.Name, p.Shape)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, p.Name, a, p.Data(net.Params()))
			b, _ := ck.Float32(p.Name, p.Shape)
			sameBits(t, p.Name, a, b)
		}
		m := f.Meta
		if m.Format != weights.Format || m.Network != "lenet-mnist" || m.SpecHash != info.SpecHash || m.Preprocess == nil ||
			m.Preprocess.Kind != pre.Kind || !slices.Equal(m.Preprocess.Mean, pre.Mean) {
			t.Errorf("metadata %+v", m)
		}
		// Import: the fine-tuning loader and the prediction loader both take it.
		b := lenetmnist.New(2)
		if loaded, skipped, err := train.LoadWeights(exported, b); err != nil || len(loaded) != 6 || len(skipped) != 0 {
			t.Fatalf("LoadWeights: %v %v %v", loaded, skipped, err)
		}
		sameBits(t, "imported", b.Params(), net.Params())
		c := lenetmnist.New(3)
		if _, err := weights.Load(exported, c, false); err != nil {
			t.Fatal(err)
		}
		sameBits(t, "loaded", c.Params(), net.Params())
		// Exporting the export gives the same bytes; overwriting the input is refused.
		again := filepath.Join(dir, "again.safetensors")
		if status, _, stderr := runNetc("export", lenetSpec, "--weights", exported, "-o", again); status != 0 {
			t.Fatal(stderr)
		}
		if x, y := readFile(t, exported), readFile(t, again); !bytes.Equal(x, y) {
			t.Error("re-exporting changes the file")
		}
		if status, _, stderr := runNetc("export", lenetSpec, "--weights", exported, "-o", exported); status != 2 || !strings.Contains(stderr, "would overwrite") {
			t.Errorf("overwrite: %d %s", status, stderr)
		}
	})

	t.Run("malformed", func(t *testing.T) {
		good := readFile(t, ckpt)
		edit := func(fn func([]safetensors.Tensor) []safetensors.Tensor) []byte {
			f, err := safetensors.Read(good)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := safetensors.Write(&b, fn(f.Tensors()), f.Metadata()); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
		set := func(name string, fn func(*safetensors.Tensor)) []byte {
			return edit(func(ts []safetensors.Tensor) []safetensors.Tensor {
				for i := range ts {
					if ts[i].Name == name {
						fn(&ts[i])
					}
				}
				return ts
			})
		}
		huge := append(binary.LittleEndian.AppendUint64(nil, 1<<40), good[8:]...)
		for _, tc := range []struct {
			name string
			file []byte
			spec string
			want string
		}{
			{"truncated", good[:len(good)-100], lenetSpec, "truncated file"},
			{"wrong dtype", set("conv2.bias", func(t *safetensors.Tensor) { t.DType = "I32" }), lenetSpec, `tensor "conv2.bias": wrong dtype: has dtype I32`},
			{"wrong shape", set("full1.weight", func(t *safetensors.Tensor) { t.Shape = []int{10, 16, 4, 4} }), lenetSpec, `tensor "full1.weight": wrong shape: has shape [10 16 4 4], want [10 256]`},
			{"missing tensor", edit(func(ts []safetensors.Tensor) []safetensors.Tensor {
				return slices.DeleteFunc(ts, func(t safetensors.Tensor) bool { return t.Name == "conv1.weight" })
			}), lenetSpec, `tensor "conv1.weight": tensor not found`},
			{"header too large", huge, lenetSpec, "header too large: header length 1099511627776 exceeds the limit"},
			{"another spec", good, "../../specs/cifar-small.net", `weights of another spec: trained for spec "lenet-mnist"`},
		} {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".safetensors")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.safetensors")
			os.Remove(out)
			status, _, stderr := runNetc("export", tc.spec, "--weights", path, "-o", out)
			if status != 1 || !strings.Contains(stderr, "netc export: ") || !strings.Contains(stderr, path) || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s: status %d, stderr:\n%s\nwant the file and %q", tc.name, status, stderr, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s: the output was written", tc.name)
			}
		}
	})

	t.Run("onnx", func(t *testing.T) {
		model := filepath.Join(dir, "lenet.onnx")
		status, stdout, stderr := runNetc("export", lenetSpec, "--weights", ckpt, "-o", model)
		if status != 0 {
			t.Fatalf("status %d: %s", status, stderr)
		}
		if !strings.Contains(stdout, "onnx, 6 tensors") || !strings.Contains(stdout, "the model takes preprocessed input") {
			t.Errorf("stdout %s", stdout)
		}
		// The same from the exported safetensors with --format.
		model2 := filepath.Join(dir, "lenet2.model")
		if status, _, stderr := runNetc("export", lenetSpec, "--weights", exported, "--format", "onnx", "-o", model2); status != 0 {
			t.Fatal(stderr)
		}
		if !bytes.Equal(readFile(t, model), readFile(t, model2)) {
			t.Error("the ONNX models from the checkpoint and from the exported weights differ")
		}

		nodeModules := ortNodeModules(t)
		x := slices.Clone(test.X)
		if err := pre.Apply(&data.Dataset{X: x, Labels: test.Labels, C: 1, H: 28, W: 28, Classes: 10}); err != nil {
			t.Fatal(err)
		}
		n := test.Len()
		want := slices.Clone(net.Forward(net.NewWorkspace(n), x, false))
		scores, probs := runORT(t, nodeModules, model, x, n, 1, 28, 28, info.Outputs)
		wantProbs := predict.Softmax(want, info.Outputs)
		diff, pdiff, top := 0.0, 0.0, 0.0
		for i := range want {
			diff = max(diff, math.Abs(float64(scores[i]-want[i])))
			pdiff = max(pdiff, math.Abs(float64(probs[i]-wantProbs[i])))
			top = max(top, math.Abs(float64(want[i])))
		}
		t.Logf("ONNX Runtime vs netc on %d MNIST test images: max |score| %.3g, max abs diff %.3g; probs max abs diff %.3g", n, top, diff, pdiff)
		if diff > 1e-4 || pdiff > 1e-4 {
			t.Errorf("ONNX Runtime's scores differ from netc's by %.3g, probs by %.3g", diff, pdiff)
		}
	})

	t.Run("predict", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds a program")
		}
		var files []string
		for i := range 5 {
			img := image.NewGray(image.Rect(0, 0, 28, 28))
			for j, v := range test.Image(i) {
				img.Pix[j] = uint8(math.Round(float64(v) * 255))
			}
			var b bytes.Buffer
			png.Encode(&b, img)
			path := filepath.Join(dir, fmt.Sprintf("digit%d.png", i))
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, path)
		}
		status, stdout, stderr := runNetc(append([]string{"predict", lenetSpec, "--weights", exported, "--top", "2"}, files...)...)
		if status != 0 {
			t.Fatalf("status %d: %s", status, stderr)
		}
		// The program prints what predict.Run prints in this process.
		var want, errOut bytes.Buffer
		if predict.Run(lenetmnist.New(1), append([]string{"--weights", exported, "--top", "2"}, files...), &want, &errOut) != 0 {
			t.Fatal(errOut.String())
		}
		if stdout != want.String() {
			t.Errorf("netc predict printed\n%s\nwant\n%s", stdout, want.String())
		}
		t.Logf("\n%s", stdout)
		// --input and -o.
		in, out := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
		if err := safetensors.WriteFile(in, []safetensors.Tensor{safetensors.Float32Tensor("input", []int{3, 1, 28, 28}, test.X[:3*784])}, nil); err != nil {
			t.Fatal(err)
		}
		if status, _, stderr := runNetc("predict", lenetSpec, "--weights", exported, "--input", in, "-o", out); status != 0 {
			t.Fatal(stderr)
		}
		logits, err := must(safetensors.ReadFile(out)).Float32("logits", []int{3, 10})
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, "logits", logits, net.Forward(net.NewWorkspace(3), test.X[:3*784], false))
	})
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// ortNodeModules finds a node_modules holding onnxruntime-node (onnx.RuntimeNodeModules).
// Without one the test fails under CI and is skipped otherwise.
func ortNodeModules(t *testing.T) string {
	t.Helper()
	d, err := onnx.RuntimeNodeModules()
	if err != nil {
		msg := err.Error() + "; " + onnx.InstallHint
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return d
}

// runORT runs the model on x ([n, c, h, w]) in ONNX Runtime with onnx/ort_run.js and
// returns its scores and probs.
func runORT(t *testing.T, nodeModules, model string, x []float32, n, c, h, w, outputs int) (scores, probs []float32) {
	t.Helper()
	dir := t.TempDir()
	in, out, pr := filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32"), filepath.Join(dir, "probs.f32")
	var b []byte
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("../../onnx/ort_run.js")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script, model, in, fmt.Sprint(n), fmt.Sprint(c), fmt.Sprint(h), fmt.Sprint(w), out, pr)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ort_run.js: %v\n%s", err, msg)
	}
	read := func(path string) []float32 {
		b := readFile(t, path)
		if len(b) != 4*n*outputs {
			t.Fatalf("%s: %d bytes, want %d", path, len(b), 4*n*outputs)
		}
		v := make([]float32, n*outputs)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v
	}
	return read(out), read(pr)
}

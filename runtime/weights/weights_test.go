package weights_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/safetensors"
	"github.com/netc-dev/netc/runtime/train"
	"github.com/netc-dev/netc/runtime/weights"
	"github.com/netc-dev/netc/testdata/golden/cifarsmall"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
	"github.com/netc-dev/netc/testdata/golden/meanimage"
	"github.com/netc-dev/netc/testdata/golden/modern"
)

// sameBits fails unless got and want hold the same float32 bit patterns.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v (bits %#x), want %v (bits %#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// oddParams gives net's parameters values whose bits a lossy path would change: a
// negative zero, a subnormal, the largest float32 and the most negative one. (NaN and
// ±Inf are refused on loading; TestMalformed checks that.)
func oddParams(net nn.Network) {
	p := net.Params()
	copy(p, []float32{
		float32(math.Copysign(0, -1)), math.Float32frombits(1), math.MaxFloat32, -math.MaxFloat32,
	})
}

var lenetPre = &data.Preprocess{Kind: data.MeanChannel, C: 1, H: 28, W: 28, Mean: []float32{0.13066062}}

// TestRoundTrip writes a network's weights and reads them back, bit for bit, with
// Load, File.Read and train.LoadWeights (the import of fine-tuning).
func TestRoundTrip(t *testing.T) {
	a := lenetmnist.New(7)
	oddParams(a)
	info := a.Info()
	path := filepath.Join(t.TempDir(), "w.safetensors")
	meta := weights.Meta{Network: info.Name, SpecHash: info.SpecHash, Preprocess: lenetPre, Dataset: data.MNIST, Classes: data.MNISTClassNames}
	if err := weights.Write(path, weights.InfoTensors(info), a.Params(), meta); err != nil {
		t.Fatal(err)
	}

	b := lenetmnist.New(8)
	f, err := weights.Load(path, b, false)
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "Load", b.Params(), a.Params())
	meta.Format = weights.Format
	if got, _ := json.Marshal(f.Meta); string(got) != string(must(json.Marshal(meta))) {
		t.Errorf("metadata %s, want %s", got, must(json.Marshal(meta)))
	}

	// The file holds the network's tensors and nothing else, in PyTorch's shapes.
	st := f.Tensors
	var want []string
	for _, p := range info.Params {
		want = append(want, p.Name)
		tt, ok := st.Tensor(p.Name)
		if !ok || tt.DType != "F32" || !slices.Equal(tt.Shape, p.Shape) {
			t.Errorf("%s: %+v, %v", p.Name, tt.Shape, ok)
		}
	}
	slices.Sort(want)
	if got := st.Names(); !slices.Equal(got, want) {
		t.Errorf("tensors %q, want %q", got, want)
	}

	// train.LoadWeights reads the weights-only file too.
	c := lenetmnist.New(9)
	loaded, skipped, err := train.LoadWeights(path, c)
	if err != nil || len(loaded) != len(info.Params) || len(skipped) != 0 {
		t.Fatalf("LoadWeights: loaded %v, skipped %v, %v", loaded, skipped, err)
	}
	sameBits(t, "LoadWeights", c.Params(), a.Params())

	// Writing what was read gives the same bytes.
	again := filepath.Join(t.TempDir(), "again.safetensors")
	if err := weights.Write(again, weights.InfoTensors(info), b.Params(), f.Meta); err != nil {
		t.Fatal(err)
	}
	if x, y := must(os.ReadFile(path)), must(os.ReadFile(again)); string(x) != string(y) {
		t.Error("rewriting the weights read changes the file")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// pytorchLenet builds, byte by byte from the format's spec, the safetensors file that
// safetensors.torch.save_file(model.state_dict(), path) writes for the PyTorch twin of
// lenet-mnist:
//
//	class LeNet(nn.Module):
//	    def __init__(self):
//	        super().__init__()
//	        self.conv1 = nn.Conv2d(1, 8, 5, padding=2)
//	        self.conv2 = nn.Conv2d(8, 16, 5, padding=2)
//	        self.full1 = nn.Linear(16 * 4 * 4, 10)
//
// The header is ordered as PyTorch's state_dict, the data section in the order torch
// writes it (largest alignment first, then by name: all F32 here, so by name), the
// metadata is torch's {"format": "pt"}, and the header is padded with spaces to a multiple
// of 8 bytes. Value j of tensor k is k + j/1000. The conv2 bias is stored as F64 and the
// full1 bias as F16, as a double or half model would write them; both convert.
func pytorchLenet() (file []byte, want map[string][]float32) {
	type tensor struct {
		name  string
		dtype string
		shape []int
	}
	ts := []tensor{ // state_dict order
		{"conv1.weight", "F32", []int{8, 1, 5, 5}},
		{"conv1.bias", "F32", []int{8}},
		{"conv2.weight", "F32", []int{16, 8, 5, 5}},
		{"conv2.bias", "F64", []int{16}},
		{"full1.weight", "F32", []int{10, 256}},
		{"full1.bias", "F16", []int{10}},
	}
	want = map[string][]float32{}
	vals := map[string][]byte{}
	for k, t := range ts {
		n := 1
		for _, d := range t.shape {
			n *= d
		}
		var b []byte
		v := make([]float32, n)
		for j := range v {
			switch t.dtype {
			case "F32":
				v[j] = float32(k) + float32(j)/1000
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v[j]))
			case "F64":
				x := float64(k) + float64(j)/1000
				v[j] = float32(x)
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
			case "F16": // j/4 exactly: sign 0, exponent and mantissa of an F16
				v[j] = float32(j) / 4
				b = binary.LittleEndian.AppendUint16(b, f16(v[j]))
			}
		}
		want[t.name], vals[t.name] = v, b
	}
	// Data order: by name.
	order := slices.Clone(ts)
	slices.SortFunc(order, func(a, b tensor) int { return strings.Compare(a.name, b.name) })
	offsets := map[string][2]int{}
	var body []byte
	for _, t := range order {
		offsets[t.name] = [2]int{len(body), len(body) + len(vals[t.name])}
		body = append(body, vals[t.name]...)
	}
	header := `{"__metadata__":{"format":"pt"}`
	for _, t := range ts {
		shape := strings.Join(strings.Fields(fmt.Sprint(t.shape)), ",")
		o := offsets[t.name]
		header += fmt.Sprintf(`,"%s":{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, t.name, t.dtype, shape, o[0], o[1])
	}
	header += "}"
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	file = binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	file = append(file, header...)
	return append(file, body...), want
}

// f16 encodes the small non-negative multiples of 1/4 that pytorchLenet uses as IEEE
// half floats.
func f16(v float32) uint16 {
	if v == 0 {
		return 0
	}
	e := math.Floor(math.Log2(float64(v)))
	m := float64(v)/math.Pow(2, e) - 1
	return uint16(e+15)<<10 | uint16(m*1024)
}

// TestPyTorchFile loads a file written the way PyTorch writes one, with Load (every
// tensor, as prediction does) and train.LoadWeights (as fine-tuning does).
func TestPyTorchFile(t *testing.T) {
	file, want := pytorchLenet()
	path := filepath.Join(t.TempDir(), "lenet_pt.safetensors")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(how string, net nn.Network) {
		t.Helper()
		for _, p := range net.Info().Params {
			sameBits(t, how+" "+p.Name, p.Data(net.Params()), want[p.Name])
		}
	}
	net := lenetmnist.New(1)
	f, err := weights.Load(path, net, false)
	if err != nil {
		t.Fatal(err)
	}
	check("Load", net)
	if f.Meta.Format != "pt" || f.Meta.Network != "" || f.Meta.Preprocess != nil {
		t.Errorf("metadata %+v", f.Meta)
	}
	net = lenetmnist.New(2)
	loaded, skipped, err := train.LoadWeights(path, net)
	if err != nil || len(loaded) != 6 || len(skipped) != 0 {
		t.Fatalf("LoadWeights: loaded %v, skipped %v, %v", loaded, skipped, err)
	}
	check("LoadWeights", net)
	// Into a network of other shapes: Load refuses, naming every tensor that differs.
	_, err = weights.Load(path, cifarsmall.New(1), false)
	if !errors.Is(err, safetensors.ErrWrongShape) || !errors.Is(err, safetensors.ErrNotFound) {
		t.Fatalf("cifar-small from lenet's file: %v", err)
	}
	for _, s := range []string{"7 of the network's 8 tensors cannot be loaded", `tensor "conv1.weight": wrong shape: has shape [8 1 5 5], want [16 3 5 5]`, `tensor "conv3.bias": tensor not found`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q:\n%v", s, err)
		}
	}
}

// TestMalformed: damaged or mismatched weight files give errors that name the file and
// the tensor, through Load (prediction), File.Read (export) and train.LoadWeights
// (fine-tuning), and never panic.
func TestMalformed(t *testing.T) {
	dir := t.TempDir()
	net := lenetmnist.New(3)
	info := net.Info()
	good := filepath.Join(dir, "good.safetensors")
	meta := weights.Meta{Network: info.Name, SpecHash: info.SpecHash, Preprocess: lenetPre}
	if err := weights.Write(good, weights.InfoTensors(info), net.Params(), meta); err != nil {
		t.Fatal(err)
	}
	goodBytes := must(os.ReadFile(good))
	tensors := func(edit func(ts []safetensors.Tensor) []safetensors.Tensor, md map[string]string) []byte {
		f := must(safetensors.Read(goodBytes))
		ts := edit(f.Tensors())
		if md == nil {
			md = f.Metadata()
		}
		var b strings.Builder
		if err := safetensors.Write(&b, ts, md); err != nil {
			t.Fatal(err)
		}
		return []byte(b.String())
	}
	without := func(name string) func([]safetensors.Tensor) []safetensors.Tensor {
		return func(ts []safetensors.Tensor) []safetensors.Tensor {
			return slices.DeleteFunc(ts, func(t safetensors.Tensor) bool { return t.Name == name })
		}
	}
	change := func(name string, fn func(*safetensors.Tensor)) func([]safetensors.Tensor) []safetensors.Tensor {
		return func(ts []safetensors.Tensor) []safetensors.Tensor {
			for i := range ts {
				if ts[i].Name == name {
					fn(&ts[i])
				}
			}
			return ts
		}
	}
	hugeHeader := binary.LittleEndian.AppendUint64(nil, 200_000_000)
	hugeHeader = append(hugeHeader, goodBytes[8:]...)
	badMeta := maps(must(safetensors.Read(goodBytes)).Metadata(), weights.KeyPreprocess, `{"kind": 3}`)
	otherSpec := maps(maps(must(safetensors.Read(goodBytes)).Metadata(), weights.KeyNetwork, "cifar-small"),
		weights.KeySpecHash, cifarsmall.New(1).Info().SpecHash)

	for _, tc := range []struct {
		name     string
		file     []byte
		kind     error    // errors.Is target, if any
		want     []string // in the message
		loadsAll bool     // train.LoadWeights still loads every tensor
	}{
		{"truncated", goodBytes[:len(goodBytes)-3], safetensors.ErrTruncated, []string{"truncated file", `tensor "full1.weight"`}, false},
		{"header truncated", goodBytes[:40], safetensors.ErrTruncated, []string{"header length"}, false},
		{"short", goodBytes[:5], safetensors.ErrShortFile, []string{"shorter than 8 bytes"}, false},
		{"header too large", hugeHeader, safetensors.ErrHeaderTooLarge, []string{"header too large", "200000000"}, false},
		{"wrong dtype", tensors(change("conv1.bias", func(t *safetensors.Tensor) { t.DType = "I32" }), nil),
			safetensors.ErrWrongDType, []string{`tensor "conv1.bias": wrong dtype: has dtype I32`}, false},
		{"wrong shape", tensors(change("conv2.weight", func(t *safetensors.Tensor) { t.Shape = []int{16, 8, 25} }), nil),
			safetensors.ErrWrongShape, []string{`tensor "conv2.weight": wrong shape: has shape [16 8 25], want [16 8 5 5]`}, false},
		{"not finite", tensors(change("conv2.bias", func(t *safetensors.Tensor) {
			t.Data = slices.Clone(t.Data)
			binary.LittleEndian.PutUint32(t.Data[4*3:], math.Float32bits(float32(math.NaN())))
		}), nil), safetensors.ErrNotFinite, []string{`tensor "conv2.bias": not finite: value 3 of 16 is NaN`}, false},
		{"missing tensor", tensors(without("full1.bias"), nil),
			safetensors.ErrNotFound, []string{`tensor "full1.bias": tensor not found`}, false},
		{"bad preprocess", tensors(func(ts []safetensors.Tensor) []safetensors.Tensor { return ts }, badMeta),
			nil, []string{`metadata "preprocess" is not the JSON of a preprocessing`}, true},
		{"other spec", tensors(func(ts []safetensors.Tensor) []safetensors.Tensor { return ts }, otherSpec),
			weights.ErrOtherSpec, []string{`trained for spec "cifar-small"`, `not "lenet-mnist"`}, true},
		{"not safetensors", []byte("PK\x03\x04 this is a zip file, not weights"), safetensors.ErrHeaderTooLarge, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".safetensors")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			target := lenetmnist.New(4)
			before := slices.Clone(target.Params())
			_, err := weights.Load(path, target, false)
			if err == nil {
				t.Fatal("Load: no error")
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("Load: %v, want %v", err, tc.kind)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("Load: the error does not name the file: %v", err)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Load: error lacks %q: %v", s, err)
				}
			}
			sameBits(t, "parameters after a failed Load", target.Params(), before)
			// The export path: Open, then Read the spec's tensors.
			if f, err := weights.Open(path); err == nil {
				err = f.Read(weights.InfoTensors(info), make([]float32, info.NumParams))
				if tc.kind == weights.ErrOtherSpec {
					err = f.CheckSpec(info.Name, info.SpecHash)
				}
				if err == nil {
					t.Errorf("Open and Read: no error")
				}
			}
			// Fine-tuning's partial load.
			loaded, _, err := train.LoadWeights(path, lenetmnist.New(4))
			if tc.loadsAll != (err == nil && len(loaded) == len(info.Params)) {
				t.Errorf("LoadWeights: loaded %v, %v", loaded, err)
			}
		})
	}
	// With force, weights recorded as another spec's load when every tensor matches.
	path := filepath.Join(dir, "other-spec.safetensors")
	if _, err := weights.Load(path, lenetmnist.New(4), true); err != nil {
		t.Errorf("force: %v", err)
	}

	// Every truncation of the file is an error, never a panic.
	for n := 0; n < len(goodBytes); n += 1 + n/64 {
		if _, err := safetensors.Read(goodBytes[:n]); err == nil {
			t.Errorf("%d of %d bytes: no error", n, len(goodBytes))
		}
		p := filepath.Join(dir, "cut.safetensors")
		if err := os.WriteFile(p, goodBytes[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := weights.Load(p, lenetmnist.New(4), false); err == nil {
			t.Errorf("Load of %d of %d bytes: no error", n, len(goodBytes))
		}
	}
}

// maps returns a copy of m with key set to value.
func maps(m map[string]string, key, value string) map[string]string {
	m[key] = value
	return m
}

func TestCheckSpec(t *testing.T) {
	f := &weights.File{Path: "w.safetensors", Meta: weights.Meta{Network: "lenet-mnist", SpecHash: "abc"}}
	if err := f.CheckSpec("lenet-mnist", "abc"); err != nil {
		t.Error(err)
	}
	if err := f.CheckSpec("lenet-mnist", "def"); !errors.Is(err, weights.ErrOtherSpec) || !strings.Contains(err.Error(), "another version of spec") {
		t.Error(err)
	}
	// The same source under another file name (so another network name) is the same spec.
	if err := f.CheckSpec("my-lenet", "abc"); err != nil {
		t.Errorf("same hash, another name: %v", err)
	}
	if err := f.CheckSpec("my-lenet", "def"); !errors.Is(err, weights.ErrOtherSpec) || !strings.Contains(err.Error(), `trained for spec "lenet-mnist"`) {
		t.Errorf("another hash and name: %v", err)
	}
	f.Meta = weights.Meta{Network: "lenet-mnist"} // written without a hash: the name decides
	if err := f.CheckSpec("cifar-small", "abc"); !errors.Is(err, weights.ErrOtherSpec) {
		t.Errorf("no hash, another name: %v", err)
	}
	f.Meta = weights.Meta{}
	if err := f.CheckSpec("anything", "x"); err != nil {
		t.Errorf("a file that names no spec: %v", err)
	}
}

func TestClassNames(t *testing.T) {
	digits := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	for _, tc := range []struct {
		meta    weights.Meta
		outputs int
		c, h, w int
		want    []string
	}{
		{weights.Meta{}, 10, 1, 28, 28, digits},
		{weights.Meta{}, 10, 3, 32, 32, data.CIFAR10ClassNames},
		{weights.Meta{Dataset: "fashion-mnist"}, 10, 1, 28, 28, data.FashionMNISTClassNames},
		{weights.Meta{Dataset: "cifar10"}, 10, 3, 32, 32, data.CIFAR10ClassNames},
		{weights.Meta{Dataset: "mnist", Classes: []string{"a", "b"}}, 2, 1, 28, 28, []string{"a", "b"}},
		{weights.Meta{Classes: []string{"a", "b"}}, 3, 3, 32, 32, []string{"0", "1", "2"}},
		{weights.Meta{}, 4, 3, 32, 32, []string{"0", "1", "2", "3"}},
	} {
		if got := tc.meta.ClassNames(tc.outputs, tc.c, tc.h, tc.w); !slices.Equal(got, tc.want) {
			t.Errorf("%+v, %d outputs, %dx%dx%d: %q, want %q", tc.meta, tc.outputs, tc.c, tc.h, tc.w, got, tc.want)
		}
	}
}

func TestDescribePreprocess(t *testing.T) {
	for _, tc := range []struct {
		p    *data.Preprocess
		want string
	}{
		{nil, "pixels in [0, 1] as they are"},
		{&data.Preprocess{Kind: data.MeanNone}, "pixels in [0, 1] as they are"},
		{lenetPre, "pixels in [0, 1] minus the channel mean [0.13066062]"},
		{&data.Preprocess{Kind: data.MeanChannel, Std: true, Mean: []float32{1, 2, 3}, StdDev: []float32{4, 5, 6}},
			"pixels in [0, 1] minus the channel mean [1 2 3], divided by the channels' standard deviations [4 5 6]"},
		{&data.Preprocess{Kind: data.MeanImage, Mean: make([]float32, 6)}, "pixels in [0, 1] minus the image mean [0 0 0 0]… (6 values)"},
	} {
		if got := weights.DescribePreprocess(tc.p); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
}

// TestBuffers: a meansub layer's mean travels with the weights as "<layer>.mean".
func TestBuffers(t *testing.T) {
	a := meanimage.New(1)
	for i := range a.Params() {
		a.Params()[i] = float32(i)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := weights.Write(path, weights.InfoTensors(a.Info()), a.Params(), weights.Meta{}); err != nil {
		t.Fatal(err)
	}
	b := meanimage.New(2)
	f, err := weights.Load(path, b, false)
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "meanimage", b.Params(), a.Params())
	var means []string
	for _, n := range f.Tensors.Names() {
		if strings.HasSuffix(n, ".mean") {
			means = append(means, n)
		}
	}
	if len(means) != 1 {
		t.Errorf("mean tensors %q", means)
	}
}

// TestBatchCounters: a network with batch norms is written with PyTorch's
// num_batches_tracked beside each one's running statistics, holding Meta.Steps, which
// Open reads back; a file without them (another program's) loads the same weights.
func TestBatchCounters(t *testing.T) {
	a := modern.New(1)
	info := a.Info()
	dir := t.TempDir()
	with := filepath.Join(dir, "with.safetensors")
	if err := weights.Write(with, weights.InfoTensors(info), a.Params(), weights.Meta{Steps: 42}); err != nil {
		t.Fatal(err)
	}
	f, err := weights.Open(with)
	if err != nil {
		t.Fatal(err)
	}
	var counters []string
	for _, n := range f.Tensors.Names() {
		if strings.HasSuffix(n, "."+nn.BatchesTracked) {
			counters = append(counters, n)
			if tt, _ := f.Tensors.Tensor(n); tt.DType != "I64" || len(tt.Shape) != 0 {
				t.Errorf("%s: %s %v, want an I64 scalar", n, tt.DType, tt.Shape)
			}
		}
	}
	if want := []string{"bn1." + nn.BatchesTracked, "bn2." + nn.BatchesTracked, "bn3." + nn.BatchesTracked}; !slices.Equal(counters, want) {
		t.Errorf("counters %q, want %q", counters, want)
	}
	if f.Meta.Steps != 42 {
		t.Errorf("Steps %d, want 42", f.Meta.Steps)
	}
	// The same file without its counters.
	var ts []safetensors.Tensor
	for _, tt := range f.Tensors.Tensors() {
		if !strings.HasSuffix(tt.Name, "."+nn.BatchesTracked) {
			ts = append(ts, tt)
		}
	}
	without := filepath.Join(dir, "without.safetensors")
	if err := safetensors.WriteFile(without, ts, nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{with, without} {
		b := modern.New(2)
		g, err := weights.Load(path, b, false)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		sameBits(t, path, b.Params(), a.Params())
		if path == without && g.Meta.Steps != 0 {
			t.Errorf("%s: Steps %d, want 0", path, g.Meta.Steps)
		}
	}
}

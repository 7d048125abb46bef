package onnx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/internal/reference"
	"google.golang.org/protobuf/encoding/protowire"
)

// pb is a decoded protobuf message: each field's values in order, uint64 for varint and
// fixed-width fields, []byte for length-delimited ones.
type pb map[protowire.Number][]any

// decode parses b as a protobuf message without knowing its schema.
func decode(t testing.TB, b []byte) pb {
	t.Helper()
	m := pb{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var v any
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(b)
			v = uint64(u)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		m[num] = append(m[num], v)
	}
	return m
}

func (m pb) msgs(t testing.TB, num protowire.Number) []pb {
	var out []pb
	for _, v := range m[num] {
		out = append(out, decode(t, v.([]byte)))
	}
	return out
}

func (m pb) msg(t testing.TB, num protowire.Number) pb {
	t.Helper()
	ms := m.msgs(t, num)
	if len(ms) != 1 {
		t.Fatalf("field %d: %d messages, want 1", num, len(ms))
	}
	return ms[0]
}

func (m pb) strs(num protowire.Number) []string {
	var out []string
	for _, v := range m[num] {
		out = append(out, string(v.([]byte)))
	}
	return out
}

func (m pb) str(num protowire.Number) string { return strings.Join(m.strs(num), "|") }

func (m pb) ints(num protowire.Number) []int64 {
	var out []int64
	for _, v := range m[num] {
		out = append(out, int64(v.(uint64)))
	}
	return out
}

func (m pb) int(num protowire.Number) int64 {
	if vs := m.ints(num); len(vs) == 1 {
		return vs[0]
	}
	return -1
}

// dims is a ValueInfoProto's shape as strings ("batch", "3").
func (m pb) dims(t testing.TB) []string {
	var out []string
	shape := m.msg(t, valueType).msg(t, typeTensor).msg(t, elemShape)
	for _, d := range shape.msgs(t, shapeDim) {
		if p := d.str(dimParam); p != "" {
			out = append(out, p)
		} else {
			out = append(out, fmt.Sprint(d.int(dimValue)))
		}
	}
	return out
}

// attrs renders a node's attributes, e.g. "group=1 kernel_shape=[5 5] alpha=0.0001".
func (m pb) attrs(t testing.TB) string {
	var s []string
	for _, a := range m.msgs(t, nodeAttribute) {
		var v any
		switch a.int(attrType) {
		case typeInt:
			v = a.int(attrI)
		case typeInts:
			v = a.ints(attrInts)
		case typeFloat:
			v = math.Float32frombits(uint32(a.int(attrF)))
		}
		s = append(s, fmt.Sprintf("%s=%v", a.str(attrName), v))
	}
	return strings.Join(s, " ")
}

func compileSpec(t testing.TB, name, src string) *compiler.Net {
	t.Helper()
	if src == "" {
		b, err := os.ReadFile(filepath.Join("..", "specs", name+".net"))
		if err != nil {
			t.Fatal(err)
		}
		src = string(b)
	}
	net, err := compiler.Compile(name+".net", []byte(src))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return net
}

// randomParams draws weights uniform in ±√(6/fan-in) (keeping activations of the order of
// one through ReLU layers), biases in ±0.1, means in ±0.5, and a batch norm's scales and
// running variances in [0.5, 1.5].
func randomParams(net *compiler.Net, rng *rand.Rand) []float32 {
	params := make([]float32, net.Params+net.Buffers)
	fill := func(s []float32, a float64) {
		for i := range s {
			s[i] = float32(a * (2*rng.Float64() - 1))
		}
	}
	for _, t := range net.Tensors() {
		p := params[t.Offset : t.Offset+t.Size]
		switch {
		case t.Part == "running_var": // a variance: in [0.5, 1.5]
			fill(p, 0.5)
			for i := range p {
				p[i]++
			}
		case t.Buffer:
			fill(p, 0.5)
		case t.Init == 1: // a batch norm's scale: in [0.5, 1.5]
			fill(p, 0.5)
			for i := range p {
				p[i]++
			}
		case t.Bias:
			fill(p, 0.1)
		default:
			fill(p, math.Sqrt(6/float64(t.FanIn)))
		}
	}
	return params
}

func export(t testing.TB, net *compiler.Net, params []float32) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(&buf, net, params); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func f32bytes(vs []float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// TestStructure decodes exported models and checks versions, graph inputs and outputs, the
// nodes in order with their attributes, and every initializer's name, type, shape and bytes.
func TestStructure(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		ops     string
		attrs   map[string]string // node name → attributes
		inits   string            // name[dims] in order
		input   string
		outputs string
	}{
		{
			spec: "cifar-small",
			ops:  "Conv Relu MaxPool Conv Relu MaxPool Conv Relu MaxPool Flatten Gemm Softmax",
			attrs: map[string]string{
				"conv1":    "group=1 kernel_shape=[5 5] pads=[2 2 2 2] strides=[1 1]",
				"pool3":    "kernel_shape=[2 2] strides=[2 2]",
				"full1":    "transB=1",
				"softmax1": "axis=1",
			},
			inits: "conv1.weight[16 3 5 5] conv1.bias[16] conv2.weight[20 16 5 5] conv2.bias[20] " +
				"conv3.weight[20 20 5 5] conv3.bias[20] full1.weight[10 320] full1.bias[10]",
			input:   "input[batch 3 32 32]",
			outputs: "scores[batch 10] probs[batch 10]",
		},
		{
			spec: "alexnet",
			ops: "Conv Relu LRN MaxPool Conv Relu LRN MaxPool Conv Relu Conv Relu Conv Relu MaxPool " +
				"Flatten Gemm Relu Flatten Gemm Relu Flatten Gemm Softmax",
			attrs: map[string]string{
				"conv1": "group=1 kernel_shape=[11 11] pads=[0 0 0 0] strides=[4 4]",
				"conv2": "group=2 kernel_shape=[5 5] pads=[2 2 2 2] strides=[1 1]",
				"norm2": "alpha=0.0001 beta=0.75 bias=1 size=5",
				"pool3": "kernel_shape=[3 3] strides=[2 2]",
			},
			inits: "conv1.weight[96 3 11 11] conv1.bias[96] conv2.weight[256 48 5 5] conv2.bias[256] " +
				"conv3.weight[384 256 3 3] conv3.bias[384] conv4.weight[384 192 3 3] conv4.bias[384] " +
				"conv5.weight[256 192 3 3] conv5.bias[256] full1.weight[4096 9216] full1.bias[4096] " +
				"full2.weight[4096 4096] full2.bias[4096] full3.weight[1000 4096] full3.bias[1000]",
			input:   "input[batch 3 227 227]",
			outputs: "scores[batch 1000] probs[batch 1000]",
		},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			net := compileSpec(t, tc.spec, "")
			params := randomParams(net, rand.New(rand.NewPCG(1, 2)))
			m := decode(t, export(t, net, params))
			if v := m.int(modelIRVersion); v != 8 {
				t.Errorf("ir_version %d, want 8", v)
			}
			if p := m.str(modelProducerName); p != "netc" {
				t.Errorf("producer_name %q, want netc", p)
			}
			opset := m.msg(t, modelOpsetImport)
			if d, v := opset.str(1), opset.int(opsetVersion); d != "" || v != 13 {
				t.Errorf("opset_import %q %d, want ai.onnx (empty domain) 13", d, v)
			}
			g := m.msg(t, modelGraph)
			if name := g.str(graphName); name != tc.spec {
				t.Errorf("graph name %q, want %q", name, tc.spec)
			}

			var ops []string
			prev := InputName
			for i, n := range g.msgs(t, graphNode) {
				ops = append(ops, n.str(nodeOpType))
				if in := n.strs(nodeInput); len(in) == 0 || in[0] != prev {
					t.Errorf("node %d (%s) inputs %q, want the previous output %q first", i, n.str(nodeName), in, prev)
				}
				prev = n.str(nodeOutput)
				if want, ok := tc.attrs[n.str(nodeName)]; ok {
					if got := n.attrs(t); got != want {
						t.Errorf("node %s attributes %q, want %q", n.str(nodeName), got, want)
					}
					delete(tc.attrs, n.str(nodeName))
				}
			}
			if got := strings.Join(ops, " "); got != tc.ops {
				t.Errorf("ops\n%s\nwant\n%s", got, tc.ops)
			}
			if len(tc.attrs) > 0 {
				t.Errorf("no nodes named %v", tc.attrs)
			}

			var inits []string
			for _, in := range g.msgs(t, graphInitializer) {
				name, dims := in.str(tensorName), in.ints(tensorDims)
				inits = append(inits, fmt.Sprintf("%s%v", name, dims))
				if dt := in.int(tensorDataType); dt != dtypeFloat {
					t.Errorf("%s data_type %d, want FLOAT", name, dt)
				}
				// The bytes are the parameters at the layer's offsets.
				layer, kind, _ := strings.Cut(name, ".")
				for _, l := range net.Layers {
					if l.Name != layer {
						continue
					}
					off, size := l.WeightOff, l.Weights()
					if kind == "bias" {
						off, size = l.BiasOff, l.Filters
					}
					if raw := in[tensorRawData][0].([]byte); !bytes.Equal(raw, f32bytes(params[off:off+size])) {
						t.Errorf("%s: raw_data (%d bytes) differs from params[%d:%d]", name, len(raw), off, off+size)
					}
				}
			}
			if got := strings.Join(inits, " "); got != tc.inits {
				t.Errorf("initializers\n%s\nwant\n%s", got, tc.inits)
			}

			show := func(vs []pb) string {
				var s []string
				for _, v := range vs {
					s = append(s, fmt.Sprintf("%s%v", v.str(valueName), v.dims(t)))
				}
				return strings.Join(s, " ")
			}
			if got := show(g.msgs(t, graphInput)); got != tc.input {
				t.Errorf("inputs %s, want %s", got, tc.input)
			}
			if got := show(g.msgs(t, graphOutput)); got != tc.outputs {
				t.Errorf("outputs %s, want %s", got, tc.outputs)
			}
		})
	}
}

// TestDeterministic exports the same network twice.
func TestDeterministic(t *testing.T) {
	net := compileSpec(t, "lenet-mnist", "")
	params := randomParams(net, rand.New(rand.NewPCG(3, 4)))
	if a, b := export(t, net, params), export(t, net, params); !bytes.Equal(a, b) {
		t.Error("two exports of the same network differ")
	}
}

func TestExportErrors(t *testing.T) {
	net := compileSpec(t, "lenet-mnist", "")
	err := Export(&bytes.Buffer{}, net, make([]float32, net.Params-1))
	if err == nil || !strings.Contains(err.Error(), "5994 parameters, got 5993") {
		t.Errorf("short parameters: error %v", err)
	}
	if err := Export(&bytes.Buffer{}, &compiler.Net{}, nil); err == nil {
		t.Error("empty network: no error")
	}
	if err := Export(failWriter{}, net, make([]float32, net.Params)); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing writer: error %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

// TestNodeFallbacks checks the nodes of the cases ONNX Runtime's LRN cannot take and of
// layers after a full layer.
func TestNodeFallbacks(t *testing.T) {
	for _, tc := range []struct{ src, ops string }{
		{"input 4x3x3\nnorm size4 alpha1\nsvm", "Mul Conv Add Pow Mul Flatten"},
		{"input 4x3x3\nnorm alpha0 k2 | norm beta0\nsvm", "Mul Conv Add Pow Mul Mul Conv Add Pow Mul Flatten"},
		{"input 2x3x3\nfull 8 | relu\nconv 4 1x1 | relu\neuclidean", "Flatten Gemm Relu Reshape Conv Relu Flatten"},
		{"input 2x3x3\nrelu | euclidean", "Relu Flatten"},
		{"input 2x3x3\nfull 4 | dropout 0.5\nsvm", "Flatten Gemm"},
	} {
		net := compileSpec(t, "fallback", tc.src)
		g := decode(t, export(t, net, make([]float32, net.Params+net.Buffers))).msg(t, modelGraph)
		var ops []string
		for _, n := range g.msgs(t, graphNode) {
			ops = append(ops, n.str(nodeOpType))
		}
		if got := strings.Join(ops, " "); got != tc.ops {
			t.Errorf("%q: ops %s, want %s", tc.src, got, tc.ops)
		}
	}
}

// ortNodeModules finds a node_modules holding onnxruntime-node (see RuntimeNodeModules).
// Without one the test fails under CI and is skipped otherwise.
func ortNodeModules(t *testing.T) string {
	t.Helper()
	d, err := RuntimeNodeModules()
	if err != nil {
		msg := err.Error() + "; " + InstallHint
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return d
}

// ortSpecs are the networks run in ONNX Runtime: the four reference specs and small ones
// covering every other layer form.
var ortSpecs = []struct{ name, src string }{
	{"cifar-small", ""},
	{"lenet-mnist", ""},
	{"vgg-style", ""},
	{"alexnet", ""},
	{"tanh-sigmoid-avg", "input 3x12x12\nconv 6 3x3 pad1 | tanh | pool avg 2x2 s2\nconv 8 3x3 stride2 pad1 | sigmoid | pool avg 3x2 s1x2\nfull 5 | svm"},
	{"lrn3", "input 8x6x6\nconv 8 3x3 pad1 | relu | norm size3 alpha2 beta0.75 k1.5 | pool max 2x2 s2\nfull 4 | softmax"},
	{"lrn-fallback", "input 7x5x5\nnorm size4 alpha3 beta0.6 k1\nnorm size2 alpha0 k2\nnorm size3 alpha1 beta0 k1\nconv 3 3x3 | euclidean"},
	{"meansub-channel", "input 3x8x8\nmeansub channel\nconv 4 3x3 pad1 | relu | pool max 2x2\nfull 3 | softmax"},
	{"meansub-image", "input 3x7x6\nmeansub image\nconv 4 3x2 stride2x1 pad1x0 | relu\nfull 3 | softmax"},
	{"groups-stride", "input 4x11x11\nconv 8 3x3 stride2 pad1 group2 | relu\nconv 6 5x3 stride2x1 pad2x1 group2 | relu | pool max 3x3 s2\nfull 6 | relu | dropout 0.5\nfull 3 | softmax"},
	{"after-full", "input 2x5x5\nfull 8 | relu\nmeansub channel\nnorm size3 alpha1\nconv 6 1x1 | tanh\nsvm"},
	{"leaky", "input 3x8x8\nconv 4 3x3 pad1 | leaky | pool max 2x2\nfull 6 | leaky 0.2\nfull 3 | leaky 0 | softmax"},
	{"graph", "input 3x8x8\nconv 4 3x3 p1 nobias | bn | b0: relu\nconv 4 3x3 p1 | relu | add b0 | b1: relu\n" +
		"conv 8 1x1 s2 nobias from b1 | r2: bn | conv 8 3x3 s2 p1 from b1 | add r2 | a: relu\n" +
		"conv 2 1x1 | c: concat a | conv 8 1x1 from a | add a a | concat c | pool avg global\nfull 3 | softmax"},
	{"bn-nobias-global", "input 3x8x8\nconv 6 3x3 p1 nobias | bn | relu\nconv 6 3x3 s2 p1 group6 nobias | bn | relu | " +
		"conv 8 1x1 nobias | bn | pool avg global\nfull 6 | bn | full 3 | softmax"},
}

// TestONNXCoversEveryKind checks that ortSpecs, which run in ONNX Runtime, use every kind of
// layer netc knows: a new kind fails here until a network using it is added there.
func TestONNXCoversEveryKind(t *testing.T) {
	used := map[compiler.Kind]bool{compiler.Input: true}
	for _, spec := range ortSpecs {
		for _, l := range compileSpec(t, spec.name, spec.src).Layers {
			used[l.Kind] = true
		}
	}
	for _, k := range compiler.Kinds() {
		if !used[k.Kind] {
			t.Errorf("no network in ortSpecs uses %s", k.Kind)
		}
	}
}

// TestONNXRuntime exports each network with random parameters, runs it in ONNX Runtime
// on a random batch of two images with ort_run.js, and compares the scores (and the
// probabilities of a softmax network) with those of package reference, netc's float64
// oracle of every layer.
func TestONNXRuntime(t *testing.T) {
	nodeModules := ortNodeModules(t)
	script, err := filepath.Abs("ort_run.js")
	if err != nil {
		t.Fatal(err)
	}
	const batch = 2
	for _, spec := range ortSpecs {
		t.Run(spec.name, func(t *testing.T) {
			if spec.name == "alexnet" && testing.Short() {
				t.Skip("alexnet takes about 45 s (mostly package reference computing its backward pass too); skipped with -short")
			}
			start := time.Now()
			net := compileSpec(t, spec.name, spec.src)
			rng := rand.New(rand.NewPCG(7, uint64(len(spec.name))))
			params := randomParams(net, rng)
			x := make([]float32, batch*net.Input.Size())
			for i := range x {
				x[i] = float32(2*rng.Float64() - 1)
			}

			dir := t.TempDir()
			model := filepath.Join(dir, "model.onnx")
			f, err := os.Create(model)
			if err != nil {
				t.Fatal(err)
			}
			if err := Export(f, net, params); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			exported := time.Since(start)
			in, out, probs := filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32"), filepath.Join(dir, "probs.f32")
			if err := os.WriteFile(in, f32bytes(x), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{script, model, in, fmt.Sprint(batch), fmt.Sprint(net.Input.C), fmt.Sprint(net.Input.H), fmt.Sprint(net.Input.W), out}
			softmax := net.Loss().Kind == compiler.Softmax
			if softmax {
				args = append(args, probs)
			}
			cmd := exec.Command("node", args...)
			cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules)
			msg, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("ort_run.js: %v\n%s", err, msg)
			}
			ran := time.Since(start) - exported

			res, err := reference.Run(net, params, x, batch, make([]int32, batch), nil, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			ref := res.Scores
			got := readF32(t, out, batch*net.Outputs())
			diff, top := 0.0, 0.0
			for i, v := range ref {
				diff = max(diff, math.Abs(float64(got[i])-v))
				top = max(top, math.Abs(v))
			}
			t.Logf("%s: max|score| %.4g, max abs diff %.3g (relative %.3g); %d params, %d bytes; export %v, ORT %v, reference %v",
				spec.name, top, diff, diff/top, net.Params+net.Buffers, fileSize(t, model),
				exported.Round(time.Millisecond), ran.Round(time.Millisecond), (time.Since(start) - exported - ran).Round(time.Millisecond))
			if diff > 1e-4*top {
				t.Errorf("%s: scores differ by %.3g, more than 1e-4 × max|score| %.4g\n got %v\nwant %v", spec.name, diff, top, got, ref)
			}
			if softmax {
				p := readF32(t, probs, batch*net.Outputs())
				pdiff := 0.0
				for i := range batch {
					r := ref[i*net.Outputs() : (i+1)*net.Outputs()]
					m, s := math.Inf(-1), 0.0
					for _, v := range r {
						m = max(m, v)
					}
					for _, v := range r {
						s += math.Exp(v - m)
					}
					for j, v := range r {
						pdiff = max(pdiff, math.Abs(float64(p[i*len(r)+j])-math.Exp(v-m)/s))
					}
				}
				t.Logf("%s: probs max abs diff %.3g", spec.name, pdiff)
				if pdiff > 1e-5 {
					t.Errorf("%s: probabilities differ by %.3g", spec.name, pdiff)
				}
			}
		})
	}
}

func readF32(t *testing.T, path string, n int) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4*n {
		t.Fatalf("%s: %d bytes, want %d", path, len(b), 4*n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

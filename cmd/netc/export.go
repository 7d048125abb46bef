package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/internal/atomicfile"
	"github.com/netc-dev/netc/internal/flagargs"
	"github.com/netc-dev/netc/onnx"
	"github.com/netc-dev/netc/pytorch"
	"github.com/netc-dev/netc/runtime/weights"
)

func init() {
	register(command{"export", "export trained weights as safetensors (PyTorch layout) or ONNX, or a spec as a PyTorch package", runExport})
}

const exportUsage = `usage: netc export SPEC --weights FILE [-o OUT] [--format safetensors|onnx] [--force]
       netc export SPEC --format pytorch [-o DIR] [--weights FILE]

Export reads the weights of the spec's network from FILE — a checkpoint of netc train or any
safetensors file with the network's tensor names — and writes them to OUT:

  safetensors  the weights alone, one F32 tensor per parameter tensor named <layer>.weight,
               <layer>.bias (and <layer>.mean for meansub layers) in PyTorch's shapes, with
               metadata naming the spec and the preprocessing fitted in training; the same
               network built in PyTorch loads it as it is, and netc predict and netc train
               --weights read it back.
  onnx         an ONNX model (opset 13) taking "input" [N, C, H, W] after the preprocessing
               and giving "scores" (and "probs" for a softmax network).
  pytorch      a Python package in the folder DIR (default SPECNAME-pytorch): model.py, the
               network as an nn.Module whose state_dict is netc's tensors; train.py, which
               trains it as the spec's [train] section says, alone or under torchrun
               (DistributedDataParallel), writing checkpoints netc reads; netc_support.py.
               With --weights, also DIR/weights.safetensors (train.py --weights starts
               from it).

The format defaults to onnx when OUT ends in .onnx, else safetensors; OUT defaults to the
spec's name with the format's extension, in the current folder. No program is built.

flags:
`

func runExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("weights", "", "checkpoint or safetensors `file` holding the weights (required)")
	out := fs.String("o", "", "output `file` (default SPECNAME.safetensors or SPECNAME.onnx)")
	format := fs.String("format", "", "output `format`: safetensors, onnx or pytorch (default from -o's extension, else safetensors)")
	force := fs.Bool("force", false, "export weights recorded as another spec's if every tensor matches")
	fs.Usage = func() {
		fmt.Fprint(stderr, exportUsage)
		fs.PrintDefaults()
	}
	pos, err := flagargs.Parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 1 || *in == "" && *format != "pytorch" {
		if len(pos) > 1 {
			fmt.Fprintf(stderr, "netc export: one spec, not %d arguments (%s)\n", len(pos), strings.Join(pos, " "))
		} else if *in == "" && len(pos) == 1 {
			fmt.Fprintln(stderr, "netc export: --weights FILE is required")
		}
		fs.Usage()
		return 2
	}
	switch *format {
	case "":
		*format = "safetensors"
		if strings.EqualFold(filepath.Ext(*out), ".onnx") {
			*format = "onnx"
		}
	case "safetensors", "onnx", "pytorch":
	default:
		fmt.Fprintf(stderr, "netc export: unknown format %q (want safetensors, onnx or pytorch)\n", *format)
		return 2
	}
	net, ok := load(pos[0], stderr)
	if !ok {
		return 1
	}
	if *format == "pytorch" {
		return exportPyTorch(net, *out, *in, *force, stdout, stderr)
	}
	if *out == "" {
		*out = net.Name + "." + *format
	}
	if same(*out, *in) {
		fmt.Fprintf(stderr, "netc export: -o %s would overwrite the weights it reads\n", *out)
		return 2
	}
	f, params, err := readWeights(net, *in, *force)
	if err != nil {
		fmt.Fprintf(stderr, "netc export: %v\n", err)
		return 1
	}
	ts := specTensors(net)
	switch *format {
	case "safetensors":
		meta := f.Meta
		meta.Network, meta.SpecHash = net.Name, net.Hash
		err = weights.Write(*out, ts, params, meta)
	case "onnx":
		err = writeONNX(*out, net, params)
	}
	if err != nil {
		fmt.Fprintf(stderr, "netc export: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %d tensors, %s parameters of %s from %s\n",
		*out, *format, len(ts), commas(int64(net.Params+net.Buffers)), net.Name, *in)
	switch pre := f.Meta.Preprocess; {
	case pre == nil:
		fmt.Fprintf(stdout, "note: %s records no preprocessing\n", *in)
	case *format == "onnx":
		fmt.Fprintf(stdout, "the model takes preprocessed input, which it does not do itself: %s\n", weights.DescribePreprocess(pre))
	default:
		fmt.Fprintf(stdout, "preprocessing recorded in the metadata: %s\n", weights.DescribePreprocess(pre))
	}
	return 0
}

// exportPyTorch writes net's PyTorch package into dir (default SPECNAME-pytorch) and, if
// weights names a file, its weights as dir/weights.safetensors.
func exportPyTorch(net *compiler.Net, dir, weightsPath string, force bool, stdout, stderr io.Writer) int {
	if dir == "" {
		dir = net.Name + "-pytorch"
	}
	var f *weights.File
	var params []float32
	if weightsPath != "" {
		var err error
		if f, params, err = readWeights(net, weightsPath, force); err != nil {
			fmt.Fprintf(stderr, "netc export: %v\n", err)
			return 1
		}
	}
	if err := pytorch.Write(dir, net); err != nil {
		fmt.Fprintf(stderr, "netc export: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %s and %s of %s\n", dir, pytorch.ModelFile, pytorch.TrainFile, pytorch.SupportFile, net.Name)
	if f != nil {
		meta := f.Meta
		meta.Network, meta.SpecHash = net.Name, net.Hash
		path := filepath.Join(dir, "weights.safetensors")
		if err := weights.Write(path, specTensors(net), params, meta); err != nil {
			fmt.Fprintf(stderr, "netc export: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s from %s (train.py --weights %s starts from them)\n", path, weightsPath, path)
	}
	fmt.Fprintf(stdout, "train: python3 %s --data-dir DATA, or torchrun --standalone --nproc_per_node N %s --data-dir DATA\n",
		filepath.Join(dir, pytorch.TrainFile), filepath.Join(dir, pytorch.TrainFile))
	return 0
}

// specTensors returns the parameter tensors of a compiled spec.
func specTensors(net *compiler.Net) []weights.Tensor {
	var ts []weights.Tensor
	for _, t := range net.Tensors() {
		ts = append(ts, weights.Tensor{Name: t.Name, Shape: t.Shape, Offset: t.Offset, Size: t.Size})
	}
	return ts
}

// readWeights reads every parameter tensor of net from the weights file or checkpoint at
// path into a new flat parameter slice, refusing another spec's weights unless force.
func readWeights(net *compiler.Net, path string, force bool) (*weights.File, []float32, error) {
	f, err := weights.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if !force {
		if err := f.CheckSpec(net.Name, net.Hash); err != nil {
			return nil, nil, fmt.Errorf("%w; --force exports them anyway if every tensor matches", err)
		}
	}
	params := make([]float32, net.Params+net.Buffers)
	if err := f.Read(specTensors(net), params); err != nil {
		return nil, nil, err
	}
	return f, params, nil
}

// writeONNX writes the ONNX model of net to path atomically.
func writeONNX(path string, net *compiler.Net, params []float32) error {
	return atomicfile.Write(path, func(w io.Writer) error { return onnx.Export(w, net, params) })
}

// same reports whether two paths name the same existing file.
func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

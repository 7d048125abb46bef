// Package predict is the inference program of a generated network: Main loads trained
// weights and runs the network, in test mode, on a tensor of inputs or on image files.
// `netc predict SPEC ...` runs it as the predict subcommand of the program netc builds
// from the spec (see package cli):
//
//	PROGRAM predict --weights W [--input X.safetensors | IMAGE... | --data SET [--split test|train]]
//	        [-o OUT.safetensors] [--top K] [--labels FILE] [--resize | --crop] [--batch N]
//	        [--normalize] [--force]
//
// W is a weights file of netc export or a checkpoint of netc train (see package weights);
// every parameter tensor of the network must be in it with its shape.
//
// With --input, the file's tensor "input" ([N, C, H, W], float32 or another float dtype)
// goes through the network as it is — it is the network's input, after preprocessing,
// as the ONNX export takes it; --normalize applies the preprocessing recorded with the
// weights to it first (for pixels in [0, 1]). -o writes the tensors "logits" (the scores
// before the loss) and "probs" (their softmax along the classes), both [N, classes]
// float32; without -o the top K classes of each input are printed.
//
// With image files (PNG, JPEG, GIF), each is converted to the input shape (ImageTensor:
// gray or RGB by the network's input channels; scaled bilinearly to the input size, or
// with --crop scaled to cover it and centre-cropped), its pixels scaled to [0, 1] as the
// data loaders do, and the preprocessing recorded with the weights applied (the mean
// subtraction of training); then one line per file gives the top K classes with their
// probabilities:
//
//	seven.png: 7 99.93%, 3 0.04%, 9 0.01%
//
// -o writes their logits and probs too. Class names come from --labels (one name per
// line), else from the weights' metadata (classes, or the data set), else from the input
// shape (CIFAR-10 for 3x32x32; class numbers otherwise, which for 1x28x28 are MNIST's
// digits); see weights.Meta.ClassNames.
//
// With --data SET (mnist, fashion-mnist or cifar10; --data-dir for its folder), the
// network runs on the --split (test, the default, or train) of the labelled data set,
// normalized with the preprocessing recorded with the weights, and the program prints
// the per-class accuracy and the confusion matrix (rows: true class, columns: predicted),
// draws it as --confusion (confusion.png by default; "" for none), and ends with the line
//
//	accuracy 0.9877 on 10000 images of the mnist test set
//
// The probabilities are the softmax of the scores whatever the network's loss (for an
// svm or euclidean network they rank the classes but are not calibrated).
//
// Exit status: 0 on success, 1 on failure, 2 on bad usage.
package predict

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/netc-dev/netc/internal/flagargs"
	"github.com/netc-dev/netc/internal/limits"
	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/monitor"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/safetensors"
	"github.com/netc-dev/netc/runtime/weights"
)

// Tensor names of the input and output files.
const (
	InputName  = "input"
	LogitsName = "logits"
	ProbsName  = "probs"
)

// DefaultTop is the number of classes printed per input.
const DefaultTop = 3

// Main runs the prediction program of the network that newNet (a generated package's
// New, wrapped) makes, with the command-line arguments args; it returns the exit status.
func Main(newNet func(seed uint64) nn.Network, args []string, stdout, stderr io.Writer) int {
	return Run(newNet(1), args, stdout, stderr)
}

// Run is Main for a network already made (its parameters are overwritten by the weights).
func Run(net nn.Network, args []string, stdout, stderr io.Writer) int {
	info := net.Info()
	fs := flag.NewFlagSet(info.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	weightsPath := fs.String("weights", "", "weights `file` (netc export) or checkpoint (netc train); required")
	input := fs.String("input", "", "safetensors `file` whose tensor \"input\" [N, C, H, W] is run through the network")
	out := fs.String("o", "", "write the tensors \"logits\" and \"probs\" [N, classes] to this safetensors `file`")
	top := fs.Int("top", DefaultTop, "print the `K` most probable classes of each input")
	labels := fs.String("labels", "", "`file` of class names, one per line (default: from the weights or the data set)")
	resize := fs.Bool("resize", false, "scale images to the input size, whatever their aspect ratio (the default)")
	crop := fs.Bool("crop", false, "scale images to cover the input size keeping their aspect ratio, then crop the centre")
	batch := fs.Int("batch", 64, "run the network on `N` inputs at a time")
	normalize := fs.Bool("normalize", false, "apply the weights' preprocessing to the --input tensor too (for pixels in [0, 1])")
	force := fs.Bool("force", false, "use weights recorded as another spec's if every tensor matches")
	dataName := fs.String("data", "",
		"run on a labelled data `set` (mnist, fashion-mnist or cifar10): per-class accuracy and confusion matrix")
	dataDir := fs.String("data-dir", "", "`folder` of the --data set (default: its standard location)")
	split := fs.String("split", SplitTest, "`split` of the --data set: test or train")
	confusion := fs.String("confusion", monitor.ConfusionPNG,
		"draw the confusion matrix of the --data set as this PNG `file` (\"\" for none)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s --weights W [--input X.safetensors | IMAGE... | --data SET] [-o OUT.safetensors] [flags]\n\n"+
			"Runs network %s (input %dx%dx%d, %d classes) on a tensor of inputs, on PNG/JPEG images "+
			"or on a labelled data set.\n\nflags:\n",
			info.Name, info.Name, info.InC, info.InH, info.InW, info.Outputs)
		fs.PrintDefaults()
	}
	images, err := flagargs.Parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s\n", info.Name, fmt.Sprintf(format, a...))
		fs.Usage()
		return 2
	}
	switch {
	case *weightsPath == "":
		return usage("--weights FILE is required")
	case *input != "" && len(images) > 0, *dataName != "" && (*input != "" || len(images) > 0):
		return usage("give one of --input, image files and --data")
	case *input == "" && len(images) == 0 && *dataName == "":
		return usage("nothing to predict: give --input FILE, image files or --data SET")
	case *split != SplitTest && *split != SplitTrain:
		return usage("--split must be %s or %s, not %q", SplitTest, SplitTrain, *split)
	case *resize && *crop:
		return usage("--resize and --crop exclude each other")
	case *top < 1:
		return usage("--top must be at least 1, not %d", *top)
	case *batch < 1:
		return usage("--batch must be at least 1, not %d", *batch)
	case *normalize && *input == "":
		return usage("--normalize applies to --input only (images are always normalized)")
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "%s: %v\n", info.Name, err)
		return 1
	}

	wf, err := weights.Load(*weightsPath, net, *force)
	if err != nil {
		if errors.Is(err, weights.ErrOtherSpec) {
			err = fmt.Errorf("%w; --force uses them anyway if every tensor matches", err)
		}
		return fail(err)
	}
	names := wf.Meta.ClassNames(info.Outputs, info.InC, info.InH, info.InW)
	if *labels != "" {
		if names, err = ReadLabels(*labels, info.Outputs); err != nil {
			return fail(err)
		}
	}
	pre := wf.Meta.Preprocess
	if pre != nil {
		if err := pre.Apply(&data.Dataset{C: info.InC, H: info.InH, W: info.InW}); err != nil {
			return fail(fmt.Errorf("%s: preprocessing metadata: %v", *weightsPath, err))
		}
	}
	if *dataName != "" {
		o := labelled{data: *dataName, dir: *dataDir, split: *split, confusion: *confusion, out: *out,
			batch: *batch, labels: *labels != ""}
		if err := runLabelled(net, wf, names, o, stdout, stderr); err != nil {
			return fail(err)
		}
		return 0
	}

	var x []float32
	var rows []string // what each input is called in the printed lines
	if *input != "" {
		if x, err = ReadInput(*input, info); err != nil {
			return fail(err)
		}
		n := len(x) / info.InputSize()
		for i := range n {
			rows = append(rows, fmt.Sprintf("%s[%d]", *input, i))
		}
		if *normalize {
			if pre == nil {
				fmt.Fprintf(stderr, "%s: warning: %s records no preprocessing; --normalize does nothing\n", info.Name, *weightsPath)
			} else {
				for i := range n {
					pre.ApplyImage(x[i*info.InputSize() : (i+1)*info.InputSize()])
				}
			}
		}
	} else {
		fit := Resize
		if *crop {
			fit = Crop
		}
		if pre == nil {
			fmt.Fprintf(stderr, "%s: warning: %s records no preprocessing; images go in as pixels in [0, 1]\n", info.Name, *weightsPath)
		}
		x = make([]float32, 0, len(images)*info.InputSize())
		for _, path := range images {
			img, err := ReadImage(path)
			if err != nil {
				return fail(err)
			}
			v, err := ImageTensor(img, info.InC, info.InH, info.InW, fit)
			if err != nil {
				return fail(fmt.Errorf("%s: %v", path, err))
			}
			if pre != nil {
				pre.ApplyImage(v)
			}
			x = append(x, v...)
		}
		rows = images
	}

	logits := Forward(net, x, *batch)
	probs := Softmax(logits, info.Outputs)
	if *out != "" {
		if err := WriteOutput(*out, info, logits, probs, names); err != nil {
			return fail(err)
		}
	}
	if *out == "" || len(images) > 0 {
		k := min(*top, info.Outputs)
		for i, row := range rows {
			p := probs[i*info.Outputs : (i+1)*info.Outputs]
			var b strings.Builder
			for j, c := range TopK(p, k) {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%s %s", names[c], percent(p[c]))
			}
			fmt.Fprintf(stdout, "%s: %s\n", row, b.String())
		}
	}
	if *out != "" {
		fmt.Fprintf(stdout, "wrote %s: %s and %s [%d, %d]\n", *out, LogitsName, ProbsName, len(rows), info.Outputs)
	}
	return 0
}

// percent formats a probability as a percentage with two decimals ("99.93%").
func percent(p float32) string { return fmt.Sprintf("%.2f%%", 100*float64(p)) }

// ReadInput reads the tensor "input" of the safetensors file at path, which must be
// [N, C, H, W] with the network's C, H and W (N ≥ 1), and returns its N×C×H×W values.
func ReadInput(path string, info *nn.Info) ([]float32, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	x, err := f.Float32(InputName, []int{-1, info.InC, info.InH, info.InW})
	if err != nil {
		return nil, err
	}
	if len(x) == 0 {
		return nil, fmt.Errorf("%s: tensor %q holds no input (N = 0)", path, InputName)
	}
	return x, nil
}

// WriteOutput writes logits and probs, each [N, outputs], to the safetensors file at path,
// with metadata naming the network and its classes.
func WriteOutput(path string, info *nn.Info, logits, probs []float32, classes []string) error {
	n := len(logits) / info.Outputs
	shape := []int{n, info.Outputs}
	meta := weights.Meta{Network: info.Name, SpecHash: info.SpecHash, Classes: classes}.Map()
	meta[weights.KeyFormat] = "netc-predictions-1"
	return safetensors.WriteFile(path, []safetensors.Tensor{
		safetensors.Float32Tensor(LogitsName, shape, logits),
		safetensors.Float32Tensor(ProbsName, shape, probs),
	}, meta)
}

// ReadLabels reads class names, one per non-empty line (spaces around a name trimmed),
// from the regular file at path, of at most limits.MaxTextSize bytes; there must be
// exactly classes of them.
func ReadLabels(path string, classes int) ([]string, error) {
	b, err := limits.ReadFile(path, limits.MaxTextSize, "limits.MaxTextSize")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if s := strings.TrimSpace(line); s != "" {
			names = append(names, s)
		}
	}
	if len(names) != classes {
		return nil, fmt.Errorf("%s: %d class names, the network has %d classes", path, len(names), classes)
	}
	return names, nil
}

// Forward runs net in test mode on the inputs x (whole images back to back), batch of
// them at a time, and returns the scores, Outputs per input, in a new slice.
func Forward(net nn.Network, x []float32, batch int) []float32 {
	info := net.Info()
	size := info.InputSize()
	n := len(x) / size
	out := make([]float32, 0, n*info.Outputs)
	var ws, short *nn.Workspace
	for i := 0; i < n; i += batch {
		m := min(batch, n-i)
		var w *nn.Workspace
		if m == batch {
			if ws == nil {
				ws = net.NewWorkspace(batch)
				ws.InputGrad = nil
			}
			w = ws
		} else {
			short = net.NewWorkspace(m)
			short.InputGrad = nil
			w = short
		}
		out = append(out, net.Forward(w, x[i*size:(i+m)*size], false)...)
	}
	return out
}

// Softmax returns the softmax of each row of outputs scores, computed in float64.
func Softmax(scores []float32, outputs int) []float32 {
	probs := make([]float32, len(scores))
	for i := 0; i+outputs <= len(scores); i += outputs {
		row := scores[i : i+outputs]
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - m)
		}
		for j, v := range row {
			probs[i+j] = float32(math.Exp(float64(v)-m) / sum)
		}
	}
	return probs
}

// TopK returns the indices of the k largest values of p, largest first (the lower index
// first among equal values).
func TopK(p []float32, k int) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	return idx[:min(k, len(idx))]
}

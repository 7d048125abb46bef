package predict

import (
	"fmt"
	"io"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/monitor"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/weights"
)

// Splits of a data set that --split names.
const (
	SplitTest  = "test"
	SplitTrain = "train"
)

// LoadSplit loads the split ("test" or "train") of the named data set (see data.Load;
// dir "" is its default location).
func LoadSplit(name, dir, split string) (*data.Dataset, error) {
	if split != SplitTest && split != SplitTrain {
		return nil, fmt.Errorf("unknown split %q (want %s or %s)", split, SplitTest, SplitTrain)
	}
	train, test, err := data.Load(name, dir)
	if err != nil {
		return nil, err
	}
	if split == SplitTrain {
		return train, nil
	}
	return test, nil
}

// Evaluate runs net in test mode on the labelled images of ds, batch at a time, after
// normalizing them in place with pre (nil: the pixels go in as they are), and returns the
// scores (Outputs per image) and the confusion matrix of its predictions, whose classes
// are named by names.
func Evaluate(net nn.Network, ds *data.Dataset, pre *data.Preprocess, batch int,
	names []string) ([]float32, *monitor.Confusion, error) {
	info := net.Info()
	if ds.C != info.InC || ds.H != info.InH || ds.W != info.InW {
		return nil, nil, fmt.Errorf("the images are %dx%dx%d, network %s takes %dx%dx%d",
			ds.C, ds.H, ds.W, info.Name, info.InC, info.InH, info.InW)
	}
	if ds.Classes > info.Outputs {
		return nil, nil, fmt.Errorf("the data set has %d classes, network %s only %d outputs",
			ds.Classes, info.Name, info.Outputs)
	}
	if err := ds.Validate(); err != nil {
		return nil, nil, err
	}
	if pre != nil {
		if err := pre.Apply(ds); err != nil {
			return nil, nil, err
		}
	}
	logits := Forward(net, ds.X, batch)
	conf := monitor.NewConfusion(info.Outputs, names)
	conf.AddScores(logits, ds.Labels)
	return logits, conf, nil
}

// labelled is what a run on a labelled data set needs from the command line.
type labelled struct {
	data, dir, split string // the data set, its folder and the split
	confusion        string // the picture to draw ("" for none)
	out              string // the logits and probs file ("" for none)
	batch            int
	labels           bool // class names came from --labels
}

// runLabelled runs net (its weights loaded from wf) on a split of a labelled data set,
// normalized with the weights' preprocessing, and prints the per-class accuracy, the
// confusion matrix and, as the last line, the accuracy; it draws the matrix too.
func runLabelled(net nn.Network, wf *weights.File, names []string, o labelled, stdout, stderr io.Writer) error {
	info := net.Info()
	ds, err := LoadSplit(o.data, o.dir, o.split)
	if err != nil {
		return err
	}
	if !o.labels && len(ds.ClassNames) == info.Outputs {
		names = ds.ClassNames
	}
	if wf.Meta.Preprocess == nil {
		fmt.Fprintf(stderr, "%s: warning: %s records no preprocessing; images go in as pixels in [0, 1]\n",
			info.Name, wf.Path)
	}
	logits, conf, err := Evaluate(net, ds, wf.Meta.Preprocess, o.batch, names)
	if err != nil {
		return fmt.Errorf("%s %s: %w", o.data, o.split, err)
	}
	if o.out != "" {
		if err := WriteOutput(o.out, info, logits, Softmax(logits, info.Outputs), names); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: %s and %s [%d, %d]\n", o.out, LogitsName, ProbsName, ds.Len(), info.Outputs)
	}
	what := fmt.Sprintf("%s %s set", o.data, o.split)
	fmt.Fprintf(stdout, "%s: per class (rows: true class, columns: predicted):\n", what)
	if err := conf.WriteTable(stdout); err != nil {
		return err
	}
	if o.confusion != "" {
		title := fmt.Sprintf("%s on the %s: accuracy %.4f (%d images)", info.Name, what, conf.Accuracy(), conf.Total())
		if err := conf.WritePNG(o.confusion, title); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", o.confusion)
	}
	fmt.Fprintf(stdout, "accuracy %.4f on %d images of the %s\n", conf.Accuracy(), conf.Total(), what)
	return nil
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/netc-dev/netc/runtime/charts"
	"github.com/netc-dev/netc/runtime/train"
)

func init() {
	register(command{"train", "train a network on a dataset", runTrain})
}

const trainUsage = `usage: netc train SPEC [flags]

Train builds the spec's program (see "netc help") and runs it with the flags: it loads
the data set, holds out a validation split from the end of the training set, prints the
initial loss, one line per epoch (loss, training and validation accuracy, learning rate, img/s)
and, as its last line, "test accuracy A". The spec's [train] section gives the defaults,
which the flags override. A run folder (runs/SPEC-TIME unless --run) receives the metrics
(iters.csv, epochs.csv), the checkpoint of each epoch (checkpoint.safetensors, and
best.safetensors for the best validation accuracy) and the filters; netc draws the charts
(loss.png, accuracy.png, lr.png) when the program ends. Ctrl-C stops with a checkpoint, and
--resume FILE continues it exactly.

Sanity checks: --overfit N trains on N images without regularization and must reach 100%
training accuracy; training stops at once when the loss is NaN, infinite or more than
3× the initial loss. After the first epoch and at the end, a loss not below the initial
loss or an accuracy at chance gets a warning naming the likely cause and the flag to
change; a run that ends so exits with status 3. The end prints the test set's per-class
accuracy and confusion matrix (confusion.png in the run folder).

flags (defaults here are netc's; "netc train SPEC -h" shows the spec's):
`

func runTrain(args []string, stdout, stderr io.Writer) int {
	i := specIndex(args)
	if i < 0 {
		fmt.Fprint(stderr, trainUsage)
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfg := train.DefaultConfig(nil)
		cfg.RegisterFlags(fs)
		fs.PrintDefaults()
		return 2
	}
	net, ok := loadSpec(args[i], stderr)
	if !ok {
		return 1
	}
	dir, rest := runFolder(net.Name, slices.Concat(args[:i], args[i+1:]), time.Now())
	status := runProgram(net, "train", rest, stdout, stderr)
	if dir != "" {
		// Drawn here rather than in the program, which then does not link the plotting
		// library (7.4 MB of its 15.7).
		err := charts.WriteAll(dir, false)
		if err != nil && !errors.Is(err, charts.ErrNoEpochs) && status == 0 {
			fmt.Fprintf(stderr, "netc: warning: charts: %v\n", err)
		}
	}
	return status
}

// runFolder returns the run folder that the training program will write given args,
// its flags, and the args to run it with: the folder of --run, else that of the
// checkpoint of --resume, else none with --overfit, else the default folder of name at
// now, which is then passed with --run so that netc knows it. Flags that do not parse
// give no folder: the program will say what is wrong.
func runFolder(name string, args []string, now time.Time) (string, []string) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := train.DefaultConfig(nil)
	cfg.RegisterFlags(fs)
	switch {
	case fs.Parse(args) != nil:
		return "", args
	case cfg.RunDir != "":
		return cfg.RunDir, args
	case cfg.Resume != "":
		return filepath.Dir(cfg.Resume), args
	case cfg.Overfit > 0:
		return "", args
	}
	dir := train.DefaultRunDir(name, now)
	return dir, append(slices.Clip(args), "--run", dir)
}

package main

import (
	"flag"
	"fmt"
	"io"
	"slices"

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
best.safetensors for the best validation accuracy) and charts; Ctrl-C stops with a
checkpoint, and --resume FILE continues it exactly.

Sanity checks: --overfit N trains on N images without regularization and must reach 100%
training accuracy; training stops at once when the loss is NaN, infinite or more than
3× the initial loss.

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
	return runProgram(net, "train", slices.Concat(args[:i], args[i+1:]), stdout, stderr)
}

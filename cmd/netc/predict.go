package main

import (
	"fmt"
	"io"
	"slices"
)

func init() {
	register(command{"predict", "run a trained network on a tensor of inputs or on images", runPredict})
}

const predictUsage = `usage: netc predict SPEC --weights W [--input X.safetensors | IMAGE... | --data SET] [-o OUT.safetensors]
                    [--top K] [--labels FILE] [--resize | --crop] [--batch N] [--normalize] [--force]

Predict builds the spec's program (see "netc help") and runs it: it loads the weights W
(netc export's safetensors or a checkpoint of netc train) and runs the network in test
mode.

With --input, the tensor "input" [N, C, H, W] of the file is the network's input as it is
(--normalize applies the training preprocessing first); -o writes the tensors "logits" and
"probs" [N, classes], and without -o the top classes of each input are printed.

With image files (PNG, JPEG), each is converted to the input shape (gray or RGB; scaled to
the input size, or with --crop scaled keeping its aspect ratio and centre-cropped), its
pixels scaled to [0, 1] and the preprocessing recorded with the weights applied; one line
per file gives the top K classes (default 3) with their probabilities. Class names come
from --labels (one per line), the weights' metadata, or the data set of the input shape
(CIFAR-10 for 3x32x32; the class numbers, i.e. MNIST's digits, for 1x28x28).

With --data SET (mnist, fashion-mnist or cifar10) it runs on the labelled --split (test,
the default, or train) of the data set, prints the per-class accuracy and the confusion
matrix, draws it as --confusion FILE (confusion.png) and ends with "accuracy A on N images".

"netc predict SPEC -h" lists the program's flags.
`

func runPredict(args []string, stdout, stderr io.Writer) int {
	i := specIndex(args)
	if i < 0 {
		fmt.Fprint(stderr, predictUsage)
		return 2
	}
	net, ok := loadSpec(args[i], stderr)
	if !ok {
		return 1
	}
	return runProgram(net, "predict", slices.Concat(args[:i], args[i+1:]), stdout, stderr)
}

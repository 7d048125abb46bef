package main

import (
	"fmt"
	"io"
)

func init() {
	register(command{"tune", "search the learning rate and regularization, coarse to fine", runTune})
}

const tuneUsage = `usage: netc tune SPEC [-trials N] [-fine N] [-epochs E] [-images N] [-lr-min A -lr-max B]
                 [-reg-min A -reg-max B] [-parallel P] [-seed S] [-data NAME] [-o FILE]

Tune builds the spec's program (see "netc help") and runs a random search in log space:
-trials short runs with lr = 10^uniform(lr-min, lr-max) and L2 = 10^uniform(reg-min,
reg-max), each -epochs long on -images training images, abandoned when the loss exceeds 3×
its initial value; then -fine runs around the best three. It prints the trials sorted by validation accuracy and the best
settings as a [train] section (written to FILE with -o).
`

func runTune(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" {
		fmt.Fprint(stderr, tuneUsage)
		return 2
	}
	net, ok := loadSpec(args[0], stderr)
	if !ok {
		return 1
	}
	return runProgram(net, "tune", args[1:], stdout, stderr)
}

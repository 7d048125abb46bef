// Package cli is the command line of the program netc builds from a spec: one program
// with the subcommands train, bench, tune, predict and gradients. Its main is the same for every
// spec,
//
//	func main() { os.Exit(cli.Main(New, os.Args[1:])) }
//
// where New is the generated package's constructor (in the program netc builds, the
// generated code is package main itself). A downstream module gets the same program by
// calling Main with its generated package's New.
//
// The program links no plotting library: the charts of a training run (package charts)
// are drawn by netc train when the program has finished, or by netc plot RUNDIR.
package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/netc-dev/netc/runtime/bench"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/predict"
	"github.com/netc-dev/netc/runtime/train"
	"github.com/netc-dev/netc/runtime/tune"
)

// command is one subcommand: the tool's Main, which parses its own flags from args and
// returns the exit status.
type command struct {
	name, summary string
	run           func(newNet func(seed uint64) nn.Network, args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands, in the order the usage shows them.
var commands = []command{
	{"train", "train the network on a data set", train.Main},
	{"bench", "measure the speed of inference or training steps", bench.Main},
	{"tune", "search the learning rate and L2, coarse to fine", tune.Main},
	{"predict", "run trained weights on a tensor of inputs or on images", predict.Main},
	{"gradients", "write the gradients of one step on given data (netc gradcheck's side)", gradientsMain},
}

// Main runs the subcommand named by args[0] with the rest of args on the network newNet
// makes (a generated package's New), writing to os.Stdout and os.Stderr, and returns the
// exit status: the subcommand's, or 2 for a missing or unknown subcommand.
func Main[N nn.Network](newNet func(seed uint64) N, args []string) int {
	return Run(func(seed uint64) nn.Network { return newNet(seed) }, args, os.Stdout, os.Stderr)
}

// Run is Main with the network constructor and the writers given.
func Run(newNet func(seed uint64) nn.Network, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		usage(newNet, stderr)
		return 2
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(newNet, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "unknown command %q\n", args[0])
	usage(newNet, stderr)
	return 2
}

func usage(newNet func(seed uint64) nn.Network, w io.Writer) {
	info := newNet(1).Info()
	prog := filepath.Base(os.Args[0])
	fmt.Fprintf(w, "usage: %s <command> [flags]\n\n"+
		"The program of network %s (input %dx%dx%d, %d outputs, spec sha256 %.12s).\n\ncommands:\n",
		prog, info.Name, info.InC, info.InH, info.InW, info.Outputs, info.SpecHash)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's flags.\n", prog)
}

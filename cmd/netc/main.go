// Netc compiles a convolutional-network spec into specialized Go code for its forward and
// backward passes, and trains, benchmarks and exports the result.
//
// Usage:
//
//	netc check [-json] FILE...            check specs and print their layers, shapes and costs
//	netc compile [-o DIR] [-pkg NAME] FILE  generate a Go package for the spec
//	netc export SPEC --weights CKPT [-o OUT] [--format safetensors|onnx]
//	                                      write trained weights as safetensors or ONNX
//	netc predict SPEC --weights W [--input X.safetensors | IMAGE...] [-o OUT]
//	                                      run a trained network on inputs or images
//	netc train SPEC [--data mnist|fashion-mnist|cifar10] [--epochs N] [flags]
//	                                      train the network; -h lists every flag
//	netc bench SPEC [-train] [-batch N] [-threads T]
//	                                      time a network, per layer; "img/s N" last
//	netc bench gemm N                     time an N×N×N matrix product; "GFLOP/s N" last
//	netc tune SPEC [-trials N] [-fine N] [-epochs E] [-o FILE]
//	                                      search learning rate and L2, coarse to fine
//	netc gradcheck SPEC [-batch N] [-samples K] [-seed S] [-eval]
//	                                      check the backward pass against numerical gradients
//	netc plot [-log] RUNDIR               redraw a training run's charts
//	netc version                          print netc's version and its runtime's
//
// train, bench, tune, predict and gradcheck run the spec's program: the generated code
// with a fixed main whose subcommands are train, bench, tune, predict and gradients
// (package runtime/cli). netc builds it once per spec
// and netc version, in any folder and offline: the binary carries the source of netc's
// runtime and writes it once as a module into its cache ($NETC_CACHE, default netc/ in
// the user's cache folder), which the program's go.mod points at; the Go toolchain and
// the module cache do the rest. SPEC is a file, or the name of a reference spec netc
// carries, one of specs/ in netc's repository (lenet-mnist, cifar-small, ...).
//
// A spec is a chain of layers, one per line or joined by "|", with an optional training
// section:
//
//	input 3x32x32
//	conv 16 5x5 stride1 pad2 | relu | pool 2x2 s2
//	full 10 | softmax
//
//	[train]
//	lr 0.01
//
// To generate a network inside your own module, make netc one of its tools (go get -tool
// github.com/netc-dev/netc/cmd/netc) and put a line like this in a Go file of the package
// directory that should hold it:
//
//	//go:generate go tool netc compile -o . -pkg mynet mynet.net
//
// Errors in a spec are reported as "file:line:col: message", followed by the source line
// and a caret; netc exits with status 1 when a spec has errors and 2 on bad usage.
package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: its name, a one-line summary and its body, which returns the
// process's exit status. Each command's file registers it in an init function.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

var registry []command

func register(c command) { registry = append(registry, c) }

// commands returns the registered commands sorted by name.
func commands() []command {
	cs := slices.Clone(registry)
	slices.SortFunc(cs, func(a, b command) int { return strings.Compare(a.name, b.name) })
	return cs
}

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "netc: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: netc <command> [flags] [arguments]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\ntrain, bench, tune, predict and gradcheck build the spec's program, once per spec and netc version\n"+
		"(in $NETC_CACHE, default netc/ in the user's cache folder), and run it. SPEC is a file or\n"+
		"the name of a reference spec netc carries:\n  "+strings.Join(referenceSpecs(), ", "))
	fmt.Fprintln(w, "\nRun 'netc <command> -h' for a command's flags.")
}

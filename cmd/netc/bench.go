package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/netc-dev/netc/runtime/kernels"
)

func init() {
	register(command{"bench", "measure a network's speed (or GEMM's: bench gemm N)", runBench})
}

const benchUsage = `usage: netc bench SPEC [-train] [-batch N] [-threads T] [-duration D]
       netc bench gemm N

Bench builds the spec's program (see "netc help") and runs it: warm-up steps, then
steady-state steps on random data; it prints the time and GFLOP/s of each layer and, as
its last line, "img/s N". With -train a step is forward, loss, backward and an
SGD-momentum update with weight decay.
"bench gemm N" times an N×N×N single-precision matrix product and prints "GFLOP/s N".
`

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" {
		fmt.Fprint(stderr, benchUsage)
		return 2
	}
	if args[0] == "gemm" {
		return benchGemm(args[1:], stdout, stderr)
	}
	net, ok := loadSpec(args[0], stderr)
	if !ok {
		return 1
	}
	return runProgram(net, "bench", args[1:], stdout, stderr)
}

func benchGemm(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, benchUsage)
		return 2
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		fmt.Fprintf(stderr, "netc: bench gemm: size %q is not a positive number\n", args[0])
		return 2
	}
	gflops, err := kernels.BenchGemm(n, 2*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "sgemm %d×%d×%d, kernels %s\nGFLOP/s %.1f\n", n, n, n, kernels.Path(), gflops)
	return 0
}

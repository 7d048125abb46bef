// Command down trains the generated package tiny for a few steps through netc's public
// API on one fixed batch, and prints the first and last loss.
package main

import (
	"fmt"
	"os"

	"example.com/down/tiny"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/train"
)

func main() {
	const batch = 16
	net := tiny.New(1)
	ws := net.NewWorkspace(batch)
	opt, err := train.NewOptimizer(train.OptimizerConfig{Method: "momentum", Momentum: 0.9}, net.Info())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rng := nn.NewRNG(2)
	x := make([]float32, batch*tiny.InputSize)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(i % tiny.Outputs)
	}
	var first, last float32
	for step := range 30 {
		net.Forward(ws, x, true)
		last = net.Backward(ws, labels)
		if step == 0 {
			first = last
		}
		opt.Step(net.Params(), net.Grads(), 0.05)
	}
	fmt.Println(first, last)
}

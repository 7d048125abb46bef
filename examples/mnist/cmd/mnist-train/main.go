// Command mnist-train trains the network that go generate put in package mnist, with the
// runtime's training loop: go run ./examples/mnist/cmd/mnist-train --data mnist --epochs 1.
package main

import (
	"os"

	"github.com/netc-dev/netc/examples/mnist"
	"github.com/netc-dev/netc/runtime/train"
)

func main() { os.Exit(train.Main(mnist.New, os.Args[1:])) }

// Command mnist is the program of the network that go generate put in package mnist, with
// the runtime's subcommands train, bench, tune and predict:
//
//	go run ./cmd/mnist train --data mnist --epochs 1
package main

import (
	"os"

	"github.com/netc-dev/netc/examples/mnist"
	"github.com/netc-dev/netc/runtime/cli"
)

func main() { os.Exit(cli.Main(mnist.New, os.Args[1:])) }

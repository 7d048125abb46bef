// Package mnist shows netc used from a downstream package: the network specified in
// mnist.net is generated into mnist_netc.go by go generate, and cmd/mnist-train trains it
// with the runtime's training loop.
package mnist

//go:generate go run github.com/netc-dev/netc/cmd/netc compile -o . -pkg mnist mnist.net

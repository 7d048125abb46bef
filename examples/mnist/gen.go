// Package mnist shows netc used from a downstream module: its go.mod makes netc a tool
// (the tool directive), the network specified in mnist.net is generated into
// mnist_netc.go by go generate (go tool netc compile), and cmd/mnist is the network's
// program, with the runtime's train, bench, tune and predict.
package mnist

//go:generate go tool netc compile -o . -pkg mnist mnist.net

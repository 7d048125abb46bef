package mnist

import (
	"bytes"
	"os"
	"testing"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/gen"
)

// TestGeneratedCodeIsFresh fails when mnist_netc.go is not what go generate would write
// from mnist.net today.
func TestGeneratedCodeIsFresh(t *testing.T) {
	src, err := os.ReadFile("mnist.net")
	if err != nil {
		t.Fatal(err)
	}
	net, err := compiler.Compile("mnist.net", src)
	if err != nil {
		t.Fatal(err)
	}
	want, err := gen.Generate(net, gen.Options{Package: "mnist"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(gen.FileName("mnist"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("mnist_netc.go is stale: run go generate ./examples/mnist")
	}
}

// TestForward runs the generated network once: scores have the declared shape.
func TestForward(t *testing.T) {
	net := New(1)
	ws := net.NewWorkspace(2)
	scores := net.Forward(ws, make([]float32, 2*InputSize), false)
	if len(scores) != 2*Outputs {
		t.Fatalf("got %d scores, want %d", len(scores), 2*Outputs)
	}
}

package compiler

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/netc-dev/netc/dsl"
)

// FuzzCompile compiles arbitrary bytes. Compile (parse, check and plan) must never panic;
// it fails with positioned errors or returns a network whose invariants hold. The seed
// corpus is every spec of the repository, good and bad, so plain `go test` runs them all.
func FuzzCompile(f *testing.F) {
	var paths []string
	for _, pattern := range []string{"../specs/*.net", "../testdata/layers/*.net", "../testdata/bad/*.net"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		f.Fatal("no seed specs")
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		net, err := Compile("fuzz.net", src)
		if err != nil {
			checkErrors(t, src, err)
			return
		}
		checkNet(t, net)
	})
}

// checkErrors checks that err is a non-empty dsl.ErrorList of positioned errors in source
// order, which Render can show.
func checkErrors(t *testing.T, src []byte, err error) {
	var list dsl.ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("error %T %q is not a non-empty dsl.ErrorList", err, err)
	}
	for i, e := range list {
		if e.Pos.Filename != "fuzz.net" || e.Pos.Line < 1 || e.Pos.Column < 1 || e.Msg == "" || e.Warning {
			t.Fatalf("bad error %#v", e)
		}
		if i > 0 && before(e.Pos, list[i-1].Pos) {
			t.Fatalf("errors out of order: %v before %v", list[i-1], e)
		}
	}
	_ = list.Render(src)
}

// checkNet checks the invariants of a compiled network.
func checkNet(t *testing.T, n *Net) {
	if len(n.Layers) == 0 || !n.Loss().Kind.IsLoss() {
		t.Fatalf("network without a loss")
	}
	positive := func(what string, s Shape) {
		if s.C < 1 || s.H < 1 || s.W < 1 || int64(s.C)*int64(s.H)*int64(s.W) > maxSize {
			t.Fatalf("%s shape %s", what, s)
		}
	}
	positive("input", n.Input)
	params, buffers, macs := 0, 0, int64(0)
	for i, l := range n.Layers {
		positive(l.Name+" output", l.Out)
		for k, in := range l.Inputs {
			want := n.Input
			if in >= i || in < -1 {
				t.Fatalf("%s reads layer %d", l.Name, in)
			}
			if in >= 0 {
				want = n.Layers[in].Out
			}
			if l.InShapes[k] != want || (k == 0 && l.In != want) {
				t.Fatalf("%s: input %d is %s, the output it reads %s", l.Name, k, l.InShapes[k], want)
			}
		}
		if i < len(n.Layers)-1 && l.Kind.IsLoss() {
			t.Fatalf("loss %s before the end", l.Name)
		}
		if l.Params < 0 || l.Buffer < 0 || l.MACs < 0 {
			t.Fatalf("%s: params %d, buffer %d, MACs %d", l.Name, l.Params, l.Buffer, l.MACs)
		}
		switch l.Kind {
		case Conv:
			if l.Groups < 1 || l.In.C%l.Groups != 0 || l.Filters%l.Groups != 0 || l.PH >= l.KH || l.PW >= l.KW {
				t.Fatalf("%s: invalid conv %+v", l.Name, l)
			}
			if l.Out.H != (l.In.H+2*l.PH-l.KH)/l.SH+1 || l.Out.W != (l.In.W+2*l.PW-l.KW)/l.SW+1 || l.Out.C != l.Filters {
				t.Fatalf("%s: output %s does not follow the formula", l.Name, l.Out)
			}
			fallthrough
		case Full:
			if l.Params != l.Weights()+biases(l) || l.MACs != int64(l.Weights())*int64(l.Out.H*l.Out.W) {
				t.Fatalf("%s: params %d, MACs %d for %d weights", l.Name, l.Params, l.MACs, l.Weights())
			}
		case Pool:
			if l.Out.H != (l.In.H-l.KH)/l.SH+1 || l.Out.W != (l.In.W-l.KW)/l.SW+1 || l.Out.C != l.In.C {
				t.Fatalf("%s: output %s does not follow the formula", l.Name, l.Out)
			}
		case Dropout:
			if !(l.Prob > 0 && l.Prob < 1) {
				t.Fatalf("%s: probability %g", l.Name, l.Prob)
			}
		}
		if l.Params > 0 {
			if l.WeightOff != params || l.BiasOff != l.WeightOff+l.Weights() {
				t.Fatalf("%s: weights at %d, biases at %d, after %d parameters", l.Name, l.WeightOff, l.BiasOff, params)
			}
		}
		params += l.Params
		macs += l.MACs
	}
	if params != n.Params || macs != n.MACs || n.Params > maxSize {
		t.Fatalf("layers add up to %d params, %d MACs; the network says %d, %d", params, macs, n.Params, n.MACs)
	}
	for _, l := range n.Layers {
		if l.Buffer > 0 {
			if l.BufferOff != n.Params+buffers {
				t.Fatalf("%s: buffer at %d, want %d", l.Name, l.BufferOff, n.Params+buffers)
			}
			buffers += l.Buffer
		}
	}
	if buffers != n.Buffers || n.Params+n.Buffers > maxSize {
		t.Fatalf("buffers add up to %d, the network says %d", buffers, n.Buffers)
	}
	checkPlan(t, n)
}

// checkPlan checks that every buffer of the plan lies within the workspace and that the
// stages hold every layer that has code, once, in order.
func checkPlan(t *testing.T, n *Net) {
	p := n.Plan
	if p.Init != "he" && p.Init != "xavier" {
		t.Fatalf("init %q", p.Init)
	}
	if p.PrivLo < 0 || p.PrivLo > p.PrivHi && p.PrivHi != 0 || p.PrivHi > n.Params {
		t.Fatalf("private parameters [%d, %d) of %d", p.PrivLo, p.PrivHi, n.Params)
	}
	within := func(l *Layer, what string, off, size, limit int) {
		if off < 0 || off+size > limit {
			t.Fatalf("%s: %s [%d, %d) outside [0, %d)", l.Name, what, off, off+size, limit)
		}
	}
	var order []int
	for i, l := range n.Layers {
		lp := l.Plan
		size := l.Out.Size()
		if l.Kind.IsLoss() {
			if lp.Out != -1 || lp.Grad != -1 {
				t.Fatalf("%s: loss with buffers %d, %d", l.Name, lp.Out, lp.Grad)
			}
		} else {
			within(l, "output", lp.Out, size, p.ImageFloats)
			within(l, "gradient", lp.Grad, size, p.ImageFloats)
		}
		if lp.Aux != -1 {
			within(l, "aux", lp.Aux, size, p.ImageFloats)
		}
		if lp.Index != -1 {
			within(l, "index", lp.Index, size, p.ImageInts)
		}
		if lp.Col < 0 || lp.Col > p.Col {
			t.Fatalf("%s: im2col %d, largest %d", l.Name, lp.Col, p.Col)
		}
		if lp.Fused && (i == 0 || !n.Layers[i-1].Plan.FuseReLU || l.Kind != ReLU) {
			t.Fatalf("%s: fused without a producer", l.Name)
		}
		if !lp.Fused {
			order = append(order, i)
		}
	}
	var staged []int
	for _, s := range p.Stages {
		if len(s.Layers) == 0 {
			t.Fatalf("empty stage")
		}
		for _, i := range s.Layers {
			if n.Layers[i].Plan.PerImage != s.PerImage {
				t.Fatalf("%s in a stage of the other kind", n.Layers[i].Name)
			}
		}
		staged = append(staged, s.Layers...)
	}
	if len(staged) != len(order) {
		t.Fatalf("stages hold %v, want %v", staged, order)
	}
	for i := range order {
		if staged[i] != order[i] {
			t.Fatalf("stages hold %v, want %v", staged, order)
		}
	}
}

// biases is the number of biases of a conv or full layer.
func biases(l *Layer) int {
	if l.NoBias {
		return 0
	}
	return l.Filters
}

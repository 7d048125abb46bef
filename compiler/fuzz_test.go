package compiler

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netc-dev/netc/dsl"
)

// chainSeeds are small specs for FuzzCompile's corpus that between them use every layer
// kind and option but the graph layers (from, add, concat: the specs in the repository
// have them), in chains, and each first layer and loss input that has code of its own.
var chainSeeds = []string{
	"input 3x8x8\nconv 4 3x3 pad1 | relu | pool max 2x2 s2\nfull 5 | softmax\n",
	"input 3x9x9 | conv 4 3x3 stride2 | tanh | pool avg 3x3 s2 | full 3 | svm margin 2",
	"input 2x6x6 | conv 3 1x1 | sigmoid | full 4 | euclidean",
	"input 4x7x7 | meansub channel | conv 4 3x3 group 2 | norm | dropout 0.5 | full 4 | relu | full 2 | softmax",
	"input 3x5x5 | meansub image | full 6 | tanh | dropout 0.3 | full 2 | svm",
	"input 2x10x10 | conv 3 7x7 s1x2 p0x1 | pool max 3x3 s2 | norm size3 alpha1e-3 beta0.5 k2 | softmax",
	"input 16x5x5 | c: conv 2 3x3 pad1 lr 0 | relu | top: full 3 lr 0.5 | sigmoid | softmax",
	"input 4x6x6 | conv 4 3x3 p1 nobias | bn lr 0.5 | leaky | conv 4 3x3 s2 p1 group4 | leaky 0.2 | pool max global" +
		" | full 3 | bn | softmax",
	"input 3x7x7 | conv 4 2x2 s2 floor | leaky 0 | pool avg 2x2 s2 floor | full 2 | euclidean",
	"input 2x5x5 | pool avg global | full 3 | svm",
	// Layers other than conv first: they read the input, and their input gradient is the network's.
	"input 2x4x4 | pool max 2x2 | full 3 | softmax",
	"input 3x4x4 | relu | full 3 | softmax",
	"input 3x4x4 | dropout 0.5 | full 3 | svm",
	"input 3x4x4 | norm | conv 2 2x2 | euclidean",
	"input 3x4x4 | bn | full 3 | softmax",
	"input 3x4x4 | leaky | full 3 | softmax",
	// A loss reading a conv or pool output.
	"input 2x4x4 | conv 3 3x3 | svm",
	"input 2x4x4 | conv 3 3x3 | pool avg 2x2 | euclidean",
	// A loss reading the input (issue 15).
	"input 1x28x28 | softmax",
	"input 2x3x3 | svm",
	"input 4x1x1 | euclidean",
	// A trailing "|" (issue 15), which is a syntax error.
	"input 1x4x4 | full 10 | softmax |",
	"input 1x4x4\nfull 10 | softmax |\n\n[train]\nlr 0.1\n",
}

// FuzzCompile compiles arbitrary bytes. Compile (parse, check and plan) must never panic;
// it fails with positioned errors or returns a network whose invariants hold. A sample of
// the networks it accepts (see runSampler) are then generated, built and run: whatever
// netc check accepts must compile to Go that runs. The seed corpus is every spec of the
// repository, good and bad, and chainSeeds, so plain `go test` runs them all.
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
	for _, s := range chainSeeds {
		f.Add([]byte(s))
	}
	runs := newRunSampler(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		net, err := Compile("fuzz.net", src)
		if err != nil {
			checkErrors(t, src, err)
			return
		}
		checkNet(t, net)
		if runs.add(net, src) && runs.fuzzing {
			runs.flush(t)
		}
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
			within(l, "aux", lp.Aux, lp.AuxSize, p.ImageFloats)
		}
		if lp.Split && (i == 0 || !n.Layers[i-1].Plan.PerImage || lp.AuxSize <= 0 || lp.Reduced <= 0) {
			t.Fatalf("%s: split without a per-image layer before it or buffers", l.Name)
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
	for si, s := range p.Stages {
		if len(s.Layers) == 0 {
			t.Fatalf("empty stage")
		}
		for _, i := range s.Layers {
			if n.Layers[i].Plan.PerImage != s.PerImage {
				t.Fatalf("%s in a stage of the other kind", n.Layers[i].Name)
			}
			// A split layer's stage is its own, between per-image stages that run its parts.
			if n.Layers[i].Plan.Split && (len(s.Layers) > 1 || si == 0 || si == len(p.Stages)-1 ||
				!p.Stages[si-1].PerImage || !p.Stages[si+1].PerImage) {
				t.Fatalf("split %s not alone between per-image stages", n.Layers[i].Name)
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

// Bounds on the networks runSampler runs, so that each builds and runs in about a second.
const (
	runMaxLayers = 40
	runMaxValues = 1 << 20 // parameters, or activations of one image summed over the layers
	runMaxMACs   = 1 << 24
)

// Time limits of runSampler. A fuzz worker dies when one input takes over 10 s, so under
// -fuzz netc is built before fuzzing starts, a network whose program takes longer than
// fuzzBuildTime to generate and build (on a busy machine) is skipped, to be tried again
// with the next input of its class, and one that takes longer than fuzzRunTime to run
// fails. A worker builds at most one program per fuzzBuildEvery, so that fuzzing spends
// most of its time on inputs, not on builds.
const (
	fuzzBuildTime  = 5 * time.Second
	fuzzRunTime    = 2 * time.Second
	fuzzBuildEvery = 20 * time.Second
	testTime       = 2 * time.Minute
)

// errSlow reports a build that went past its time limit.
var errSlow = errors.New("took too long")

// A runSampler generates, builds and runs a sample of the networks FuzzCompile accepts:
// the first of each shape class (see shapeClass) that is small enough. Each program runs
// a network forward and backward at batch 1 and 2, in training and inference mode (see
// runProgram). Programs are built in a folder under the module's tmp/, so that they can
// import its runtime, from code that the netc command generates (package compiler cannot
// import package gen). Building is what costs, so in plain go test the seeds' networks
// are built together, once, when FuzzCompile ends; under -fuzz each is built and run as
// soon as it is found, so that a failure is reported with its input.
type runSampler struct {
	fuzzing bool
	seen    map[string]bool
	queue   []runSample
	// buildTime and runTime limit generating and building a program, and running it.
	buildTime, runTime time.Duration
	// lastBuild is when the last program was built.
	lastBuild time.Time
	// root is the module's root; dir the sampler's folder, netc the netc command built
	// into it (absolute paths); batches counts the programs built.
	root, dir, netc string
	batches         int
}

// A runSample is a spec to run and its shape class.
type runSample struct {
	src   []byte
	class string
}

// newRunSampler returns a sampler that runs what is left of its queue, and removes its
// folder, when f ends.
func newRunSampler(f *testing.F) *runSampler {
	fuzz := flag.Lookup("test.fuzz")
	r := &runSampler{seen: map[string]bool{}, buildTime: testTime, runTime: testTime}
	f.Cleanup(func() {
		r.flush(f)
		if r.dir != "" {
			os.RemoveAll(r.dir)
		}
	})
	if fuzz != nil && fuzz.Value.String() != "" {
		r.fuzzing, r.buildTime, r.runTime = true, fuzzBuildTime, fuzzRunTime
		// The processes that run inputs are the workers, not the coordinator.
		if worker := flag.Lookup("test.fuzzworker"); worker != nil && worker.Value.String() == "true" {
			if err := r.setUp(); err != nil {
				f.Fatal(err)
			}
		}
	}
	return r
}

// add queues src, which compiled to n, if n is small and of a shape class not seen before
// (and when fuzzing, if the last build is fuzzBuildEvery ago), and reports whether it did.
func (r *runSampler) add(n *Net, src []byte) bool {
	class := shapeClass(n)
	if r.seen[class] || !smallToRun(n) || r.fuzzing && time.Since(r.lastBuild) < fuzzBuildEvery {
		return false
	}
	r.seen[class] = true
	r.queue = append(r.queue, runSample{bytes.Clone(src), class})
	return true
}

// smallToRun reports whether n is within the bounds on the networks that are run.
func smallToRun(n *Net) bool {
	values := n.Input.Size()
	for _, l := range n.Layers {
		values += l.Out.Size()
	}
	return len(n.Layers) <= runMaxLayers && values <= runMaxValues && n.Params+n.Buffers <= runMaxValues &&
		n.MACs <= runMaxMACs
}

// shapeClass names what decides which code a network runs: the kind of its first layer
// and the set of its layers' kinds, each with its switches (the bool options, such as
// average pooling) and its plan's choices (the bool, string and typed fields of its
// LayerPlan; the offsets and sizes are left out).
func shapeClass(n *Net) string {
	set := map[string]bool{"first " + string(n.Layers[0].Kind): true}
	for _, l := range n.Layers {
		set[string(l.Kind)+choices(l, false)+choices(l.Plan, true)] = true
	}
	return strings.Join(slices.Sorted(maps.Keys(set)), "; ")
}

// choices formats the exported fields of the struct v (or that v points to) that choose
// between alternatives and are not zero: bools, and if strs is set strings and types
// defined in this package (the kinds of choices); other numbers are sizes or offsets.
func choices(v any, strs bool) string {
	rv := reflect.Indirect(reflect.ValueOf(v))
	if !rv.IsValid() {
		return ""
	}
	var b strings.Builder
	for i := range rv.NumField() {
		f, sf := rv.Field(i), rv.Type().Field(i)
		k := f.Kind()
		typed := sf.Type.PkgPath() == rv.Type().PkgPath() && k != reflect.Struct
		switch {
		case !sf.IsExported() || f.IsZero():
		case k == reflect.Bool:
			fmt.Fprintf(&b, " %s", sf.Name)
		case strs && (k == reflect.String || typed):
			fmt.Fprintf(&b, " %s=%v", sf.Name, f.Interface())
		}
	}
	return b.String()
}

// flush builds the queued networks into one program and runs each, failing t with the
// spec of each that does not compile, build or run.
func (r *runSampler) flush(t testing.TB) {
	if len(r.queue) == 0 {
		return
	}
	queue := r.queue
	r.queue = nil
	if err := r.setUp(); err != nil {
		t.Fatal(err)
	}
	r.batches++
	dir := filepath.Join(r.dir, fmt.Sprint("b", r.batches))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	r.lastBuild = time.Now()
	deadline := r.lastBuild.Add(r.buildTime)
	// Package ni is generated from queue[i].
	var pkgs []string
	var samples []runSample
	for i, s := range queue {
		pkg := fmt.Sprint("n", i)
		if err := r.generate(deadline, dir, pkg, s.src); err != nil {
			r.fail(t, err, s)
			continue
		}
		pkgs, samples = append(pkgs, pkg), append(samples, s)
	}
	if len(pkgs) == 0 {
		return
	}
	prog, err := r.build(deadline, dir, pkgs)
	if errors.Is(err, errSlow) && r.fuzzing {
		r.fail(t, err, samples...)
		return
	}
	if err != nil {
		var specs strings.Builder
		for i, s := range samples {
			fmt.Fprintf(&specs, "%s: %s", pkgs[i], s)
		}
		t.Fatalf("%v\nof the packages generated from\n%s", err, specs.String())
	}
	for i, pkg := range pkgs {
		if out, err := r.command(time.Now().Add(r.runTime), prog, pkg); err != nil {
			t.Errorf("running the network: %v\n%s%s", err, out, samples[i])
		}
	}
	t.Logf("generated, built and ran %d networks", len(pkgs))
}

// fail fails t for samples, or when fuzzing and err is errSlow only logs it and forgets
// their classes, so that the next input of each is tried.
func (r *runSampler) fail(t testing.TB, err error, samples ...runSample) {
	for _, s := range samples {
		if r.fuzzing && errors.Is(err, errSlow) {
			t.Logf("skipped: %v", err)
			delete(r.seen, s.class)
		} else {
			t.Errorf("%v\n%s", err, s)
		}
	}
}

// generate writes the spec src into dir and generates package pkg from it with netc.
func (r *runSampler) generate(deadline time.Time, dir, pkg string, src []byte) error {
	spec := filepath.Join(dir, pkg+".net")
	if err := os.WriteFile(spec, src, 0o644); err != nil {
		return err
	}
	out, err := r.command(deadline, r.netc, "compile", "-o", filepath.Join(dir, pkg), "-pkg", pkg, spec)
	if err != nil {
		return fmt.Errorf("netc compile: %w\n%s", err, out)
	}
	return nil
}

// build writes into dir the program that runs the packages pkgs found there, builds it and
// returns its path.
func (r *runSampler) build(deadline time.Time, dir string, pkgs []string) (string, error) {
	rel, err := filepath.Rel(r.root, dir)
	if err != nil {
		return "", err
	}
	rel = filepath.ToSlash(rel)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), mainSource(rel, pkgs), 0o644); err != nil {
		return "", err
	}
	prog := filepath.Join(dir, "prog")
	if out, err := r.command(deadline, "go", "build", "-o", prog, "./"+rel); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return prog, nil
}

// String formats a sample for a failure message: its class and its source.
func (s runSample) String() string {
	return fmt.Sprintf("network of class %s, compiled from\n%s\n", s.class, s.src)
}

// setUp makes the sampler's folder under tmp/ and builds netc into it, the first time.
func (r *runSampler) setUp() error {
	if r.dir != "" {
		return nil
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	r.root = root
	tmp := filepath.Join(root, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	// A name starting with "_" keeps the folder out of ./... while it exists.
	dir, err := os.MkdirTemp(tmp, "_fuzzcompile")
	if err != nil {
		return err
	}
	r.dir, r.netc = dir, filepath.Join(dir, "netc")
	if out, err := r.command(time.Now().Add(testTime), "go", "build", "-o", r.netc, "./cmd/netc"); err != nil {
		return fmt.Errorf("building netc: %v\n%s", err, out)
	}
	return nil
}

// command runs a program in the module root until deadline and returns its combined
// output; past the deadline it kills it and returns an error wrapping errSlow.
func (r *runSampler) command(deadline time.Time, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.root
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return out, fmt.Errorf("%s %w: killed at its time limit", filepath.Base(name), errSlow)
	}
	return out, err
}

// mainSource returns the program that runs the generated packages pkgs, found in the
// folder rel of the module, by name (see runProgram).
func mainSource(rel string, pkgs []string) []byte {
	var b bytes.Buffer
	b.WriteString("package main\n\nimport (\n\t\"fmt\"\n\t\"math\"\n\t\"os\"\n\t\"slices\"\n\n")
	b.WriteString("\t\"github.com/netc-dev/netc/runtime/nn\"\n")
	for _, p := range pkgs {
		fmt.Fprintf(&b, "\t%q\n", "github.com/netc-dev/netc/"+rel+"/"+p)
	}
	b.WriteString(")\n\nvar nets = map[string]func(seed uint64) nn.Network{\n")
	for _, p := range pkgs {
		fmt.Fprintf(&b, "\t%q: func(s uint64) nn.Network { return %s.New(s) },\n", p, p)
	}
	b.WriteString("}\n")
	b.WriteString(runProgram)
	return b.Bytes()
}

// runProgram is the fixed part of the program mainSource writes: it runs the network
// named by its argument forward and backward at batch 1 and 2, in training mode (with and
// without an input gradient, as training runs it, which must give the same parameter
// gradients) and in inference mode, and checks that every score, loss and gradient is
// finite and that an image's inference scores do not depend on the batch it is in.
const runProgram = `
func main() {
	if err := run(nets[os.Args[1]](1)); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}

func run(net nn.Network) error {
	info := net.Info()
	rng := nn.NewRNG(2)
	x := make([]float32, 2*info.InputSize())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := []int32{int32(rng.Intn(info.Outputs)), int32(rng.Intn(info.Outputs))}
	for _, batch := range []int{1, 2} {
		if err := train(net, x[:batch*info.InputSize()], labels[:batch]); err != nil {
			return fmt.Errorf("training, batch %d: %v", batch, err)
		}
	}
	// Inference changes no state (training updates batch norm's running statistics).
	var alone []float32
	for _, batch := range []int{1, 2} {
		scores := net.Forward(net.NewWorkspace(batch), x[:batch*info.InputSize()], false)
		if err := finite("inference scores", scores, batch*info.Outputs); err != nil {
			return fmt.Errorf("batch %d: %v", batch, err)
		}
		if batch == 1 {
			alone = scores
			continue
		}
		for i, s := range alone {
			if d := math.Abs(float64(s - scores[i])); d > 1e-4*math.Max(1, math.Abs(float64(s))) {
				return fmt.Errorf("inference score %d of the first image: %g alone, %g in a batch of 2", i, s, scores[i])
			}
		}
	}
	return nil
}

func train(net nn.Network, x []float32, labels []int32) error {
	ws := net.NewWorkspace(len(labels))
	var grads []float32
	for _, inputGrad := range []bool{true, false} {
		if !inputGrad {
			ws.InputGrad = nil
		}
		ws.RNG = nn.NewRNG(3)
		if err := finite("scores", net.Forward(ws, x, true), len(labels)*net.Info().Outputs); err != nil {
			return err
		}
		loss := net.Backward(ws, labels)
		if err := finite("loss", []float32{loss}, 1); err != nil {
			return err
		}
		if err := finite("gradients", net.Grads(), len(net.Params())); err != nil {
			return err
		}
		if inputGrad {
			if err := finite("input gradient", ws.InputGrad, len(x)); err != nil {
				return err
			}
			grads = append([]float32(nil), net.Grads()...)
		} else if !slices.Equal(grads, net.Grads()) {
			return fmt.Errorf("parameter gradients differ without an input gradient")
		}
	}
	return nil
}

func finite(what string, v []float32, n int) error {
	if len(v) != n {
		return fmt.Errorf("%s: %d values, want %d", what, len(v), n)
	}
	for i, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return fmt.Errorf("%s: value %d is %g", what, i, f)
		}
	}
	return nil
}
`

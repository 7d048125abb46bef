package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/netc-dev/netc/dsl"
	"github.com/netc-dev/netc/runtime/train/settings"
)

// maxSize bounds activations per image and parameters, which are indexed with int32.
const maxSize = math.MaxInt32

// Compile parses and checks the spec src read from path. On failure the error is a
// dsl.ErrorList holding every problem found; warnings are in Net.Warnings either way.
func Compile(path string, src []byte) (*Net, error) {
	f, err := dsl.Parse(path, src, kindList()...)
	if err != nil {
		return nil, err
	}
	return Check(path, src, f)
}

// Check checks a parsed spec and infers its shapes, parameters and costs.
func Check(path string, src []byte, f *dsl.File) (*Net, error) {
	sum := sha256.Sum256(src)
	c := &checker{
		net: &Net{
			Path: path,
			Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)),
			Hash: hex.EncodeToString(sum[:]),
		},
		names:  map[string]nameUse{},
		counts: map[Kind]int{},
	}
	c.layers(f)
	if f.Train != nil {
		in := settings.Input{C: c.net.Input.C, H: c.net.Input.H, W: c.net.Input.W}
		if n := len(c.net.Layers); n > 0 && c.net.Layers[n-1].Type().Role == RoleLoss {
			in.Loss = string(c.net.Layers[n-1].Kind)
		}
		c.net.Train = checkTrain(f.Train, in, &c.errs)
	}
	if len(c.errs) > 0 {
		sort.SliceStable(c.errs, func(i, j int) bool { return before(c.errs[i].Pos, c.errs[j].Pos) })
		return c.net, c.errs
	}
	c.layout()
	if len(c.errs) > 0 {
		return c.net, c.errs
	}
	c.net.setPlan()
	return c.net, nil
}

// checker accumulates the state of one Check.
type checker struct {
	net    *Net
	errs   dsl.ErrorList
	names  map[string]nameUse
	counts map[Kind]int
	// cur is the shape flowing into the next layer; ok is false once a layer failed, after
	// which shapes are no longer checked but every layer's own arguments still are.
	cur Shape
	ok  bool
	// known[i] says whether layer i's output shape is known (it and its inputs were
	// valid); inputKnown the same of the network's input.
	known      []bool
	inputKnown bool
}

func (c *checker) errorf(pos lexer.Position, format string, args ...any) {
	c.errs = append(c.errs, dsl.Errorf(pos, format, args...))
}

func (c *checker) warnf(pos lexer.Position, format string, args ...any) {
	w := dsl.Errorf(pos, format, args...)
	w.Warning = true
	c.net.Warnings = append(c.net.Warnings, w)
}

func (c *checker) layers(f *dsl.File) {
	if len(f.Layers) == 0 {
		c.errorf(f.Pos, "the spec has no layers; start with input CxHxW, e.g. input 3x32x32")
		return
	}
	if len(f.Layers) > MaxLayers+1 { // the input is a line of its own
		c.errorf(f.Layers[MaxLayers+1].Pos, "the spec has %d layers, more than netc's limit of %d (compiler.MaxLayers): "+
			"its generated code would take too long to build", len(f.Layers)-1, MaxLayers)
		return
	}
	first := f.Layers[0]
	if first.Kind.Text != string(Input) {
		c.errorf(first.Pos, "the spec must start with input CxHxW (e.g. input 3x32x32), not %s", first.Kind.Text)
	}
	for i, dl := range f.Layers {
		kind := Kind(dl.Kind.Text)
		t, known := Lookup(kind)
		if !known {
			c.errorf(dl.Kind.Pos, "unknown layer %q (known: %s)", dl.Kind.Text, kindNames())
			c.ok = false
			continue
		}
		la := sortArgs(kind, t.Syntax, dl.Args, &c.errs)
		if kind == Input {
			switch {
			case i == 0:
				c.cur, c.ok = c.input(dl, la)
				c.net.Input, c.inputKnown = c.cur, c.ok
			case first.Kind.Text == string(Input):
				c.errorf(dl.Kind.Pos, "input is already given at line %d; a spec has one input", first.Pos.Line)
				c.input(dl, la) // report its own mistakes too
			default:
				c.errorf(dl.Kind.Pos, "input must be the first layer")
				c.cur, c.ok = c.input(dl, la) // check what follows against it all the same
				c.net.Input, c.inputKnown = c.cur, c.ok
			}
			continue
		}
		l := &Layer{Pos: dl.Pos, Kind: kind, In: c.cur, LRMult: 1, Inputs: []int{len(c.net.Layers) - 1}}
		registered := c.name(l, dl)
		if kind.IsLoss() && i != len(f.Layers)-1 {
			c.errorf(dl.Kind.Pos, "the loss %s must be the last layer", kind)
		}
		if kind.IsLoss() && len(c.net.Layers) == 0 {
			c.errorf(dl.Kind.Pos, "the loss %s reads the input directly: put the layers it scores before it, e.g. full 10",
				kind)
		}
		c.ok = c.connect(l, t, dl, &la)
		for _, in := range l.Inputs {
			l.InputNames = append(l.InputNames, c.inputName(in))
			l.InShapes = append(l.InShapes, c.inputShape(in))
		}
		built := c.build(l, t, la)
		c.known = append(c.known, built && c.ok)
		c.ok = built && c.ok
		c.cur = l.Out
		c.net.Layers = append(c.net.Layers, l)
		if registered {
			u := c.names[l.Name]
			u.index = len(c.net.Layers) - 1
			c.names[l.Name] = u
		}
	}
	c.unused()
	if last := f.Layers[len(f.Layers)-1]; !Kind(last.Kind.Text).IsLoss() {
		c.errorf(last.Pos, "the network has no loss: end it with %s", lossNames())
	}
}

// input reads the shape of an input layer; ok is false if it is missing or invalid.
func (c *checker) input(dl *dsl.Layer, la layerArgs) (s Shape, ok bool) {
	if la.dims == nil {
		c.errorf(dl.Pos, "input needs a shape CxHxW, e.g. input 3x32x32")
		return s, false
	}
	d, ok := parseDims(*la.dims, "input shape", 3, 1, false, &c.errs)
	if !ok {
		return s, false
	}
	s = Shape{d[0], d[1], d[2]}
	return s, c.checkSize(la.dims.pos, "input", s)
}

// name gives l its spec name or its kind and index, rejecting duplicates; it reports
// whether it registered the name.
func (c *checker) name(l *Layer, dl *dsl.Layer) bool {
	c.counts[l.Kind]++
	l.Name = fmt.Sprintf("%s%d", l.Kind, c.counts[l.Kind])
	pos := dl.Pos
	if dl.Name != nil {
		l.Name, pos = dl.Name.Text, dl.Name.Pos
	}
	if prev, dup := c.names[l.Name]; dup {
		used := "used"
		if prev.auto {
			used = "the automatic name of the " + string(prev.kind)
		}
		if dl.Name == nil {
			c.errorf(pos, "this %s layer's automatic name %s is already %s at %d:%d; name the layer, e.g. %s_b: %s",
				l.Kind, l.Name, used, prev.pos.Line, prev.pos.Column, l.Name, l.Kind)
		} else {
			c.errorf(pos, "layer name %q is already %s at %d:%d", l.Name, used, prev.pos.Line, prev.pos.Column)
		}
		return false
	}
	c.names[l.Name] = nameUse{pos, l.Kind, dl.Name == nil, -1}
	return true
}

// nameUse is where a layer name is first used, by which kind of layer, and whether the
// name was given automatically.
type nameUse struct {
	pos  lexer.Position
	kind Kind
	auto bool
	// index is the layer's index in Net.Layers once it is checked, else -1.
	index int
}

// connect sets the layer's inputs: the one from names (else the layer before), then the
// layers a merge names, reporting names that are unknown or not before the layer. It
// reports whether every input's shape is known.
func (c *checker) connect(l *Layer, t *LayerType, dl *dsl.Layer, la *layerArgs) bool {
	known := func(i int) bool {
		if i < 0 {
			return c.inputKnown
		}
		return c.known[i]
	}
	ok := c.ok // the shape flowing from the line before
	if la.from != nil {
		if i, found := c.lookup(*la.from); found {
			l.Inputs[0], l.In, ok = i, c.net.Layers[i].Out, known(i)
		} else {
			ok = false
		}
	}
	if t.Syntax.Names != "" && len(la.names) == 0 {
		c.errorf(dl.Kind.Pos, "%s needs the %s, e.g. %s", l.Kind, t.Syntax.Names, t.Syntax.Example)
		return false
	}
	for _, v := range la.names {
		i, found := c.lookup(v)
		if !found {
			ok = false
			continue
		}
		l.Inputs = append(l.Inputs, i)
		ok = ok && known(i)
	}
	if l.Inputs[0] < 0 && len(l.Inputs) > 1 {
		c.errorf(dl.Kind.Pos, "%s reads the network's input; a merge reads layers: put one before it", l.Kind)
		return false
	}
	return ok
}

// lookup finds the layer a name refers to, which must come before the layer naming it.
func (c *checker) lookup(v value) (int, bool) {
	use, ok := c.names[v.text]
	switch {
	case !ok:
		c.errorf(v.pos, "no layer is named %q before this one", v.text)
		return 0, false
	case use.index < 0:
		c.errorf(v.pos, "layer %q is this one or comes after it; a layer reads only layers before it", v.text)
		return 0, false
	}
	return use.index, true
}

// unused reports every layer but the loss whose output no layer reads.
func (c *checker) unused() {
	read := make([]bool, len(c.net.Layers))
	for _, l := range c.net.Layers {
		for _, i := range l.Inputs {
			if i >= 0 {
				read[i] = true
			}
		}
	}
	for i, l := range c.net.Layers {
		if !read[i] && !l.Kind.IsLoss() && i != len(c.net.Layers)-1 {
			c.errorf(l.Pos, "the output of %s is never read: merge it (add %s) or remove the layer", l.Name, l.Name)
		}
	}
}

// checkSize rejects activations too large to index; what names them ("input", "output").
func (c *checker) checkSize(pos lexer.Position, what string, s Shape) bool {
	if int64(s.C)*int64(s.H)*int64(s.W) > maxSize {
		c.errorf(pos, "%s %s has more than %d values per image", what, s, maxSize)
		return false
	}
	return true
}

// build reads the layer's arguments and, if its input shape is known, infers its output
// through its kind's Build. It reports whether the layer is valid.
func (c *checker) build(l *Layer, t *LayerType, la layerArgs) bool {
	n := len(c.errs)
	def := t.Syntax
	if def.Number != "" && !def.OptionalNumber && la.number == nil {
		c.errorf(l.Pos, "%s needs a %s, e.g. %s", l.Kind, def.Number, def.Example)
	}
	if def.Dims != "" && !def.OptionalDims && la.dims == nil {
		c.errorf(l.Pos, "%s needs a %s, e.g. %s", l.Kind, def.Dims, def.Example)
	}
	if lr, ok := la.options["lr"]; ok {
		if f, ok := parseFloat(lr, "learning-rate multiplier", &c.errs); ok {
			if f < 0 {
				c.errorf(lr.pos, "learning-rate multiplier must be ≥ 0, not %s", lr.text)
			}
			l.LRMult = f
		}
	}
	if len(c.errs) > n {
		return false
	}
	if t.Build == nil {
		l.Out = l.In // the shape passes through
		return true
	}
	return t.Build(c, l, la)
}

// pair reads an option that is a number or HxW, defaulting to (dh, dw).
func (c *checker) pair(la layerArgs, name string, dh, dw int) ([]int, bool) {
	v, ok := la.options[name]
	if !ok {
		return []int{dh, dw}, true
	}
	min := 1
	if name == "pad" {
		min = 0
	}
	return parseDims(v, name, 2, min, true, &c.errs)
}

// window applies the output-size formula floor((w + 2p - k)/s) + 1 on both axes, rejecting
// a kernel larger than the padded input (at the kernel size's position) and warning when
// the stride leaves input unused — rows and columns of the input itself, not of its
// padding — unless the layer says floor.
func (c *checker) window(l *Layer, la layerArgs, kh, kw, sh, sw, ph, pw int) (oh, ow int, ok bool) {
	h, w := l.In.H+2*ph, l.In.W+2*pw
	what, input := "window", fmt.Sprintf("its %dx%d input", l.In.H, l.In.W)
	if l.Kind == Conv {
		what = "kernel"
	}
	if ph > 0 || pw > 0 {
		input = fmt.Sprintf("its %dx%d input padded to %dx%d", l.In.H, l.In.W, h, w)
	}
	if kh > h || kw > w {
		c.errorf(la.dims.pos, "%s %dx%d is larger than %s", what, kh, kw, input)
		return 0, 0, false
	}
	// The last (h − kh) mod sh padded rows are never reached; the last ph of them are
	// padding. A kernel smaller than its stride skips input between windows by design
	// (a 1x1 stride-2 projection), so its last rows are no surprise.
	var unused []string
	if r := (h-kh)%sh - ph; r > 0 && kh >= sh {
		unused = append(unused, plural(r, "row"))
	}
	if r := (w-kw)%sw - pw; r > 0 && kw >= sw {
		unused = append(unused, plural(r, "column"))
	}
	if len(unused) > 0 && !la.words[floorWord] {
		c.warnf(l.Pos, "stride %dx%d leaves the last %s of its %dx%d input unused (%s %dx%d); "+
			"say %s if that is meant", sh, sw, strings.Join(unused, " and "), l.In.H, l.In.W, what, kh, kw, floorWord)
	}
	return (h-kh)/sh + 1, (w-kw)/sw + 1, true
}

// The words of Syntax.Words.
const (
	floorWord  = "floor"
	nobiasWord = "nobias"
	globalWord = "global"
)

// plural formats a count of things: "1 row", "2 rows".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// setCost sets the parameters (weights and, unless NoBias, one bias per output channel) and forward
// multiply-adds of a conv or full layer with the given number of weights applied at
// positions output positions, rejecting a layer too large to index.
func (c *checker) setCost(l *Layer, weights int64, positions int) bool {
	biases := int64(l.Filters)
	if l.NoBias {
		biases = 0
	}
	if weights+biases > maxSize {
		c.errorf(l.Pos, "%s has more than %d parameters", l.Name, maxSize)
		return false
	}
	l.Params = int(weights + biases)
	l.MACs = weights * int64(positions)
	return true
}

// satMul multiplies non-negative factors, saturating at maxSize+1 so it cannot overflow.
func satMul(factors ...int) int64 {
	p := int64(1)
	for _, f := range factors {
		if f != 0 && p > (maxSize+1)/int64(f) {
			return maxSize + 1
		}
		p *= int64(f)
	}
	return p
}

// layout places every layer's parameters in the flat parameter slice (learnable ones
// first, then buffers) and totals the costs.
func (c *checker) layout() {
	n := c.net
	off := 0
	for _, l := range n.Layers {
		if l.Params > 0 {
			l.WeightOff, l.BiasOff = off, off+l.Weights()
			off += l.Params
			if off > maxSize {
				c.errorf(l.Pos, "the network's parameters add up to more than %d with %s", maxSize, l.Name)
				return
			}
		}
		n.MACs += l.MACs
	}
	n.Params = off
	for _, l := range n.Layers {
		if l.Buffer > 0 {
			l.BufferOff = off
			off += l.Buffer
			if off > maxSize {
				c.errorf(l.Pos, "the network's parameters and means add up to more than %d with %s", maxSize, l.Name)
				return
			}
		}
	}
	n.Buffers = off - n.Params
}

func before(a, b lexer.Position) bool {
	return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
}

// inputName names layer i, or the network's input for -1.
func (c *checker) inputName(i int) string {
	if i < 0 {
		return "input"
	}
	return c.net.Layers[i].Name
}

// inputShape is the output shape of layer i, or the network's input shape for -1.
func (c *checker) inputShape(i int) Shape {
	if i < 0 {
		return c.net.Input
	}
	return c.net.Layers[i].Out
}

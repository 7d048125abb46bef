// Package weights reads and writes a network's weights as a safetensors file, the format
// PyTorch and Hugging Face exchange weights in: what `netc export` writes, what `netc
// predict` reads, and what `netc train --weights` starts a fine-tuning from.
//
// A weights file holds one F32 tensor per parameter tensor of the network, named
// "<layer>.<part>" as in nn.Info.Params and compiler.Net.Tensors ("conv1.weight",
// "conv1.bias", "full1.weight", "meansub1.mean"), in PyTorch's shapes and memory layout:
// conv weights [out, in/groups, kh, kw], full weights [out, in] with the input flattened
// in C,H,W order, biases [out], means [C] or [C, H, W]; each batch norm also has its
// running statistics ("bn1.running_mean", "bn1.running_var", F32) and PyTorch's
// "bn1.num_batches_tracked", an I64 scalar (the optimizer steps; read back as Meta.Steps,
// and optional). The same network written in
// PyTorch, with its modules named after the layers, loads the file with
// load_state_dict(safetensors.torch.load_file(path)), and netc reads files written that way.
//
// Its string metadata (all optional when reading) says where the weights come from:
//
//	format       "netc-weights-1" (a netc checkpoint says "netc-checkpoint-1")
//	network      the spec's name, e.g. "lenet-mnist"
//	spec_hash    the hex SHA-256 of the spec's source
//	preprocess   the normalization fitted on the training data, as the JSON of
//	             data.Preprocess; prediction applies it to its inputs
//	dataset      the data set trained on ("mnist", "fashion-mnist", "cifar10"), if known
//	classes      the class names, as a JSON array of strings, if known
//
// A netc training checkpoint has the same tensor names and the same metadata keys (plus
// the momentum tensors "velocity.*" and the training state), so everything here reads
// checkpoints too. Files written by other programs may hold F16, BF16 or F64 tensors,
// converted to float32 on reading; any other dtype is an error.
//
// Two ways to load weights into a network: Load (and File.Read) want every tensor of the
// network, of exactly its shape — for prediction and export; train.LoadWeights takes the
// tensors whose names and shapes match and leaves the others initialized — for
// fine-tuning. Every error names the file and, when one is concerned, the tensor.
package weights

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/safetensors"
)

// Format is the value of the "format" metadata of the files Write writes.
const Format = "netc-weights-1"

// Metadata keys of weights files (netc's checkpoints use the same ones).
const (
	KeyFormat     = "format"
	KeyNetwork    = "network"
	KeySpecHash   = "spec_hash"
	KeyPreprocess = "preprocess"
	KeyDataset    = "dataset"
	KeyClasses    = "classes"
)

// Tensor locates one parameter tensor in a network's flat parameters.
type Tensor struct {
	// Name is "<layer>.<part>", e.g. "conv1.weight".
	Name string
	// Shape is PyTorch's shape of the tensor.
	Shape []int
	// Offset and Size locate it in the flat parameters.
	Offset, Size int
}

// InfoTensors returns the tensors of a generated network (info.Params).
func InfoTensors(info *nn.Info) []Tensor {
	ts := make([]Tensor, len(info.Params))
	for i, p := range info.Params {
		ts[i] = Tensor{Name: p.Name, Shape: slices.Clone(p.Shape), Offset: p.Offset, Size: p.Size}
	}
	return ts
}

// Meta is what a weights file says about its weights. Every field may be empty.
type Meta struct {
	// Format is the file's "format" metadata: Format, train.CheckpointFormat, or
	// anything (usually nothing) for files written by other programs.
	Format string
	// Network and SpecHash identify the spec the weights were trained for.
	Network, SpecHash string
	// Preprocess is the normalization fitted on the training data (nil if the file does
	// not record one): inputs must go through it before the network.
	Preprocess *data.Preprocess
	// Dataset is the name of the data set trained on, and Classes its class names, if
	// the file records them.
	Dataset string
	Classes []string
	// Steps is the number of optimizer steps the weights have taken, as far as the file
	// says: written as the num_batches_tracked of every batch norm (nn.BatchCounters),
	// read back from the first of them, 0 when there is none.
	Steps int64
}

// Map returns the metadata as the string map of a safetensors file: format Format and the
// non-empty fields.
func (m Meta) Map() map[string]string {
	out := map[string]string{KeyFormat: Format}
	if m.Network != "" {
		out[KeyNetwork] = m.Network
	}
	if m.SpecHash != "" {
		out[KeySpecHash] = m.SpecHash
	}
	if m.Preprocess != nil {
		b, _ := json.Marshal(m.Preprocess) // plain fields: cannot fail
		out[KeyPreprocess] = string(b)
	}
	if m.Dataset != "" {
		out[KeyDataset] = m.Dataset
	}
	if len(m.Classes) > 0 {
		b, _ := json.Marshal(m.Classes)
		out[KeyClasses] = string(b)
	}
	return out
}

// parseMeta reads the known keys of a file's metadata.
func parseMeta(path string, md map[string]string) (Meta, error) {
	m := Meta{Format: md[KeyFormat], Network: md[KeyNetwork], SpecHash: md[KeySpecHash], Dataset: md[KeyDataset]}
	if s, ok := md[KeyPreprocess]; ok && s != "" {
		var p data.Preprocess
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			return m, fmt.Errorf("%s: metadata %q is not the JSON of a preprocessing: %v", path, KeyPreprocess, err)
		}
		m.Preprocess = &p
	}
	if s, ok := md[KeyClasses]; ok && s != "" {
		if err := json.Unmarshal([]byte(s), &m.Classes); err != nil {
			return m, fmt.Errorf("%s: metadata %q is not a JSON array of strings: %v", path, KeyClasses, err)
		}
	}
	return m, nil
}

// File is a validated weights file (or checkpoint) held in memory.
type File struct {
	// Path is the file's path.
	Path string
	// Meta is what its metadata says.
	Meta Meta
	// Tensors is the file itself, for its other tensors and metadata.
	Tensors *safetensors.File
}

// Open reads and validates the safetensors file at path and its metadata. A file that is
// not safetensors, is damaged, or whose preprocess or classes metadata cannot be parsed
// gives an error naming it (a *safetensors.Error for the format's errors, matching the
// safetensors.Err* kinds with errors.Is).
func Open(path string) (*File, error) {
	st, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	meta, err := parseMeta(path, st.Metadata())
	if err != nil {
		return nil, err
	}
	meta.Steps = batchesTracked(st)
	return &File{Path: path, Meta: meta, Tensors: st}, nil
}

// batchesTracked returns the value of the file's first batch counter that is an I64
// scalar, or 0.
func batchesTracked(st *safetensors.File) int64 {
	for _, name := range st.Names() {
		t, _ := st.Tensor(name)
		if strings.HasSuffix(name, "."+nn.BatchesTracked) && t.DType == "I64" && len(t.Shape) == 0 && len(t.Data) == 8 {
			return int64(binary.LittleEndian.Uint64(t.Data))
		}
	}
	return 0
}

// ErrOtherSpec is the kind of error CheckSpec returns; test it with errors.Is.
var ErrOtherSpec = errors.New("weights of another spec")

// CheckSpec returns an error wrapping ErrOtherSpec when the file says it holds the weights
// of another spec: by the hash of the spec's source when the file records one (so the same
// source under another file name, which names the network, passes), else by the network's
// name. A file that says neither (one written by another program) passes.
func (f *File) CheckSpec(network, specHash string) error {
	m := f.Meta
	switch {
	case m.SpecHash != "" && m.SpecHash == specHash:
		return nil
	case m.SpecHash != "" && m.Network == network:
		return fmt.Errorf("%s: %w: trained for another version of spec %q (hash %.12s, this one's is %.12s)",
			f.Path, ErrOtherSpec, network, m.SpecHash, specHash)
	case m.SpecHash != "" || (m.Network != "" && m.Network != network):
		return fmt.Errorf("%s: %w: trained for spec %q (hash %.12s), not %q (hash %.12s)",
			f.Path, ErrOtherSpec, m.Network, m.SpecHash, network, specHash)
	}
	return nil
}

// Read copies every tensor of ts from the file into params (the network's flat
// parameters). Each must be in the file with exactly its shape, in F32 or a float dtype
// converted to it, and hold no NaN or ±Inf; otherwise params is left unchanged and the
// error lists every tensor that is missing, of another shape or dtype, or not finite —
// one *safetensors.Error each, joined, naming the file and the tensor and matching
// safetensors.ErrNotFound, ErrWrongShape, ErrWrongDType or ErrNotFinite with errors.Is.
// Tensors of the file that ts does not name (momentum, other layers) are ignored.
func (f *File) Read(ts []Tensor, params []float32) error {
	vals := make([][]float32, len(ts))
	var errs []error
	notFound := false
	for i, t := range ts {
		if t.Offset < 0 || t.Size < 0 || t.Offset+t.Size > len(params) {
			return fmt.Errorf("weights: tensor %q at [%d, %d) outside the %d parameters", t.Name, t.Offset, t.Offset+t.Size, len(params))
		}
		v, err := f.Tensors.FiniteFloat32(t.Name, t.Shape)
		if err != nil {
			// The first missing tensor's error lists the file's tensors; the others
			// need not repeat the list.
			var se *safetensors.Error
			if errors.As(err, &se) && errors.Is(err, safetensors.ErrNotFound) && notFound {
				err = &safetensors.Error{File: se.File, Tensor: se.Tensor, Kind: se.Kind}
			}
			notFound = notFound || errors.Is(err, safetensors.ErrNotFound)
			errs = append(errs, err)
			continue
		}
		if len(v) != t.Size {
			return fmt.Errorf("weights: tensor %q of shape %v has %d values, not %d", t.Name, t.Shape, len(v), t.Size)
		}
		vals[i] = v
	}
	if len(errs) > 0 {
		if len(errs) > 1 {
			errs = append([]error{fmt.Errorf("%s: %d of the network's %d tensors cannot be loaded:", f.Path, len(errs), len(ts))}, errs...)
		}
		return errors.Join(errs...)
	}
	for i, t := range ts {
		copy(params[t.Offset:t.Offset+t.Size], vals[i])
	}
	return nil
}

// Load reads the weights file (or checkpoint) at path into net's parameters, every
// tensor of them (see File.Read), after checking with CheckSpec that the file is not
// another spec's, unless force is set. It returns the file, for its metadata.
func Load(path string, net nn.Network, force bool) (*File, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	info := net.Info()
	if !force {
		if err := f.CheckSpec(info.Name, info.SpecHash); err != nil {
			return nil, err
		}
	}
	if err := f.Read(InfoTensors(info), net.Params()); err != nil {
		return nil, err
	}
	return f, nil
}

// Write writes the tensors ts of params, as F32 in their shapes, and meta (format set to
// Format) to the file at path, atomically (safetensors.WriteFile), with the batch
// counters of ts's batch norms (nn.BatchCounters) holding meta.Steps as I64 scalars, so
// that PyTorch loads the file with strict=True. Equal inputs give equal bytes.
func Write(path string, ts []Tensor, params []float32, meta Meta) error {
	tensors := make([]safetensors.Tensor, len(ts))
	names := make([]string, len(ts))
	for i, t := range ts {
		if t.Offset < 0 || t.Size < 0 || t.Offset+t.Size > len(params) {
			return fmt.Errorf("weights: %s: tensor %q at [%d, %d) outside the %d parameters", path, t.Name, t.Offset, t.Offset+t.Size, len(params))
		}
		tensors[i] = safetensors.Float32Tensor(t.Name, t.Shape, params[t.Offset:t.Offset+t.Size])
		names[i] = t.Name
	}
	for _, c := range nn.BatchCounters(names) {
		tensors = append(tensors, safetensors.Int64Tensor(c, nil, []int64{meta.Steps}))
	}
	return safetensors.WriteFile(path, tensors, meta.Map())
}

// ClassNames returns the class names of a network with the given number of outputs and
// input shape, trained on the data the metadata names, best source first: the file's
// classes, then its data set's, then the data set implied by the input shape (CIFAR-10
// for 3x32x32; for 1x28x28, which MNIST and Fashion-MNIST share, the class numbers,
// which are MNIST's names), else the class numbers "0", "1", ... A list of another
// length than outputs is passed over.
func (m Meta) ClassNames(outputs, c, h, w int) []string {
	if len(m.Classes) == outputs {
		return slices.Clone(m.Classes)
	}
	var names []string
	switch strings.ToLower(m.Dataset) {
	case data.MNIST:
		names = data.MNISTClassNames
	case data.FashionMNIST:
		names = data.FashionMNISTClassNames
	case data.CIFAR10:
		names = data.CIFAR10ClassNames
	case "":
		if c == 3 && h == 32 && w == 32 {
			names = data.CIFAR10ClassNames
		}
	}
	if len(names) == outputs {
		return slices.Clone(names)
	}
	names = make([]string, outputs)
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	return names
}

// DescribePreprocess describes in words what a preprocessing does to an image whose
// pixels are in [0, 1], e.g. "pixels in [0, 1] minus the channel mean [0.1307]".
func DescribePreprocess(p *data.Preprocess) string {
	if p == nil {
		return "pixels in [0, 1] as they are"
	}
	vals := func(vs []float32) string {
		if len(vs) <= 4 {
			return fmt.Sprint(vs)
		}
		return fmt.Sprintf("%v… (%d values)", vs[:4], len(vs))
	}
	s := "pixels in [0, 1]"
	switch p.Kind {
	case data.MeanChannel, data.MeanImage:
		s += fmt.Sprintf(" minus the %s mean %s", p.Kind, vals(p.Mean))
	}
	if p.Std {
		s += fmt.Sprintf(", divided by the channels' standard deviations %s", vals(p.StdDev))
	}
	if s == "pixels in [0, 1]" {
		s += " as they are"
	}
	return s
}

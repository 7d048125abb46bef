package nn

import (
	"fmt"
	"sync/atomic"

	"github.com/netc-dev/netc/runtime/kernels"
)

// Split is the part of a workspace's state that every generated network has the same: the
// batch split into chunks, at most one per worker (kernels.Workers), each with its own
// gradient accumulator and scratch space; the loops that run a network's per-image layers
// over the chunks in parallel; the kernels fit for code running inside a chunk; and the
// hooks of Workspace.Profile.
//
// S is the generated state, a pointer to a struct that embeds Split[S]. Generated code
// hands its per-image stages to ForwardImages and BackwardImages as method expressions
// ((*state).forwardImages0), which, unlike method values, cost no allocation per call.
type Split[S any] struct {
	// Batch is the number of images; Chunks the number of chunks they are split into.
	Batch, Chunks int
	// Grads[w] accumulates chunk w's gradients of the parameters the per-image layers
	// learn: Grads[0] is that span of the network's own gradients, and FoldGrads adds the
	// others to it.
	Grads [][]float32
	// Workspace is the workspace made with the state.
	Workspace *Workspace

	state     S
	pkg       string
	inputSize int
	// next is the next image of a forward pass that no chunk has claimed.
	next atomic.Int32
	// image, flush and rows are what the running pass calls: per image, per chunk after
	// its last image, per range of rows.
	image func(S, int, int)
	flush func(S, int)
	rows  func(S, int, int)
	// forward, backward and parallel are the chunk loops below as func values, made once
	// so that handing them to kernels.ParallelFor allocates nothing.
	forward, backward, parallel func(lo, hi int)
}

// Layout is what Split.Init needs to know of a network's workspace.
type Layout struct {
	// Package names the generated package in panic messages.
	Package string
	// ImageFloats and ImageInts are the floats and ints of one image's buffers in
	// Workspace.Buf and Workspace.Index: its activations, their gradients and what else
	// the network keeps per image.
	ImageFloats, ImageInts int
	// InputSize is the number of values of one input image.
	InputSize int
	// Grads is the span of the network's gradients that chunks accumulate privately.
	Grads []float32
}

// Init splits a batch of the given size into chunks for state (the struct embedding s)
// and returns a workspace for it, whose Private is state: Buf and Index hold batch ×
// ImageFloats and ImageInts values, InputGrad batch × InputSize, and each chunk but the
// first gets a gradient accumulator as long as l.Grads. It panics if batch < 1.
func (s *Split[S]) Init(state S, batch int, l Layout) *Workspace {
	if batch < 1 {
		panic(fmt.Sprintf("%s: NewWorkspace: batch %d, want at least 1", l.Package, batch))
	}
	s.state, s.pkg, s.inputSize = state, l.Package, l.InputSize
	s.Batch, s.Chunks = batch, min(batch, kernels.Workers())
	s.Grads = make([][]float32, s.Chunks)
	s.Grads[0] = l.Grads
	for w := 1; w < s.Chunks; w++ {
		s.Grads[w] = make([]float32, len(l.Grads))
	}
	s.forward, s.backward, s.parallel = s.forwardChunks, s.backwardChunks, s.parallelRows
	ws := NewWorkspace(batch, batch*l.ImageFloats, batch*l.ImageInts, l.InputSize)
	ws.Workers = s.Chunks
	ws.Private = state
	s.Workspace = ws
	return ws
}

// PerChunk returns a zeroed buffer of size values for each chunk.
func (s *Split[S]) PerChunk(size int) [][]float32 {
	bufs := make([][]float32, s.Chunks)
	for w := range bufs {
		bufs[w] = make([]float32, size)
	}
	return bufs
}

// CheckInput panics unless x holds Batch input images.
func (s *Split[S]) CheckInput(x []float32) {
	if len(x) != s.Batch*s.inputSize {
		panic(fmt.Sprintf("%s: Forward: %d input values, want %d (batch %d)", s.pkg, len(x), s.Batch*s.inputSize, s.Batch))
	}
}

// CheckLabels panics unless labels holds one label per image.
func (s *Split[S]) CheckLabels(labels []int32) {
	if len(labels) != s.Batch {
		panic(fmt.Sprintf("%s: Backward: %d labels, want %d", s.pkg, len(labels), s.Batch))
	}
}

// ForwardImages calls stage(state, img, w) for every image of the batch, w being the
// chunk whose buffers it uses. The chunks run in parallel and claim images one at a time:
// going forward, images are independent, so a worker slowed by other work takes fewer.
func (s *Split[S]) ForwardImages(stage func(state S, img, w int)) {
	s.image = stage
	s.next.Store(0)
	kernels.ParallelFor(s.Chunks, s.forward)
}

func (s *Split[S]) forwardChunks(lo, hi int) {
	for w := lo; w < hi; w++ {
		for img := s.claim(); img < s.Batch; img = s.claim() {
			s.Start(w)
			s.image(s.state, img, w)
		}
	}
}

// claim returns the next image of the forward pass (Batch or more when none is left).
func (s *Split[S]) claim() int { return int(s.next.Add(1)) - 1 }

// BackwardImages calls stage(state, img, w) for the images of each chunk w in order, and
// then, unless flush is nil, flush(state, w). The chunks run in parallel, each on a fixed
// range of images (see Images): each sums its own images' gradients, in an order that
// does not depend on timing.
func (s *Split[S]) BackwardImages(stage func(state S, img, w int), flush func(state S, w int)) {
	s.image, s.flush = stage, flush
	kernels.ParallelFor(s.Chunks, s.backward)
}

func (s *Split[S]) backwardChunks(lo, hi int) {
	for w := lo; w < hi; w++ {
		first, end := s.Images(w)
		for img := first; img < end; img++ {
			s.Start(w)
			s.image(s.state, img, w)
		}
		if s.flush != nil {
			s.flush(s.state, w)
		}
	}
}

// Images returns the range [first, end) of images of chunk w in a backward pass.
func (s *Split[S]) Images(w int) (first, end int) {
	return w * s.Batch / s.Chunks, (w + 1) * s.Batch / s.Chunks
}

// ParallelFor is kernels.ParallelFor(n, body) for a body that is a method of the state:
// it calls body(state, lo, hi) on ranges covering [0, n), in parallel. Calls must not
// nest.
func (s *Split[S]) ParallelFor(n int, body func(state S, lo, hi int)) {
	s.rows = body
	kernels.ParallelFor(n, s.parallel)
}

func (s *Split[S]) parallelRows(lo, hi int) { s.rows(s.state, lo, hi) }

// ClearGrads zeroes the gradient accumulators of every chunk, the first (the network's
// own gradients of what the per-image layers learn) included. The layers that learn
// outside them, the batch layers (full, batch norm), overwrite their gradients.
func (s *Split[S]) ClearGrads() {
	for _, g := range s.Grads {
		clear(g)
	}
}

// FoldGrads adds the gradient accumulators of the other chunks to the first, in order.
func (s *Split[S]) FoldGrads() {
	for _, g := range s.Grads[1:] {
		kernels.Add(g, s.Grads[0])
	}
}

// Sgemm is kernels.Sgemm for a batch of one chunk, which has every worker to itself, and
// kernels.SgemmSerial when the chunks run in parallel, each on a worker of its own.
func (s *Split[S]) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if s.Chunks == 1 {
		kernels.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	kernels.SgemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// DirectConv is kernels.DirectConv for a batch of one chunk and kernels.DirectConvSerial
// when the chunks run in parallel (see Sgemm).
func (s *Split[S]) DirectConv(dst []float32, m, h, w int, a []float32, offs []int32, src []float32, lds int) {
	if s.Chunks == 1 {
		kernels.DirectConv(dst, m, h, w, a, offs, src, lds)
		return
	}
	kernels.DirectConvSerial(dst, m, h, w, a, offs, src, lds)
}

// Start marks the moment worker w starts a run of layers, when the workspace has a
// Profile.
func (s *Split[S]) Start(w int) {
	if p := s.Workspace.Profile; p != nil {
		p.Start(w)
	}
}

// Tick charges the time since worker w's last Start or Tick to layer, when the workspace
// has a Profile.
func (s *Split[S]) Tick(w, layer int, backward bool) {
	if p := s.Workspace.Profile; p != nil {
		p.Tick(w, layer, backward)
	}
}

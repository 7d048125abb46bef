package nn

import (
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netc-dev/netc/runtime/kernels"
)

// fakeState is a generated network's state as far as Split is concerned: it embeds
// Split and records what its stages are called with.
type fakeState struct {
	Split[*fakeState]
	forward []atomic.Int32 // forward[img]: calls for img
	badW    atomic.Int32   // calls with a chunk outside [0, Chunks)
	// backward[w] lists chunk w's calls in order: its images, then -1 for its flush.
	backward [][]int
	rows     []atomic.Int32 // rows[i]: calls covering row i
}

func (f *fakeState) forwardImage(img, w int) {
	if w < 0 || w >= f.Chunks {
		f.badW.Add(1)
	}
	f.forward[img].Add(1)
}

func (f *fakeState) backwardImage(img, w int) { f.backward[w] = append(f.backward[w], img) }

func (f *fakeState) flush(w int) { f.backward[w] = append(f.backward[w], -1) }

func (f *fakeState) rowRange(lo, hi int) {
	for i := lo; i < hi; i++ {
		f.rows[i].Add(1)
	}
}

// withProcs runs fn with GOMAXPROCS, and so kernels.Workers, set to procs.
func withProcs(t *testing.T, procs int, fn func()) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	fn()
}

// newFake makes a fake state and its workspace for batch images, with grads as the span of
// gradients the chunks accumulate.
func newFake(batch int, grads []float32) (*fakeState, *Workspace) {
	f := &fakeState{forward: make([]atomic.Int32, batch)}
	ws := f.Init(f, batch, Layout{Package: "fake", ImageFloats: 7, ImageInts: 3, InputSize: 5, Grads: grads})
	f.backward = make([][]int, f.Chunks)
	return f, ws
}

// splitCases are batch sizes and numbers of workers, with the chunks they give.
var splitCases = []struct{ batch, procs, chunks int }{
	{1, 1, 1}, {1, 4, 1}, {2, 1, 1}, {2, 2, 2}, {3, 2, 2}, {5, 3, 3}, {7, 4, 4}, {64, 2, 2}, {3, 8, 3},
}

func TestSplitInit(t *testing.T) {
	for _, c := range splitCases {
		withProcs(t, c.procs, func() {
			grads := make([]float32, 4)
			f, ws := newFake(c.batch, grads)
			name := fmt.Sprintf("batch %d, %d workers", c.batch, c.procs)
			if f.Batch != c.batch || f.Chunks != c.chunks || ws.Workers != c.chunks || ws.Batch != c.batch {
				t.Errorf("%s: batch %d in %d chunks, ws %d in %d, want %d in %d",
					name, f.Batch, f.Chunks, ws.Batch, ws.Workers, c.batch, c.chunks)
			}
			if len(ws.Buf) != 7*c.batch || len(ws.Index) != 3*c.batch || len(ws.InputGrad) != 5*c.batch {
				t.Errorf("%s: %d floats, %d ints, %d input gradients, want %d, %d, %d",
					name, len(ws.Buf), len(ws.Index), len(ws.InputGrad), 7*c.batch, 3*c.batch, 5*c.batch)
			}
			if ws.Private != f || f.Workspace != ws {
				t.Errorf("%s: the workspace and the state do not point at each other", name)
			}
			if len(f.Grads) != c.chunks {
				t.Fatalf("%s: %d gradient accumulators, want %d", name, len(f.Grads), c.chunks)
			}
			grads[3] = 1
			if f.Grads[0][3] != 1 {
				t.Errorf("%s: Grads[0] is not the network's gradients", name)
			}
			for w, g := range f.Grads[1:] {
				if len(g) != 4 || &g[0] == &grads[0] || slices.ContainsFunc(g, func(v float32) bool { return v != 0 }) {
					t.Errorf("%s: Grads[%d] = %v, want 4 zeros of its own", name, w+1, g)
				}
			}
			for _, b := range f.PerChunk(6) {
				if len(b) != 6 {
					t.Errorf("%s: PerChunk(6) gave a buffer of %d", name, len(b))
				}
			}
			if n := len(f.PerChunk(6)); n != c.chunks {
				t.Errorf("%s: PerChunk gave %d buffers, want %d", name, n, c.chunks)
			}
		})
	}
}

// panics returns the message of fn's panic, or "" if it returns.
func panics(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	fn()
	return ""
}

func TestSplitChecks(t *testing.T) {
	f, _ := newFake(3, nil)
	for _, c := range []struct {
		name string
		fn   func()
		want string
	}{
		{"batch 0", func() { newFake(0, nil) }, "fake: NewWorkspace: batch 0, want at least 1"},
		{"input", func() { f.CheckInput(make([]float32, 15)) }, ""},
		{"short input", func() { f.CheckInput(make([]float32, 14)) }, "fake: Forward: 14 input values, want 15 (batch 3)"},
		{"labels", func() { f.CheckLabels(make([]int32, 3)) }, ""},
		{"more labels", func() { f.CheckLabels(make([]int32, 4)) }, "fake: Backward: 4 labels, want 3"},
	} {
		if got := panics(c.fn); got != c.want {
			t.Errorf("%s: panic %q, want %q", c.name, got, c.want)
		}
	}
}

// TestForwardImages: every image is run once per pass, on a chunk that exists, pass
// after pass.
func TestForwardImages(t *testing.T) {
	for _, c := range splitCases {
		withProcs(t, c.procs, func() {
			f, _ := newFake(c.batch, nil)
			for pass := 1; pass <= 3; pass++ {
				f.ForwardImages((*fakeState).forwardImage)
				for img := range f.forward {
					if n := f.forward[img].Load(); n != int32(pass) {
						t.Errorf("batch %d, %d workers, pass %d: image %d run %d times in all",
							c.batch, c.procs, pass, img, n)
					}
				}
			}
			if n := f.badW.Load(); n != 0 {
				t.Errorf("batch %d, %d workers: %d calls on a chunk that does not exist", c.batch, c.procs, n)
			}
		})
	}
}

// TestBackwardImages: chunk w runs the images of Images(w) in order, then its flush; the
// chunks' images cover the batch once, in order.
func TestBackwardImages(t *testing.T) {
	for _, c := range splitCases {
		for _, flush := range []bool{true, false} {
			withProcs(t, c.procs, func() {
				f, _ := newFake(c.batch, nil)
				if flush {
					f.BackwardImages((*fakeState).backwardImage, (*fakeState).flush)
				} else {
					f.BackwardImages((*fakeState).backwardImage, nil)
				}
				var all []int
				for w, got := range f.backward {
					first, end := f.Images(w)
					var want []int
					for img := first; img < end; img++ {
						want = append(want, img)
					}
					all = append(all, want...)
					if flush {
						want = append(want, -1)
					}
					if !slices.Equal(got, want) {
						t.Errorf("batch %d, %d workers, flush %v: chunk %d ran %v, want %v",
							c.batch, c.procs, flush, w, got, want)
					}
				}
				for img, got := range all {
					if got != img {
						t.Fatalf("batch %d, %d workers: the chunks' images are %v", c.batch, c.procs, all)
					}
				}
				if len(all) != c.batch {
					t.Errorf("batch %d, %d workers: the chunks have %d images", c.batch, c.procs, len(all))
				}
			})
		}
	}
}

func TestSplitParallelFor(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10, 97} {
		withProcs(t, 2, func() {
			f, _ := newFake(4, nil)
			f.rows = make([]atomic.Int32, n)
			f.ParallelFor(n, (*fakeState).rowRange)
			for i := range f.rows {
				if got := f.rows[i].Load(); got != 1 {
					t.Errorf("n %d: row %d covered %d times", n, i, got)
				}
			}
		})
	}
}

// TestFoldGrads: FoldGrads adds every other chunk's accumulator to the first in order;
// ClearGrads zeroes them all, the first (the network's gradients) included.
func TestFoldGrads(t *testing.T) {
	withProcs(t, 3, func() {
		grads := []float32{1, 2}
		f, _ := newFake(5, grads)
		copy(f.Grads[1], []float32{10, 20})
		copy(f.Grads[2], []float32{100, 200})
		f.FoldGrads()
		if want := []float32{111, 222}; !slices.Equal(grads, want) {
			t.Errorf("folded gradients %v, want %v", grads, want)
		}
		f.ClearGrads()
		for w, g := range f.Grads {
			if !slices.Equal(g, []float32{0, 0}) {
				t.Errorf("Grads[%d] = %v after ClearGrads", w, g)
			}
		}
		if !slices.Equal(grads, []float32{0, 0}) {
			t.Errorf("the network's gradients are %v after ClearGrads", grads)
		}
	})
}

// TestSplitKernels: Sgemm and DirectConv compute the same whether the batch is one chunk
// (the parallel kernels) or several (the serial ones).
func TestSplitKernels(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6} // 2×3
	b := []float32{1, 0, 0, 1, 1, 1} // 3×2
	want := []float32{4, 5, 10, 11}  // a·b
	src := make([]float32, kernels.DirectSrcSize(1, 2, 2))
	copy(src, []float32{1, 2, 3, 4}) // a 1×2×2 image
	packed := make([]float32, kernels.DirectPackedSize(1, 1))
	kernels.PackDirect(packed, []float32{2}, 1, 1, 2) // one 1×1 filter of weight 2
	for _, batch := range []int{1, 2} {
		withProcs(t, 2, func() {
			f, _ := newFake(batch, nil)
			c := make([]float32, 4)
			f.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
			if !slices.Equal(c, want) {
				t.Errorf("%d chunks: Sgemm gave %v, want %v", f.Chunks, c, want)
			}
			dst := make([]float32, 4)
			f.DirectConv(dst, 1, 2, 2, packed, []int32{0}, src, 2)
			if want := []float32{2, 4, 6, 8}; !slices.Equal(dst, want) {
				t.Errorf("%d chunks: DirectConv gave %v, want %v", f.Chunks, dst, want)
			}
		})
	}
}

// TestSplitProfile: with a Profile, the time of a stage goes to the layers it ticks, on
// the chunk that ran it; without one, the hooks do nothing.
func TestSplitProfile(t *testing.T) {
	withProcs(t, 2, func() {
		f, ws := newFake(2, nil)
		f.ForwardImages((*fakeState).forwardImage) // no Profile: no panic
		ws.Profile = NewProfile(ws.Workers, 2)
		f.ForwardImages(func(f *fakeState, img, w int) {
			time.Sleep(time.Millisecond)
			f.Tick(w, 1, false)
		})
		fwd, bwd := ws.Profile.Layer(1)
		if fwd < 2*time.Millisecond || bwd != 0 {
			t.Errorf("layer 1: %v forward, %v backward, want at least 2ms and 0", fwd, bwd)
		}
		if fwd, _ := ws.Profile.Layer(0); fwd != 0 {
			t.Errorf("layer 0: %v forward, want 0", fwd)
		}
	})
}

package kernels

import (
	"fmt"
	"runtime"
)

// Direct convolution: a stride-1 convolution computed as an implicit GEMM straight from a
// zero-padded copy of its input, without laying out an im2col matrix. A tile kernel keeps
// an r×(8v) block of the output in registers: r filters (weights broadcast from a packed
// panel) by 8v consecutive output columns of one row (loaded from the padded source at
// each tap's offset). The taps' offsets come from a table (ConvOffsets), so one kernel
// serves every kernel size and channel count.
//
// The same routine computes the input gradient of such a layer: it is the convolution of
// the output gradient, padded by k−1−p, with the filters rotated by 180° and their
// channel and filter axes swapped (PackDirectFlipped).

// convTile is one tile kernel: dst[i*ldd+j] = Σp a[p*r+i]*src[offs[p]+j] for i < r, j < 8v.
type convTile struct {
	r, v int
	// eff is the kernel's speed relative to the best full tile, measured on this
	// machine's kind of core: it weighs the shape against the work wasted on edges.
	eff float64
	fn  func(k int, a []float32, offs []int32, src, dst []float32, ldd int)
}

// maxTileRows and maxTileCols bound every path's tile shapes.
const (
	maxTileRows = 12
	maxTileCols = 24
)

// tileFor picks the tile that computes m filters over output rows of width w fastest:
// the most efficient shape after counting the rows and columns its edges waste.
func (im *impl) tileFor(m, w int) *convTile {
	var best *convTile
	score := 0.0
	for i := range im.tiles {
		t := &im.tiles[i]
		used := float64(m*w) / float64(roundUp(m, t.r)*roundUp(w, 8*t.v))
		if s := t.eff * used; s > score {
			best, score = t, s
		}
	}
	return best
}

// ConvOffsets returns the offsets, in a padded image of c planes of hp×wp, of the taps of
// a kh×kw kernel in weight order: offs[(ci*kh+y)*kw+x] = ci*hp*wp + y*wp + x. They are
// ascending, as DirectConv requires.
func ConvOffsets(c, kh, kw, hp, wp int) []int32 {
	offs := make([]int32, 0, c*kh*kw)
	for ci := 0; ci < c; ci++ {
		for y := 0; y < kh; y++ {
			for x := 0; x < kw; x++ {
				offs = append(offs, int32(ci*hp*wp+y*wp+x))
			}
		}
	}
	return offs
}

// DirectPackedSize is the length of the packed weights of m filters of depth k (see
// PackDirect), whatever tile the kernels choose.
func DirectPackedSize(m, k int) int { return (m + maxTileRows - 1) * k }

// DirectSrcSize is the length of a padded source of c planes of hp×wp for DirectConv:
// tiles read up to a tile's width past the last plane.
func DirectSrcSize(c, hp, wp int) int { return c*hp*wp + maxTileCols }

// PackDirect packs the m×k row-major weights w (filter by filter, taps in ConvOffsets
// order) into dst, of length at least DirectPackedSize(m, k), as the panels DirectConv
// reads for output rows of width width.
func PackDirect(dst, w []float32, m, k, width int) {
	t := cur.tileFor(m, width)
	if len(w) < m*k || len(dst) < roundUp(m, t.r)*k {
		panic(fmt.Sprintf("kernels: PackDirect: len(w)=%d, len(dst)=%d for %d×%d", len(w), len(dst), m, k))
	}
	packDirect(t.r, dst, m, k, func(i, p int) float32 { return w[i*k+p] })
}

// PackDirectFlipped packs the weights of a convolution with f filters over c channels of
// kh×kw (w, in PyTorch layout) for its input gradient: as c filters over f channels,
// rotated by 180°, w'[ci][fi][y][x] = w[fi][ci][kh−1−y][kw−1−x], panelled like
// PackDirect(dst, w', c, f·kh·kw, width).
func PackDirectFlipped(dst, w []float32, f, c, kh, kw, width int) {
	k := f * kh * kw
	t := cur.tileFor(c, width)
	if len(w) < f*c*kh*kw || len(dst) < roundUp(c, t.r)*k {
		panic(fmt.Sprintf("kernels: PackDirectFlipped: len(w)=%d, len(dst)=%d for %d×%d×%d×%d", len(w), len(dst), f, c, kh, kw))
	}
	taps := kh * kw
	packDirect(t.r, dst, c, k, func(ci, p int) float32 {
		fi, tap := p/taps, p%taps
		return w[(fi*c+ci)*taps+taps-1-tap]
	})
}

// packDirect writes panels of r rows: element (i, p) of panel q at dst[q*r*k + p*r + i%r],
// with rows past m zero.
func packDirect(r int, dst []float32, m, k int, at func(i, p int) float32) {
	for q := 0; q*r < m; q++ {
		pan := dst[q*r*k : (q+1)*r*k]
		for i := 0; i < r; i++ {
			row := q*r + i
			if row >= m {
				for p := 0; p < k; p++ {
					pan[p*r+i] = 0
				}
				continue
			}
			for p := 0; p < k; p++ {
				pan[p*r+i] = at(row, p)
			}
		}
	}
}

// PadInto copies c planes of h×w from src into the interiors of c planes of
// (h+2ph)×(w+2pw) in dst, leaving their borders as they are (zero, in a buffer used only
// for this).
func PadInto(dst, src []float32, c, h, w, ph, pw int) {
	hp, wp := h+2*ph, w+2*pw
	if len(src) < c*h*w || len(dst) < c*hp*wp {
		panic(fmt.Sprintf("kernels: PadInto: len(src)=%d, len(dst)=%d for %d×%d×%d padded by %d,%d", len(src), len(dst), c, h, w, ph, pw))
	}
	for ci := 0; ci < c; ci++ {
		for y := 0; y < h; y++ {
			o := (ci*hp+y+ph)*wp + pw
			i := (ci*h + y) * w
			copy(dst[o:o+w], src[i:i+w])
		}
	}
}

// directParallelMin is the size (2·m·h·w·taps) from which DirectConv splits its rows over
// the worker pool: a direct convolution runs near 60 GFLOP/s a core, so this is about 15 µs
// of work against about a microsecond to hand half of it to a polling worker.
const directParallelMin = 1 << 20

// DirectConv computes m planes of h×w in dst, each output
//
//	dst[(i*h+y)*w+x] = Σp a(i, p) · src[y*lds + x + offs[p]]
//
// where a is packed by PackDirect(a, ·, m, len(offs), w) (or PackDirectFlipped) and src
// is a padded image of row stride lds holding DirectSrcSize values. offs must be
// ascending (see ConvOffsets). Large convolutions are split by rows over GOMAXPROCS
// goroutines of the worker pool (see ParallelFor). DirectConv does not allocate in steady
// state; it panics if a slice is too short.
func DirectConv(dst []float32, m, h, w int, a []float32, offs []int32, src []float32, lds int) {
	directConvCall(true, dst, m, h, w, a, offs, src, lds)
}

// DirectConvSerial is DirectConv on the calling goroutine only, for callers that already
// run several convolutions in parallel (for example one per image of a batch).
func DirectConvSerial(dst []float32, m, h, w int, a []float32, offs []int32, src []float32, lds int) {
	directConvCall(false, dst, m, h, w, a, offs, src, lds)
}

func directConvCall(parallel bool, dst []float32, m, h, w int, a []float32, offs []int32, src []float32, lds int) {
	t := cur.tileFor(m, w)
	k := len(offs)
	if m == 0 || h == 0 || w == 0 || k == 0 {
		clear(dst[:m*h*w])
		return
	}
	last := int(offs[k-1])
	if len(dst) < m*h*w || len(a) < roundUp(m, t.r)*k || offs[0] < 0 || len(src) < (h-1)*lds+roundUp(w, 8*t.v)+last {
		panic(fmt.Sprintf("kernels: DirectConv: len(dst)=%d, len(a)=%d, len(src)=%d for %d×%d×%d, %d taps up to %d, stride %d",
			len(dst), len(a), len(src), m, h, w, k, last, lds))
	}
	for p := 1; p < k; p++ {
		if offs[p] < offs[p-1] {
			panic("kernels: DirectConv: offsets not ascending")
		}
	}
	if parallel && h > 1 && 2*m*h*w*k >= directParallelMin && runtime.GOMAXPROCS(0) > 1 {
		j := getDirectJob()
		j.t, j.dst, j.m, j.h, j.w, j.a, j.offs, j.src, j.lds = t, dst, m, h, w, a, offs, src, lds
		ParallelFor(h, j.runFn)
		putDirectJob(j)
		return
	}
	directConv(t, dst, m, h, w, a, offs, src, lds, 0, h)
}

// directJob is a DirectConv split over the pool, its run method bound once so that calls do
// not allocate.
type directJob struct {
	t            *convTile
	dst, a, src  []float32
	offs         []int32
	m, h, w, lds int
	runFn        func(lo, hi int)
}

var directJobs = make(chan *directJob, 8)

func getDirectJob() *directJob {
	select {
	case j := <-directJobs:
		return j
	default:
		j := new(directJob)
		j.runFn = j.run
		return j
	}
}

func putDirectJob(j *directJob) {
	j.dst, j.a, j.src, j.offs = nil, nil, nil, nil // drop references to the caller's slices
	select {
	case directJobs <- j:
	default:
	}
}

func (j *directJob) run(lo, hi int) {
	directConv(j.t, j.dst, j.m, j.h, j.w, j.a, j.offs, j.src, j.lds, lo, hi)
}

// directConv runs tile kernel t over output rows [y0, y1): panel by panel of filters (the
// panel stays in L1), row by row, tile by tile along the row. Tiles that stick out of the
// last panel or past the end of a row are computed into a scratch tile and copied.
func directConv(t *convTile, dst []float32, m, h, w int, a []float32, offs []int32, src []float32, lds, y0, y1 int) {
	k, r, cols := len(offs), t.r, 8*t.v
	plane := h * w
	// The scratch tile comes from the GEMM buffers' free list: a local array would escape
	// through the kernel's function value.
	buf := getGemmBuf()
	defer putGemmBuf(buf)
	buf.tile = grow(buf.tile, maxTileRows*maxTileCols)
	tile := buf.tile
	for q := 0; q*r < m; q++ {
		pan := a[q*r*k : (q+1)*r*k]
		rows := min(r, m-q*r)
		for y := y0; y < y1; y++ {
			for x := 0; x < w; x += cols {
				s := src[y*lds+x:]
				o := q*r*plane + y*w + x
				n := min(cols, w-x)
				if rows == r && n == cols {
					t.fn(k, pan, offs, s, dst[o:], plane)
					continue
				}
				t.fn(k, pan, offs, s, tile, cols)
				for i := 0; i < rows; i++ {
					copy(dst[o+i*plane:o+i*plane+n], tile[i*cols:i*cols+n])
				}
			}
		}
	}
}

// convTileGo returns the pure-Go tile kernel of r rows by 8v columns:
//
//	for i := 0; i < r; i++ {
//		for j := 0; j < 8*v; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[p*r+i] * src[offs[p]+j]
//			}
//			dst[i*ldd+j] = s
//		}
//	}
func convTileGo(r, v int) func(k int, a []float32, offs []int32, src, dst []float32, ldd int) {
	cols := 8 * v
	return func(k int, a []float32, offs []int32, src, dst []float32, ldd int) {
		var acc [maxTileRows * maxTileCols]float32
		for p := 0; p < k; p++ {
			row := src[offs[p] : int(offs[p])+cols]
			ws := a[p*r : p*r+r]
			for i, wi := range ws {
				ai := acc[i*cols : i*cols+cols]
				for j, x := range row {
					ai[j] += wi * x
				}
			}
		}
		for i := 0; i < r; i++ {
			copy(dst[i*ldd:i*ldd+cols], acc[i*cols:i*cols+cols])
		}
	}
}

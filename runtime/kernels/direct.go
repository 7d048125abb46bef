package kernels

import (
	"bytes"
	"fmt"
	"runtime"
	"unsafe"
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

// convTile is one tile kernel: it computes n ≥ 1 tiles side by side, tile t being
// dst[i*ldd+cols*t+j] = Σp a[p*r+i]*src[offs[p]+cols*t+j] for i < r, j < cols (8 or 16
// lanes times the tile's vectors).
type convTile struct {
	r, cols int
	// eff is the kernel's speed relative to the best full tile, measured on this
	// machine's kind of core: it weighs the shape against the work wasted on edges.
	eff float64
	fn  func(k int, a []float32, offs []int32, src, dst []float32, ldd, n int)
}

// maxTileRows and maxTileCols bound every path's tile shapes.
const (
	maxTileRows = 16
	maxTileCols = 32
)

// gradTile is one weight-gradient tile kernel:
// dst[i*ldd+j] += Σq src[rows[i]+pixels[q]]*b[q*8v+j] for i < r, j < 8v.
type gradTile struct {
	r, v int
	eff  float64 // as convTile.eff
	fn   func(n int, src []float32, rows, pixels []int32, b, dst []float32, ldd int)
}

// tileFor picks the tile that computes m filters over output rows of width w fastest.
func (im *impl) tileFor(m, w int) *convTile {
	return &im.tiles[pickTile(len(im.tiles), m, w, func(i int) (int, int, float64) {
		return im.tiles[i].r, im.tiles[i].cols, im.tiles[i].eff
	})]
}

// gradTileFor picks the weight-gradient tile for k taps of f filters.
func (im *impl) gradTileFor(k, f int) *gradTile {
	return &im.gradTiles[pickTile(len(im.gradTiles), k, f, func(i int) (int, int, float64) {
		return im.gradTiles[i].r, 8 * im.gradTiles[i].v, im.gradTiles[i].eff
	})]
}

// pickTile returns the index of the fastest of n tile shapes (rows r, columns cols,
// relative speed eff) for an m×w output: the most efficient after counting what its edges
// waste.
func pickTile(n, m, w int, shape func(i int) (r, cols int, eff float64)) int {
	best, score := 0, 0.0
	for i := 0; i < n; i++ {
		r, cols, eff := shape(i)
		used := float64(m*w) / float64(roundUp(m, r)*roundUp(w, cols))
		if s := eff * used; s > score {
			best, score = i, s
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
	packDirect(t.r, dst, w, m, k)
}

// packDirect writes panels of r rows of the m×k matrix w: element (i, p) to panel i/r at
// dst[(i/r)*r*k + p*r + i%r], with the rows past m zero.
func packDirect(r int, dst, w []float32, m, k int) {
	clear(dst[m/r*r*k : roundUp(m, r)*k])
	for i := 0; i < m; i++ {
		pan := dst[i/r*r*k+i%r : roundUp(i+1, r)*k]
		for p, v := range w[i*k : i*k+k] {
			pan[p*r] = v
		}
	}
}

// PackDirectFlipped packs the weights of a convolution with f filters over c channels of
// kh×kw (w, in PyTorch layout) for its input gradient: as c filters over f channels,
// rotated by 180°, w'[ci][fi][y][x] = w[fi][ci][kh−1−y][kw−1−x], panelled like
// PackDirect(dst, w', c, f·kh·kw, width).
func PackDirectFlipped(dst, w []float32, f, c, kh, kw, width int) {
	k := f * kh * kw
	r := cur.tileFor(c, width).r
	if len(w) < f*c*kh*kw || len(dst) < roundUp(c, r)*k {
		panic(fmt.Sprintf("kernels: PackDirectFlipped: len(w)=%d, len(dst)=%d for %d×%d×%d×%d", len(w), len(dst), f, c, kh, kw))
	}
	taps := kh * kw
	clear(dst[c/r*r*k : roundUp(c, r)*k])
	for ci := 0; ci < c; ci++ {
		pan := dst[ci/r*r*k+ci%r : roundUp(ci+1, r)*k]
		for fi := 0; fi < f; fi++ {
			// Tap t of filter fi's channel ci lands at p = fi·taps + taps−1−t.
			src := w[(fi*c+ci)*taps : (fi*c+ci+1)*taps]
			end := (fi+1)*taps - 1
			for t, v := range src {
				pan[(end-t)*r] = v
			}
		}
	}
}

// Changed reports whether src differs, bit for bit, from snapshot (of the same length),
// and copies it there if so. Generated code packs weights again only when they have
// changed since they were last packed: comparing costs a small part of packing.
func Changed(snapshot, src []float32) bool {
	if len(snapshot) != len(src) {
		panic(fmt.Sprintf("kernels: Changed: len(snapshot)=%d, len(src)=%d", len(snapshot), len(src)))
	}
	if bytes.Equal(floatBytes(snapshot), floatBytes(src)) {
		return false
	}
	copy(snapshot, src)
	return true
}

// floatBytes is the memory of x as bytes.
func floatBytes(x []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*len(x))
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
		o, i := (ci*hp+ph)*wp+pw, ci*h*w
		if w < 8 || h == 0 {
			copyRowsGo(dst[o:], wp, src[i:], w, h, w)
			continue
		}
		// One call a channel: a copy a row, through the runtime, cost more than the
		// copying for rows as short as a convolution's (16 values in cifar-small).
		cur.copyRows(dst[o:o+(h-1)*wp+w], wp, src[i:i+h*w], w, h, w)
	}
}

// directParallelMin is the size (2·m·h·w·taps) from which DirectConv splits its rows over
// the worker pool: 32 MFLOP, about 100 µs of work per core for the AVX-512 tiles. Handing
// half to a polling worker takes about a microsecond when that core is free, but the
// machines netc runs on are often shared, and a worker that has to wait for its core
// costs far more than it saves: on two Zen 5 cores of a shared VM, resnet20, mobile-cifar
// and cifar-small ran at batch 1 1.3-1.9× faster with every convolution on the calling
// core (the former threshold, 1 MFLOP, had made cifar-small 25% faster on a quiet Zen 3),
// and a 4.7 MFLOP convolution took 48 µs alone against 55 µs split even with the other
// core idle.
const directParallelMin = 1 << 25

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
	if len(dst) < m*h*w || len(a) < roundUp(m, t.r)*k || offs[0] < 0 || len(src) < (h-1)*lds+roundUp(w, t.cols)+last {
		panic(fmt.Sprintf("kernels: DirectConv: len(dst)=%d, len(a)=%d, len(src)=%d for %d×%d×%d, %d taps up to %d, stride %d",
			len(dst), len(a), len(src), m, h, w, k, last, lds))
	}
	checkAscending("DirectConv", offs)
	if parallel && h > 1 && 2*m*h*w*k >= directParallelMin && runtime.GOMAXPROCS(0) > 1 {
		j := directJobs.get()
		j.t, j.dst, j.m, j.h, j.w, j.a, j.offs, j.src, j.lds = t, dst, m, h, w, a, offs, src, lds
		ParallelFor(h, j.runFn)
		j.dst, j.a, j.src, j.offs = nil, nil, nil, nil // drop references to the caller's slices
		directJobs.put(j)
		return
	}
	if flat := (h-1)*lds + w; h > 1 && h*w*roundUp(w, t.cols) > w*roundUp(flat, t.cols) {
		directConvFlat(t, dst, m, h, w, a, offs, src, lds)
		return
	}
	directConv(t, dst, m, h, w, a, offs, src, lds, 0, h)
}

// directConvFlat is directConv for rows narrower than a tile (an 8×8 output under 16-wide
// tiles wastes half of each): it computes the output as one row of (h−1)·lds + w columns,
// the padded source's rows end to end, so that a tile spans several output rows and only
// the lds − w columns between them (the padding) are wasted, then copies the h rows of w
// out of it.
func directConvFlat(t *convTile, dst []float32, m, h, w int, a []float32, offs []int32, src []float32, lds int) {
	flat := (h-1)*lds + w
	buf := getGemmBuf()
	buf.flat = grow(buf.flat, m*flat)
	directConv(t, buf.flat, m, 1, flat, a, offs, src, lds, 0, 1)
	for f := range m {
		for y := range h {
			copy(dst[(f*h+y)*w:(f*h+y)*w+w], buf.flat[f*flat+y*lds:f*flat+y*lds+w])
		}
	}
	putGemmBuf(buf)
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

var directJobs = newFreeList(8, func() *directJob {
	j := new(directJob)
	j.runFn = j.run
	return j
})

func (j *directJob) run(lo, hi int) {
	directConv(j.t, j.dst, j.m, j.h, j.w, j.a, j.offs, j.src, j.lds, lo, hi)
}

// directConv runs tile kernel t over output rows [y0, y1): panel by panel of filters (the
// panel stays in L1), row by row, tile by tile along the row. A tile past the end of a row
// is stored in place, its extra columns landing in the next rows, which are computed
// after it; tiles that stick out of the last panel, or out of the last rows, are computed
// into a scratch tile and copied.
func directConv(t *convTile, dst []float32, m, h, w int, a []float32, offs []int32, src []float32, lds, y0, y1 int) {
	k, r, cols := len(offs), t.r, t.cols
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
			// One call for the tiles of the row stored in place (a last one sticking out
			// of the row spills into the next rows, computed after it), then the others
			// through the scratch tile.
			x := 0
			if rows == r {
				spill := (roundUp(w, cols) - 1) / w // rows the row's last tile reaches past it
				tiles := w / cols
				if y+spill < y1 {
					tiles = (w + cols - 1) / cols
				}
				if tiles > 0 {
					t.fn(k, pan, offs, src[y*lds:], dst[q*r*plane+y*w:], plane, tiles)
				}
				x = tiles * cols
			}
			for ; x < w; x += cols {
				o := q*r*plane + y*w + x
				n := min(cols, w-x)
				t.fn(k, pan, offs, src[y*lds+x:], tile, cols, 1)
				for i := 0; i < rows; i++ {
					copy(dst[o+i*plane:o+i*plane+n], tile[i*cols:i*cols+n])
				}
			}
		}
	}
}

// DirectGradSize is the length of the accumulator of a direct convolution's transposed
// weight gradient for k taps of f filters (see DirectWeightGrad), whatever tile the
// kernels choose.
func DirectGradSize(k, f int) int { return k * (roundUp(f, 8) + 16) }

// PackDirectGrad lays out the f×n output gradient dout (filter by filter) for
// DirectWeightGrad with k taps: transposed, in panels of the tile's width, panel b holding
// dout[b*w+j][q] at dst[b*n*w + q*w + j], zero for filters past f. dst needs
// DirectGradSize(n, f) values.
func PackDirectGrad(dst, dout []float32, k, f, n int) {
	w := 8 * cur.gradTileFor(k, f).v
	if len(dout) < f*n || len(dst) < n*roundUp(f, w) {
		panic(fmt.Sprintf("kernels: PackDirectGrad: len(dout)=%d, len(dst)=%d for %d×%d", len(dout), len(dst), f, n))
	}
	packDirectGrad(w, dst, dout, f, n)
}

func packDirectGrad(w int, dst, dout []float32, f, n int) {
	n8 := n &^ 7
	for b := 0; b*w < f; b++ {
		pan := dst[b*n*w : (b+1)*n*w]
		for j0 := 0; j0 < w; j0 += 8 {
			fi := b*w + j0
			q0 := 0
			if fi+8 <= f && n8 > 0 {
				cur.transpose8(pan[j0:], w, dout[fi*n:], n, n8)
				q0 = n8
			}
			for q := q0; q < n; q++ {
				out := pan[q*w+j0 : q*w+j0+8]
				for j := range out {
					out[j] = 0
					if fi+j < f {
						out[j] = dout[(fi+j)*n+q]
					}
				}
			}
		}
	}
}

// transpose8Go sets dst[q*ldd+j] = src[j*lds+q] for j < 8, q < n.
func transpose8Go(dst []float32, ldd int, src []float32, lds, n int) {
	for j := 0; j < 8; j++ {
		row := src[j*lds : j*lds+n]
		for q, x := range row {
			dst[q*ldd+j] = x
		}
	}
}

// DirectWeightGrad adds one image's contribution to the transposed weight gradient of a
// direct convolution with f filters:
//
//	acc(p, j) += Σq src[offs[p] + pixels[q]] · dout[j][q]
//
// for every tap p (offs as for DirectConv, into the padded input src) and filter j, the
// sum running over the output positions q (pixels[q] = y·lds + x, see ConvOffsets). doutT
// is the output gradient packed by PackDirectGrad(doutT, dout, len(offs), f,
// len(pixels)); acc holds DirectGradSize(len(offs), f) values and is folded into the
// weight gradient by FlushDirectWeightGrad. It panics if a slice is too short.
func DirectWeightGrad(acc []float32, f int, src []float32, offs, pixels []int32, doutT []float32) {
	k, n := len(offs), len(pixels)
	if k == 0 || n == 0 || f == 0 {
		return
	}
	t := cur.gradTileFor(k, f)
	ld := roundUp(f, 8*t.v)
	checkAscending("DirectWeightGrad", offs)
	checkAscending("DirectWeightGrad", pixels)
	if len(acc) < k*ld || len(doutT) < n*ld || offs[0] < 0 || pixels[0] < 0 || len(src) <= int(offs[k-1])+int(pixels[n-1]) {
		panic(fmt.Sprintf("kernels: DirectWeightGrad: len(acc)=%d, len(doutT)=%d, len(src)=%d for %d taps up to %d, %d positions up to %d, %d filters",
			len(acc), len(doutT), len(src), k, offs[k-1], n, pixels[n-1], f))
	}
	directWeightGrad(t, acc, ld, src, offs, pixels, doutT)
}

func checkAscending(fn string, offs []int32) {
	for p := 1; p < len(offs); p++ {
		if offs[p] < offs[p-1] {
			panic("kernels: " + fn + ": offsets not ascending")
		}
	}
}

// directWeightGrad runs tile kernel t over the accumulator (row stride ld): panel by panel
// of filters, r taps at a time. The last, partial group of taps repeats a valid offset in
// the rows it lacks and is computed into a scratch tile, then added.
func directWeightGrad(t *gradTile, acc []float32, ld int, src []float32, offs, pixels []int32, doutT []float32) {
	k, n, r, w := len(offs), len(pixels), t.r, 8*t.v
	buf := getGemmBuf()
	defer putGemmBuf(buf)
	buf.tile = grow(buf.tile, maxTileRows*maxTileCols)
	if cap(buf.rows) < maxTileRows {
		buf.rows = make([]int32, maxTileRows)
	}
	tile, rows := buf.tile[:r*w], buf.rows[:r]
	for b := 0; b*w < ld; b++ {
		pan := doutT[b*n*w : (b+1)*n*w]
		for p := 0; p < k; p += r {
			o := p*ld + b*w
			if p+r <= k {
				t.fn(n, src, offs[p:p+r], pixels, pan, acc[o:], ld)
				continue
			}
			m := k - p
			copy(rows, offs[p:])
			for i := m; i < r; i++ {
				rows[i] = offs[p]
			}
			clear(tile)
			t.fn(n, src, rows, pixels, pan, tile, w)
			for i := 0; i < m; i++ {
				Add(tile[i*w:i*w+w], acc[o+i*ld:o+i*ld+w])
			}
		}
	}
}

// FlushDirectWeightGrad adds the transposed weight gradient accumulated in acc (by
// DirectWeightGrad, for f filters of k taps) into dw, f×k filter by filter, and clears
// acc for the next batch.
func FlushDirectWeightGrad(dw, acc []float32, f, k int) {
	ld := roundUp(f, 8*cur.gradTileFor(k, f).v)
	if len(dw) < f*k || len(acc) < k*ld {
		panic(fmt.Sprintf("kernels: FlushDirectWeightGrad: len(dw)=%d, len(acc)=%d for %d×%d", len(dw), len(acc), f, k))
	}
	flushDirectWeightGrad(dw, acc, f, k, ld)
}

func flushDirectWeightGrad(dw, acc []float32, f, k, ld int) {
	addTransposed(dw, acc, f, k, ld)
	clear(acc[:k*ld])
}

// gradTileGo returns the pure-Go weight-gradient tile kernel of r rows by 8v columns:
//
//	for i := 0; i < r; i++ {
//		for j := 0; j < 8*v; j++ {
//			for q := 0; q < n; q++ {
//				dst[i*ldd+j] += src[rows[i]+pixels[q]] * b[q*8*v+j]
//			}
//		}
//	}
func gradTileGo(r, v int) func(n int, src []float32, rows, pixels []int32, b, dst []float32, ldd int) {
	w := 8 * v
	return func(n int, src []float32, rows, pixels []int32, b, dst []float32, ldd int) {
		for i := 0; i < r; i++ {
			d := dst[i*ldd : i*ldd+w]
			base := int(rows[i])
			for q := 0; q < n; q++ {
				x := src[base+int(pixels[q])]
				for j, bj := range b[q*w : q*w+w] {
					d[j] += x * bj
				}
			}
		}
	}
}

// convTileGo returns the pure-Go tile kernel of r rows by cols columns:
//
//	for i := 0; i < r; i++ {
//		for j := 0; j < cols; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[p*r+i] * src[offs[p]+j]
//			}
//			dst[i*ldd+j] = s
//		}
//	}
func convTileGo(r, cols int) func(k int, a []float32, offs []int32, src, dst []float32, ldd, n int) {
	return func(k int, a []float32, offs []int32, src, dst []float32, ldd, n int) {
		for t := 0; t < n; t++ {
			var acc [maxTileRows * maxTileCols]float32
			for p := 0; p < k; p++ {
				row := src[int(offs[p])+t*cols : int(offs[p])+t*cols+cols]
				ws := a[p*r : p*r+r]
				for i, wi := range ws {
					ai := acc[i*cols : i*cols+cols]
					for j, x := range row {
						ai[j] += wi * x
					}
				}
			}
			for i := 0; i < r; i++ {
				copy(dst[i*ldd+t*cols:i*ldd+t*cols+cols], acc[i*cols:i*cols+cols])
			}
		}
	}
}

package kernels

import (
	"fmt"
	"runtime"
)

// convOut returns the output size of a convolution or pooling window along one axis.
func convOut(in, k, s, p int) int { return (in+2*p-k)/s + 1 }

func checkConv(op string, src []float32, c, h, w, kh, kw, sh, sw, ph, pw int, dst []float32) (oh, ow int) {
	if c < 0 || h < 0 || w < 0 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0 ||
		h+2*ph < kh || w+2*pw < kw {
		panic(fmt.Sprintf("kernels: %s: bad geometry c=%d h=%d w=%d kernel %d×%d stride %d×%d pad %d×%d",
			op, c, h, w, kh, kw, sh, sw, ph, pw))
	}
	oh, ow = convOut(h, kh, sh, ph), convOut(w, kw, sw, pw)
	if len(src) < c*h*w {
		panic(fmt.Sprintf("kernels: %s: image slice has %d elements, need %d", op, len(src), c*h*w))
	}
	if need := c * kh * kw * oh * ow; len(dst) < need {
		panic(fmt.Sprintf("kernels: %s: column slice has %d elements, need %d", op, len(dst), need))
	}
	return oh, ow
}

// Im2col unrolls the image src ([c, h, w]) into the matrix dst of shape
// [c*kh*kw, oh*ow], where oh = (h+2*ph-kh)/sh+1 and ow = (w+2*pw-kw)/sw+1: row
// (ci*kh+ki)*kw+kj, column oy*ow+ox holds src[ci, oy*sh-ph+ki, ox*sw-pw+kj], or 0 where
// that falls in the padding. A convolution is then the GEMM weights[m, c*kh*kw] × dst.
// A large one is split over the worker pool by channels and kernel rows (see
// ParallelFor); nested in a parallel body it runs on the calling goroutine.
func Im2col(src []float32, c, h, w, kh, kw, sh, sw, ph, pw int, dst []float32) {
	oh, ow := checkConv("Im2col", src, c, h, w, kh, kw, sh, sw, ph, pw, dst)
	g := im2colGeom{src, dst, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow}
	if c*kh*kw*oh*ow < im2colParallelMin || c*kh < 2 || runtime.GOMAXPROCS(0) < 2 {
		g.rows(0, c*kh)
		return
	}
	j := im2colJobs.get()
	j.g = g
	ParallelFor(c*kh, j.runFn)
	j.g = im2colGeom{} // drop references to the caller's slices
	im2colJobs.put(j)
}

// im2colParallelMin is the matrix size from which Im2col splits its work: AlexNet conv1's
// (1.1M values, about a millisecond) is, its later layers' per-image matrices and
// cifar-small's are generated code or direct convolutions.
const im2colParallelMin = 1 << 18

// im2colGeom is one Im2col call.
type im2colGeom struct {
	src, dst                                []float32
	c, h, w, kh, kw, sh, sw, ph, pw, oh, ow int
}

// im2colJob is an Im2col split over the pool, its run method bound once so that calls do
// not allocate.
type im2colJob struct {
	g     im2colGeom
	runFn func(lo, hi int)
}

var im2colJobs = newFreeList(8, func() *im2colJob {
	j := new(im2colJob)
	j.runFn = func(lo, hi int) { j.g.rows(lo, hi) }
	return j
})

// rows fills the matrix rows of channels and kernel rows [u0, u1) (unit ci·kh + ki holds
// the kw rows of taps (ci, ki, ·)).
func (g *im2colGeom) rows(u0, u1 int) {
	src, dst := g.src, g.dst
	h, w, kh, kw, sh, sw, ph, pw, oh, ow := g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh, g.ow
	n := oh * ow
	var buf *gemmBuf
	if sw > 1 {
		buf = getGemmBuf()
		defer putGemmBuf(buf)
	}
	for u := u0; u < u1; u++ {
		ci, ki := u/kh, u%kh
		img := src[ci*h*w : (ci+1)*h*w]
		// Output rows oy in [oy0, oy1) read input row oy*sh-ph+ki inside the image, which
		// starts at in[base+oy*stride]. With a horizontal stride, in holds the rows split
		// into their sw phases of pl values instead (see splitPhases).
		oy0, oy1 := TapRange(h, oh, sh, ph, ki)
		in, base, stride, pl := img, (ki-ph)*w, sh*w, w
		if sw > 1 && oy0 < oy1 {
			pl = (w + sw - 1) / sw
			in = splitPhases(buf, img, w, sh, sw, pl, ki-ph, oy0, oy1)
			base, stride = -oy0*sw*pl, sw*pl
		}
		for kj := 0; kj < kw; kj++ {
			d := dst[(u*kw+kj)*n : (u*kw+kj+1)*n]
			lo, hi := TapRange(w, ow, sw, pw, kj)
			if oy0 == oy1 || lo == hi {
				clear(d)
				continue
			}
			clear(d[:oy0*ow])
			clear(d[oy1*ow:])
			// Output column ox reads input column x0 + (ox-lo)·sw: in phase x0 mod sw,
			// from x0/sw (for sw = 1, simply x0).
			x0 := lo*sw - pw + kj
			at := x0%sw*pl + x0/sw
			if sw == 1 && sh == 1 && ow == w {
				// Rows of d and of the image have the same length, so the valid parts
				// of all rows form one contiguous run in both: copy it at once, then
				// zero the few padding columns it wrapped into.
				copy(d[oy0*ow+lo:(oy1-1)*ow+hi], img[base+oy0*stride+at:])
				if lo == 0 && hi == ow {
					continue
				}
				for oy := oy0; oy < oy1; oy++ {
					r := d[oy*ow : (oy+1)*ow]
					for i := range r[:lo] {
						r[i] = 0
					}
					for i := hi; i < len(r); i++ {
						r[i] = 0
					}
				}
				continue
			}
			for oy := oy0; oy < oy1; oy++ {
				drow := d[oy*ow : (oy+1)*ow]
				zeroShort(drow[:lo])
				zeroShort(drow[hi:])
				copyShort(drow[lo:hi], in[base+oy*stride+at:][:hi-lo])
			}
		}
	}
}

// splitPhases splits the input rows oy*sh+dy of img (oy in [oy0, oy1)) into their sw
// phases of pl values each (phase p holding the values at x ≡ p mod sw), in buf, and
// returns them, row after row. Gathering every sw-th value for each tap would read each
// input row kw times, value by value; from the phases, a tap's part of an output row is
// one contiguous run.
func splitPhases(buf *gemmBuf, img []float32, w, sh, sw, pl, dy, oy0, oy1 int) []float32 {
	buf.tile = grow(buf.tile, (oy1-oy0)*sw*pl)
	phases := buf.tile
	for oy := oy0; oy < oy1; oy++ {
		srow := img[(oy*sh+dy)*w : (oy*sh+dy+1)*w]
		rowPhases := phases[(oy-oy0)*sw*pl : (oy-oy0+1)*sw*pl]
		for p := 0; p < sw; p++ {
			out := rowPhases[p*pl : p*pl+(w-p+sw-1)/sw]
			for i := range out {
				out[i] = srow[p+i*sw]
			}
		}
	}
	return phases
}

// zeroShort and copyShort avoid a runtime call for the short runs of convolution rows.
func zeroShort(d []float32) {
	if len(d) > 32 {
		clear(d)
		return
	}
	for i := range d {
		d[i] = 0
	}
}

func copyShort(d, s []float32) {
	if len(d) > 32 {
		copy(d, s)
		return
	}
	s = s[:len(d)]
	for i, v := range s {
		d[i] = v
	}
}

// Col2im is the adjoint of Im2col: it adds every element of col ([c*kh*kw, oh*ow]) to
// the element of dst ([c, h, w]) that Im2col would have copied it from, dropping those
// that fall in the padding. dst is not cleared first, so gradients accumulate.
func Col2im(col []float32, c, h, w, kh, kw, sh, sw, ph, pw int, dst []float32) {
	oh, ow := checkConv("Col2im", dst, c, h, w, kh, kw, sh, sw, ph, pw, col)
	n := oh * ow
	row := 0
	for ci := 0; ci < c; ci++ {
		img := dst[ci*h*w : (ci+1)*h*w]
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				s := col[row*n : (row+1)*n]
				row++
				lo, hi := TapRange(w, ow, sw, pw, kj)
				if lo == hi {
					continue
				}
				for oy := 0; oy < oh; oy++ {
					iy := oy*sh - ph + ki
					if iy < 0 || iy >= h {
						continue
					}
					srow := s[oy*ow+lo : oy*ow+hi]
					drow := img[iy*w : (iy+1)*w]
					x0 := lo*sw - pw + kj
					if sw == 1 {
						d := drow[x0 : x0+len(srow)]
						if len(srow) > 32 {
							cur.add(srow, d)
							continue
						}
						for i, v := range srow {
							d[i] += v
						}
						continue
					}
					for i, v := range srow {
						drow[x0+i*sw] += v
					}
				}
			}
		}
	}
}

// TapRange returns the output positions [lo, hi) along one axis at which kernel tap t
// (0 ≤ t < k) reads the input rather than its zero padding: those o with
// 0 ≤ o·stride + t − pad < in, where out is the axis's output size.
func TapRange(in, out, stride, pad, t int) (lo, hi int) {
	off := t - pad
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	hi = min(out, (in-1-off)/stride+1)
	if in-1-off < 0 {
		hi = 0
	}
	return lo, max(lo, hi)
}

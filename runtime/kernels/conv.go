package kernels

import "fmt"

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
func Im2col(src []float32, c, h, w, kh, kw, sh, sw, ph, pw int, dst []float32) {
	oh, ow := checkConv("Im2col", src, c, h, w, kh, kw, sh, sw, ph, pw, dst)
	im2col(src, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, dst)
}

// oxRange returns the range [lo, hi) of output positions ox (of ow) whose input position
// ox*sw - pw + kj lies inside [0, w). It serves rows (oh, h, sh, ph, ki) as well.
func oxRange(ow, w, sw, pw, kj int) (lo, hi int) {
	// ox*sw >= pw-kj  and  ox*sw < w+pw-kj
	lo = 0
	if d := pw - kj; d > 0 {
		lo = (d + sw - 1) / sw
	}
	hi = 0
	if d := w + pw - kj; d > 0 {
		hi = (d + sw - 1) / sw
	}
	hi = min(hi, ow)
	lo = min(lo, hi)
	return lo, hi
}

func im2col(src []float32, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow int, dst []float32) {
	n := oh * ow
	row := 0
	for ci := 0; ci < c; ci++ {
		img := src[ci*h*w : (ci+1)*h*w]
		for ki := 0; ki < kh; ki++ {
			// Output rows oy in [oy0, oy1) read input row oy*sh-ph+ki inside the image.
			oy0, oy1 := oxRange(oh, h, sh, ph, ki)
			for kj := 0; kj < kw; kj++ {
				d := dst[row*n : (row+1)*n]
				row++
				lo, hi := oxRange(ow, w, sw, pw, kj)
				if oy0 == oy1 || lo == hi {
					clear(d)
					continue
				}
				clear(d[:oy0*ow])
				clear(d[oy1*ow:])
				x0 := lo*sw - pw + kj
				if sw == 1 && ow == w {
					// Rows of d and of the image have the same length, so the valid parts
					// of all rows form one contiguous run in both: copy it at once, then
					// zero the few padding columns it wrapped into.
					s0 := (oy0*sh-ph+ki)*w + x0
					if sh == 1 {
						copy(d[oy0*ow+lo:(oy1-1)*ow+hi], img[s0:])
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
				}
				for oy := oy0; oy < oy1; oy++ {
					drow := d[oy*ow : (oy+1)*ow]
					srow := img[(oy*sh-ph+ki)*w : (oy*sh-ph+ki+1)*w]
					zeroShort(drow[:lo])
					zeroShort(drow[hi:])
					seg := drow[lo:hi]
					if sw == 1 {
						copyShort(seg, srow[x0:x0+len(seg)])
						continue
					}
					for i := range seg {
						seg[i] = srow[x0+i*sw]
					}
				}
			}
		}
	}
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
				lo, hi := oxRange(ow, w, sw, pw, kj)
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

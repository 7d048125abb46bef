package kernels

// Depthwise convolution: each of c channels convolved with its own kh×kw kernel (a
// convolution whose groups are its channels, PyTorch's Conv2d(c, c, k, groups=c)), for one
// image of c×h×w in C,H,W order giving c×oh×ow, with strides sh, sw and zero padding ph,
// pw. A 3×3 kernel, the common one, runs on a kernel of its own (dw3x3, dw3x3Grad) over
// one channel at a time laid out so that each tap reads contiguous runs (splitPlane,
// spreadPlane); for other kernels, a tap's valid output positions along a row are a
// contiguous range and, at stride 1, so is the input they read: one Axpy or Dot a row.

// DepthwiseGeom is the geometry of a depthwise convolution.
type DepthwiseGeom struct {
	C, H, W, KH, KW, SH, SW, PH, PW, OH, OW int
}

// DepthwiseConv writes dst = the depthwise convolution of src with w ([c][kh][kw]).
func DepthwiseConv(dst, src, w []float32, g DepthwiseGeom) {
	g.check("DepthwiseConv", dst, src, w)
	if g.KH == 3 && g.KW == 3 {
		sc := dwScratches.get()
		grid, lds := sc.split(g)
		ohw, hw := g.OH*g.OW, g.H*g.W
		for ch := range g.C {
			g.splitPlane(grid, src[ch*hw:ch*hw+hw])
			dw3x3(dst[ch*ohw:ch*ohw+ohw], grid, sc.rowOff[:], sc.colOff[:], w[ch*9:ch*9+9], g.OH, g.OW, g.OW, lds)
		}
		dwScratches.put(sc)
		return
	}
	clear(dst)
	g.taps(func(ch, ky, kx, oy, lo, hi, iy int) {
		wv := w[(ch*g.KH+ky)*g.KW+kx]
		out := dst[(ch*g.OH+oy)*g.OW:][lo:hi]
		in := src[(ch*g.H+iy)*g.W:]
		if g.SW == 1 {
			Axpy(wv, in[lo-g.PW+kx:hi-g.PW+kx], out)
			return
		}
		for j := range out {
			out[j] += wv * in[(lo+j)*g.SW-g.PW+kx]
		}
	})
}

// DepthwiseConvInputGrad writes din, the gradient with respect to the input, from dout.
// A 3×3 kernel's is the stride-1 convolution, with the kernel turned by 180°, of dout
// spread out by the strides and padded by 2 − the padding.
func DepthwiseConvInputGrad(din, dout, w []float32, g DepthwiseGeom) {
	g.check("DepthwiseConvInputGrad", dout, din, w)
	if g.KH == 3 && g.KW == 3 {
		sc := dwScratches.get()
		grid, pitch := sc.spread(g)
		ohw, hw := g.OH*g.OW, g.H*g.W
		for ch := range g.C {
			g.spreadPlane(grid, dout[ch*ohw:ch*ohw+ohw], pitch)
			for t := range sc.flipped {
				sc.flipped[t] = w[ch*9+8-t]
			}
			dw3x3(din[ch*hw:ch*hw+hw], grid, sc.rowOff[:], sc.colOff[:], sc.flipped[:], g.H, g.W, g.W, pitch)
		}
		dwScratches.put(sc)
		return
	}
	clear(din)
	g.taps(func(ch, ky, kx, oy, lo, hi, iy int) {
		wv := w[(ch*g.KH+ky)*g.KW+kx]
		d := dout[(ch*g.OH+oy)*g.OW:][lo:hi]
		in := din[(ch*g.H+iy)*g.W:]
		if g.SW == 1 {
			Axpy(wv, d, in[lo-g.PW+kx:hi-g.PW+kx])
			return
		}
		for j, v := range d {
			in[(lo+j)*g.SW-g.PW+kx] += wv * v
		}
	})
}

// DepthwiseConvWeightGrad adds the gradient with respect to the weights to dw.
func DepthwiseConvWeightGrad(dw, src, dout []float32, g DepthwiseGeom) {
	g.check("DepthwiseConvWeightGrad", dout, src, dw)
	if g.KH == 3 && g.KW == 3 {
		sc := dwScratches.get()
		grid, lds := sc.split(g)
		ohw, hw := g.OH*g.OW, g.H*g.W
		for ch := range g.C {
			g.splitPlane(grid, src[ch*hw:ch*hw+hw])
			dw3x3Grad(dw[ch*9:ch*9+9], dout[ch*ohw:ch*ohw+ohw], grid, sc.rowOff[:], sc.colOff[:], g.OH, g.OW, g.OW, lds)
		}
		dwScratches.put(sc)
		return
	}
	g.taps(func(ch, ky, kx, oy, lo, hi, iy int) {
		d := dout[(ch*g.OH+oy)*g.OW:][lo:hi]
		in := src[(ch*g.H+iy)*g.W:]
		var sum float32
		if g.SW == 1 {
			sum = Dot(d, in[lo-g.PW+kx:hi-g.PW+kx])
		} else {
			for j, v := range d {
				sum += v * in[(lo+j)*g.SW-g.PW+kx]
			}
		}
		dw[(ch*g.KH+ky)*g.KW+kx] += sum
	})
}

// dwScratch is the scratch space of a 3×3 depthwise kernel: one channel's input laid out
// as a grid whose rows the kernel's taps read as contiguous runs (see splitPlane and
// spreadPlane), where in a grid row the taps start (rowOff, colOff) and the kernel turned
// by 180° (flipped).
type dwScratch struct {
	grid           []float32
	rowOff, colOff [3]int
	flipped        [9]float32
}

var dwScratches = newFreeList(8, func() *dwScratch { return new(dwScratch) })

// grow returns the grid with room for n values.
func (sc *dwScratch) grow(n int) []float32 {
	if len(sc.grid) < n {
		sc.grid = make([]float32, n)
	}
	return sc.grid[:n]
}

// phases returns the width of each of the SW column phases of a padded input row
// (splitPlane) and the grid's row pitch.
func (g DepthwiseGeom) phases() (pe, pitch int) {
	pe = (g.W + 2*g.PW + g.SW - 1) / g.SW
	return pe, g.SW * pe
}

// split sizes the grid for splitPlane and sets the taps' offsets in it; it returns the
// grid and the distance between the grid rows of consecutive output rows.
func (sc *dwScratch) split(g DepthwiseGeom) ([]float32, int) {
	pe, pitch := g.phases()
	for k := range 3 {
		sc.rowOff[k] = k * pitch
		sc.colOff[k] = k%g.SW*pe + k/g.SW
	}
	grid := sc.grow((g.H + 2*g.PH) * pitch)
	clear(grid) // the padding, which splitPlane leaves alone
	return grid, g.SH * pitch
}

// splitPlane lays one channel's plane out in grid: the zero-padded plane, row by row,
// each row split into its SW column phases (columns p, p+SW, p+2·SW, … one after the
// other), so that an output row's inputs under one tap are a contiguous run. It writes
// only the input values: the padding is zero from split, which clears the grid once for
// every channel (clearing each row, and each row's padding, cost more than the copies
// themselves on the small planes of depthwise layers).
func (g DepthwiseGeom) splitPlane(grid, plane []float32) {
	pe, pitch := g.phases()
	if g.SW == 2 {
		// The even input columns go to phase PW%2 from column PW/2, the odd ones to the
		// other phase from column (PW+1)/2.
		top := g.PH * pitch
		deinterleave(grid[top+g.PW%2*pe+g.PW/2:], grid[top+(g.PW+1)%2*pe+(g.PW+1)/2:], plane, pitch, g.W, g.W/2, g.H)
		return
	}
	if g.SW == 1 && g.W >= 8 {
		top := g.PH*pitch + g.PW
		cur.copyRows(grid[top:top+(g.H-1)*pitch+g.W], pitch, plane, g.W, g.H, g.W)
		return
	}
	for iy := range g.H {
		row := grid[(iy+g.PH)*pitch : (iy+g.PH)*pitch+pitch]
		in := plane[iy*g.W : iy*g.W+g.W]
		if g.SW == 1 {
			copy(row[g.PW:], in)
			continue
		}
		for p := range g.SW {
			// The input columns of phase p: padded columns p, p+SW, … less the padding.
			ix := ((p-g.PW)%g.SW + g.SW) % g.SW
			phase := row[p*pe+(ix+g.PW)/g.SW : p*pe+pe]
			for q := 0; ix < g.W; q, ix = q+1, ix+g.SW {
				phase[q] = in[ix]
			}
		}
	}
}

// spread sizes the grid for spreadPlane and sets the taps' offsets in it; it returns the
// grid and its row pitch.
func (sc *dwScratch) spread(g DepthwiseGeom) ([]float32, int) {
	pitch := g.W + 2
	for k := range 3 {
		sc.rowOff[k], sc.colOff[k] = k*pitch, k
	}
	grid := sc.grow((g.H + 2) * pitch)
	clear(grid) // what spreadPlane leaves alone
	return grid, pitch
}

// spreadPlane lays one channel's output gradient out in grid, (H+2)×(W+2) with rows pitch
// apart: dout[oy][ox] at row 2−PH+SH·oy, column 2−PW+SW·ox, zero elsewhere (from
// spread: it writes only those positions).
func (g DepthwiseGeom) spreadPlane(grid, dout []float32, pitch int) {
	for oy := range g.OH {
		row := grid[(2-g.PH+g.SH*oy)*pitch+2-g.PW:]
		for ox, v := range dout[oy*g.OW : oy*g.OW+g.OW] {
			row[g.SW*ox] = v
		}
	}
}

// dw3x3 is the path's dw3x3 where it takes the columns, else dw3x3Go.
func dw3x3(dst, src []float32, rowOff, colOff []int, w []float32, rows, cols, ldd, lds int) {
	if cols%8 != 0 || rows == 0 {
		dw3x3Go(dst, src, rowOff, colOff, w, rows, cols, ldd, lds)
		return
	}
	cur.dw3x3(dst, src, rowOff, colOff, w, rows, cols, ldd, lds)
}

// deinterleave writes, for rows rows of w values of src, the n values at even indexes
// of row r into even[r*pitch:] and the n at odd indexes into odd[r*pitch:] (w is 2n or
// 2n+1, the last value then going to even), the path's kernel doing the first multiple
// of 8 pairs of each row.
func deinterleave(even, odd, src []float32, pitch, w, n, rows int) {
	if rows == 0 {
		return
	}
	if w != 2*n && w != 2*n+1 || len(src) < (rows-1)*w+w || len(odd) < (rows-1)*pitch+n || len(even) < (rows-1)*pitch+w-n {
		panic("kernels: deinterleave: lengths do not match")
	}
	if n8 := n &^ 7; n8 > 0 {
		cur.deinterleave(even, odd, src, pitch, w, n8, rows)
		if n8 == n && w == 2*n {
			return
		}
		for r := range rows {
			deinterleaveGo(even[r*pitch+n8:], odd[r*pitch+n8:], src[r*w+2*n8:r*w+w], 0, w-2*n8, n-n8, 1)
		}
		return
	}
	deinterleaveGo(even, odd, src, pitch, w, n, rows)
}

// deinterleaveGo computes
//
//	for r := 0; r < rows; r++ {
//		for q := 0; q < n; q++ {
//			even[r*pitch+q] = src[r*w+2*q]
//			odd[r*pitch+q] = src[r*w+2*q+1]
//		}
//		if w > 2*n {
//			even[r*pitch+n] = src[r*w+2*n]
//		}
//	}
func deinterleaveGo(even, odd, src []float32, pitch, w, n, rows int) {
	for r := 0; r < rows; r++ {
		for q := 0; q < n; q++ {
			even[r*pitch+q] = src[r*w+2*q]
			odd[r*pitch+q] = src[r*w+2*q+1]
		}
		if w > 2*n {
			even[r*pitch+n] = src[r*w+2*n]
		}
	}
}

// dw3x3Grad is the path's dw3x3Grad where it takes the columns, else dw3x3GradGo.
func dw3x3Grad(dw, dout, src []float32, rowOff, colOff []int, rows, cols, ldd, lds int) {
	if cols%8 != 0 || rows == 0 {
		dw3x3GradGo(dw, dout, src, rowOff, colOff, rows, cols, ldd, lds)
		return
	}
	cur.dw3x3Grad(dw, dout, src, rowOff, colOff, rows, cols, ldd, lds)
}

// dw3x3Go computes, for r < rows and j < cols,
//
//	dst[r*ldd+j] = Σ_{ky,kx<3} w[3·ky+kx] · src[r*lds + rowOff[ky] + colOff[kx] + j].
func dw3x3Go(dst, src []float32, rowOff, colOff []int, w []float32, rows, cols, ldd, lds int) {
	for r := range rows {
		out := dst[r*ldd : r*ldd+cols]
		clear(out)
		for ky := range 3 {
			for kx := range 3 {
				wv := w[3*ky+kx]
				in := src[r*lds+rowOff[ky]+colOff[kx]:][:cols]
				for j, v := range in {
					out[j] += wv * v
				}
			}
		}
	}
}

// dw3x3GradGo adds to w[3·ky+kx], for ky, kx < 3,
//
//	Σ_{r<rows, j<cols} dout[r*ldd+j] · src[r*lds + rowOff[ky] + colOff[kx] + j].
func dw3x3GradGo(dw, dout, src []float32, rowOff, colOff []int, rows, cols, ldd, lds int) {
	for ky := range 3 {
		for kx := range 3 {
			var sum float32
			for r := range rows {
				d := dout[r*ldd : r*ldd+cols]
				for j, v := range src[r*lds+rowOff[ky]+colOff[kx]:][:cols] {
					sum += d[j] * v
				}
			}
			dw[3*ky+kx] += sum
		}
	}
}

// taps calls f for every channel, kernel tap and output row the tap reads input for, with
// the output columns [lo, hi) whose input it reads and the input row iy.
func (g DepthwiseGeom) taps(f func(ch, ky, kx, oy, lo, hi, iy int)) {
	for ch := range g.C {
		for ky := range g.KH {
			for kx := range g.KW {
				lo, hi := TapRange(g.W, g.OW, g.SW, g.PW, kx)
				if lo >= hi {
					continue
				}
				for oy := range g.OH {
					if iy := oy*g.SH - g.PH + ky; iy >= 0 && iy < g.H {
						f(ch, ky, kx, oy, lo, hi, iy)
					}
				}
			}
		}
	}
}

func (g DepthwiseGeom) check(fn string, out, in, w []float32) {
	if len(out) != g.C*g.OH*g.OW || len(in) != g.C*g.H*g.W || len(w) != g.C*g.KH*g.KW {
		panic("kernels: " + fn + ": slice lengths do not match the geometry")
	}
}

package kernels

// Depthwise convolution: each of c channels convolved with its own kh×kw kernel (a
// convolution whose groups are its channels, PyTorch's Conv2d(c, c, k, groups=c)), for one
// image of c×h×w in C,H,W order giving c×oh×ow, with strides sh, sw and zero padding ph,
// pw. A kernel tap's valid output positions along a row are a contiguous range; at stride 1
// the input they read is contiguous too, and the row's work is one vector kernel call (Axpy
// or Dot).

// DepthwiseGeom is the geometry of a depthwise convolution.
type DepthwiseGeom struct {
	C, H, W, KH, KW, SH, SW, PH, PW, OH, OW int
}

// DepthwiseConv writes dst = the depthwise convolution of src with w ([c][kh][kw]).
func DepthwiseConv(dst, src, w []float32, g DepthwiseGeom) {
	g.check("DepthwiseConv", dst, src, w)
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
func DepthwiseConvInputGrad(din, dout, w []float32, g DepthwiseGeom) {
	g.check("DepthwiseConvInputGrad", dout, din, w)
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

package kernels

import "fmt"

func checkPool(op string, c, h, w, kh, kw, sh, sw int) (oh, ow int) {
	if c < 0 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || h < kh || w < kw {
		panic(fmt.Sprintf("kernels: %s: bad geometry c=%d h=%d w=%d window %d×%d stride %d×%d",
			op, c, h, w, kh, kw, sh, sw))
	}
	return (h-kh)/sh + 1, (w-kw)/sw + 1
}

func checkSize(op, name string, x []float32, n int) {
	if len(x) < n {
		panic(fmt.Sprintf("kernels: %s: len(%s)=%d < %d", op, name, len(x), n))
	}
}

// MaxPool computes the max pooling of one image src ([c, h, w]) with a kh×kw window and
// strides sh, sw, without padding, into dst ([c, oh, ow], oh = (h-kh)/sh+1, ow likewise).
// If argmax is not nil, argmax[i] receives the index within src (c*h*w layout) of the
// element chosen for dst[i]; ties go to the first in row-major window order.
func MaxPool(src []float32, c, h, w, kh, kw, sh, sw int, dst []float32, argmax []int32) {
	oh, ow := checkPool("MaxPool", c, h, w, kh, kw, sh, sw)
	checkSize("MaxPool", "src", src, c*h*w)
	checkSize("MaxPool", "dst", dst, c*oh*ow)
	if argmax != nil && len(argmax) < c*oh*ow {
		panic(fmt.Sprintf("kernels: MaxPool: len(argmax)=%d < %d", len(argmax), c*oh*ow))
	}
	if c*h*w > 1<<31-1 {
		panic("kernels: MaxPool: image too large for int32 argmax")
	}
	o := 0
	for ci := 0; ci < c; ci++ {
		base := ci * h * w
		img := src[base : base+h*w]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				y0, x0 := oy*sh, ox*sw
				best := y0*w + x0
				m := img[best]
				for ki := 0; ki < kh; ki++ {
					row := img[(y0+ki)*w+x0 : (y0+ki)*w+x0+kw]
					for kj, v := range row {
						if v > m {
							m, best = v, (y0+ki)*w+x0+kj
						}
					}
				}
				dst[o] = m
				if argmax != nil {
					argmax[o] = int32(base + best)
				}
				o++
			}
		}
	}
}

// MaxPoolS2 is MaxPool with a k×k window, k = 2 or 3, and stride 2 (argmax required):
// the common cases, with SIMD kernels.
func MaxPoolS2(src []float32, c, h, w, k int, dst []float32, argmax []int32) {
	if k != 2 && k != 3 {
		panic(fmt.Sprintf("kernels: MaxPoolS2: window %d, want 2 or 3", k))
	}
	oh, ow := checkPool("MaxPoolS2", c, h, w, k, k, 2, 2)
	checkSize("MaxPoolS2", "src", src, c*h*w)
	checkSize("MaxPoolS2", "dst", dst, c*oh*ow)
	if len(argmax) < c*oh*ow || c*h*w > 1<<31-1 {
		panic(fmt.Sprintf("kernels: MaxPoolS2: len(argmax)=%d for %d outputs of an image of %d", len(argmax), c*oh*ow, c*h*w))
	}
	if k == 2 && h%2 == 0 {
		// The window rows of one channel follow those of the one before 2w further on,
		// as they follow each other: pool the image as one channel of c·h rows.
		h, c, oh = c*h, 1, c*oh
	}
	kernel := cur.maxPoolS2[k]
	// fits reports whether the kernel may pool the 8 windows from j of the window row at:
	// it reads 16 values from each even column of a window, up to 2 past the last window
	// when k is 3, which may be past the image on its last rows.
	fits := func(at, j int) bool { return at+(k-1)*w+2*(j+8)+(k-1)/2*2 <= c*h*w }
	blocks, nb := s2Blocks(ow)
	for ci := 0; ci < c; ci++ {
		at, o := ci*h*w, ci*oh*ow
		for _, b := range blocks[:nb] {
			// The kernel stores cnt windows a row; in rows of fewer (see s2Blocks) the
			// extra ones land on the next row's outputs, computed after them. Window rows
			// that would read or store past the image are pooled in Go.
			j, cnt := b[0], b[1]
			rows := oh
			for rows > 0 && !(fits(at+2*(rows-1)*w, j+cnt-8) && o+(rows-1)*ow+j+cnt <= c*oh*ow) {
				rows--
			}
			if rows > 0 {
				kernel(dst[o+j:], argmax[o+j:], src[at+2*j:], w, cnt, rows, ow, at+2*j)
			}
			if rows < oh { // the last rows, in Go
				r := at + 2*rows*w + 2*j
				maxPoolS2Go(k, dst[o+rows*ow+j:], argmax[o+rows*ow+j:], src[r:], w, min(cnt, ow-j), oh-rows, ow, r)
			}
		}
	}
}

// s2Blocks returns the column blocks (first window, count) of the stride-2 kernels over
// rows of ow windows, and how many there are: the windows from 0 up to a multiple of 8,
// then the last 8 if more are left, overlapping windows done before, which the kernels
// compute again with the same results. Rows of fewer than 8 windows get one block of 8,
// sticking out of the row.
func s2Blocks(ow int) (blocks [2][2]int, n int) {
	if ow < 8 {
		blocks[0] = [2]int{0, 8}
		return blocks, 1
	}
	blocks[0] = [2]int{0, ow &^ 7}
	if ow%8 == 0 {
		return blocks, 1
	}
	blocks[1] = [2]int{ow - 8, 8}
	return blocks, 2
}

// MaxUnpool2 is the backward pass of MaxPoolS2 with k = 2: it sets din (the c×h×w image)
// to dout[i] at each argmax[i] and to zero everywhere else. It writes every element of din
// once, so din needs no clearing first (MaxPoolBackward adds into a cleared din instead).
func MaxUnpool2(dout []float32, argmax []int32, c, h, w int, din []float32) {
	maxUnpool(false, dout, nil, argmax, c, h, w, din)
}

// MaxUnpool2Relu is MaxUnpool2 with the backward pass of a ReLU before the pooling folded
// in: out is the pooling's output, and where it is <= 0 (the ReLU's output was zero across
// the window) the gradient is zero. The ReLU's output gradient needs no other pass.
func MaxUnpool2Relu(dout, out []float32, argmax []int32, c, h, w int, din []float32) {
	maxUnpool(true, dout, out, argmax, c, h, w, din)
}

func maxUnpool(relu bool, dout, out []float32, argmax []int32, c, h, w int, din []float32) {
	oh, ow := checkPool("MaxUnpool2", c, h, w, 2, 2, 2, 2)
	checkSize("MaxUnpool2", "dout", dout, c*oh*ow)
	checkSize("MaxUnpool2", "din", din, c*h*w)
	if relu {
		checkSize("MaxUnpool2", "out", out, c*oh*ow)
	}
	if len(argmax) < c*oh*ow {
		panic(fmt.Sprintf("kernels: MaxUnpool2: len(argmax)=%d < %d", len(argmax), c*oh*ow))
	}
	if ow < 8 { // rows too short for the kernel: clear, then route each gradient
		clear(din[:c*h*w])
		for i, g := range dout[:c*oh*ow] {
			if relu && out[i] <= 0 {
				g = 0
			}
			din[argmax[i]] = g
		}
		return
	}
	if h%2 == 0 { // as in MaxPoolS2: one channel of c·h rows
		h, c, oh = c*h, 1, c*oh
	}
	kernel := cur.maxUnpool2[0]
	if relu {
		kernel = cur.maxUnpool2[1]
	} else {
		out = dout // not read
	}
	blocks, nb := s2Blocks(ow)
	for ci := 0; ci < c; ci++ {
		at, o := ci*h*w, ci*oh*ow
		plane := din[at : at+h*w]
		for _, b := range blocks[:nb] {
			j := b[0]
			kernel(din[at+2*j:], dout[o+j:], out[o+j:], argmax[o+j:], w, b[1], oh, ow, at+2*j)
		}
		// What no window covers: a last column and a last row.
		if w > 2*ow {
			for y := 0; y < 2*oh; y++ {
				plane[y*w+w-1] = 0
			}
		}
		clear(plane[2*oh*w:])
	}
}

// MaxPoolBackward routes each gradient dout[i] to the input chosen by the forward pass:
// din[argmax[i]] += dout[i]. din ([c, h, w] of one image) is not cleared first.
func MaxPoolBackward(dout []float32, argmax []int32, din []float32) {
	if len(argmax) < len(dout) {
		panic(fmt.Sprintf("kernels: MaxPoolBackward: len(argmax)=%d < len(dout)=%d", len(argmax), len(dout)))
	}
	argmax = argmax[:len(dout)]
	for i, g := range dout {
		din[argmax[i]] += g
	}
}

// AvgPool computes the average pooling of one image src ([c, h, w]) with a kh×kw window
// and strides sh, sw, without padding, into dst ([c, oh, ow]).
func AvgPool(src []float32, c, h, w, kh, kw, sh, sw int, dst []float32) {
	oh, ow := checkPool("AvgPool", c, h, w, kh, kw, sh, sw)
	checkSize("AvgPool", "src", src, c*h*w)
	checkSize("AvgPool", "dst", dst, c*oh*ow)
	inv := 1 / float32(kh*kw)
	o := 0
	for ci := 0; ci < c; ci++ {
		img := src[ci*h*w : (ci+1)*h*w]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				y0, x0 := oy*sh, ox*sw
				var s float32
				for ki := 0; ki < kh; ki++ {
					for _, v := range img[(y0+ki)*w+x0 : (y0+ki)*w+x0+kw] {
						s += v
					}
				}
				dst[o] = s * inv
				o++
			}
		}
	}
}

// AvgPoolBackward adds to din ([c, h, w]) the gradient of AvgPool given dout
// ([c, oh, ow]): each dout element is spread evenly over its window. din is not cleared.
func AvgPoolBackward(dout []float32, c, h, w, kh, kw, sh, sw int, din []float32) {
	oh, ow := checkPool("AvgPoolBackward", c, h, w, kh, kw, sh, sw)
	checkSize("AvgPoolBackward", "dout", dout, c*oh*ow)
	checkSize("AvgPoolBackward", "din", din, c*h*w)
	inv := 1 / float32(kh*kw)
	o := 0
	for ci := 0; ci < c; ci++ {
		img := din[ci*h*w : (ci+1)*h*w]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				g := dout[o] * inv
				o++
				y0, x0 := oy*sh, ox*sw
				for ki := 0; ki < kh; ki++ {
					row := img[(y0+ki)*w+x0 : (y0+ki)*w+x0+kw]
					for j := range row {
						row[j] += g
					}
				}
			}
		}
	}
}

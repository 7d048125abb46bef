package kernels

import "math"

// The pure-Go path. It is always compiled (NETC_KERNELS=go selects it on amd64 too) and is
// the only path under the purego build tag or on other architectures. Each function's doc
// comment is the reference loop that the assembly kernels of the same name implement.

var goImpl = impl{
	path: pathGo,
	// 2×4 register tiles (see sgemmKernelGo); scalar code has no wide registers to fill, so the blocks only
	// need to fit the caches: the 2×256 A and 256×4 B micro-panels in L1, the
	// 128×256 A block in L2, a 256×3072 B block in L3.
	gemm: gemmShape{mr: 2, nr: 4, mc: 128, kc: 256, nc: 3072, kernel: sgemmKernelGo},
	// Two direct-convolution tiles, so that tests exercise panel and width edges.
	tiles:        []convTile{{r: 4, cols: 16, eff: 1, fn: convTileGo(4, 16)}, {r: 8, cols: 8, eff: 0.95, fn: convTileGo(8, 8)}},
	gradTiles:    []gradTile{{r: 4, v: 2, eff: 1, fn: gradTileGo(4, 2)}, {r: 8, v: 1, eff: 0.95, fn: gradTileGo(8, 1)}},
	transpose8:   transpose8Go,
	copyRows:     copyRowsGo,
	maxPoolS2:    [4]poolS2Fn{2: maxPool2s2Go, 3: maxPool3s2Go},
	maxUnpool2:   [2]unpool2Fn{maxUnpool2NoReluGo, maxUnpool2ReluGo},
	dw3x3:        dw3x3Go,
	dw3x3Grad:    dw3x3GradGo,
	deinterleave: deinterleaveGo,

	axpy:           axpyGo,
	scale:          scaleGo,
	add:            addGo,
	dot:            dotGo,
	addScalar:      addScalarGo,
	addScalarRelu:  addScalarReluGo,
	relu:           reluGo,
	reluBackward:   reluBackwardGo,
	addSquares:     addSquaresGo,
	addProduct:     addProductGo,
	divPow34:       divPow34Go,
	momentum:       momentumGo,
	sumDev:         sumDevGo,
	dotDev:         dotDevGo,
	scaleShift:     scaleShiftGo,
	scaleShiftRelu: scaleShiftReluGo,
	bnGrad:         bnGradGo,
	max:            maxGo,
	exp:            expGo,
}

// axpyGo computes
//
//	for i, v := range x {
//		y[i] += alpha * v
//	}
func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs, ys := x[i:i+4:i+4], y[i:i+4:i+4]
		ys[0] += alpha * xs[0]
		ys[1] += alpha * xs[1]
		ys[2] += alpha * xs[2]
		ys[3] += alpha * xs[3]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// scaleGo computes
//
//	for i := range x {
//		x[i] *= alpha
//	}
func scaleGo(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// addGo computes
//
//	for i, v := range x {
//		y[i] += v
//	}
func addGo(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += v
	}
}

// dotGo returns
//
//	var s float32
//	for i, v := range x {
//		s += v * y[i]
//	}
//	return s
//
// (in any order of summation: four partial sums here, more in the SIMD kernels).
func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs, ys := x[i:i+4:i+4], y[i:i+4:i+4]
		s0 += xs[0] * ys[0]
		s1 += xs[1] * ys[1]
		s2 += xs[2] * ys[2]
		s3 += xs[3] * ys[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// addScalarGo computes
//
//	for i := range x {
//		x[i] += b
//	}
func addScalarGo(b float32, x []float32) {
	for i := range x {
		x[i] += b
	}
}

// addScalarReluGo computes
//
//	for i := range x {
//		x[i] += b
//		if x[i] < 0 {
//			x[i] = 0
//		}
//	}
func addScalarReluGo(b float32, x []float32) {
	for i := range x {
		v := x[i] + b
		if v < 0 {
			v = 0
		}
		x[i] = v
	}
}

// reluGo computes
//
//	for i, v := range x {
//		if v < 0 {
//			x[i] = 0
//		}
//	}
func reluGo(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// reluBackwardGo computes
//
//	for i, v := range y {
//		if v <= 0 {
//			dy[i] = 0
//		}
//	}
func reluBackwardGo(y, dy []float32) {
	dy = dy[:len(y)]
	for i, v := range y {
		if v <= 0 {
			dy[i] = 0
		}
	}
}

// maxGo returns (len(x) >= 1)
//
//	m := x[0]
//	for _, v := range x[1:] {
//		if v > m {
//			m = v
//		}
//	}
//	return m
func maxGo(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

// expGo computes
//
//	for i, v := range x {
//		x[i] = float32(math.Exp(float64(v)))
//	}
func expGo(x []float32) {
	for i, v := range x {
		x[i] = float32(math.Exp(float64(v)))
	}
}

// maxPoolS2Go pools rows rows of n windows of k×k (k = 2 or 3) with stride 2: in window
// row r the upper left elements are src[2r·w + 2j] and the window's rows w apart;
// dst[r·ldd + j] is each window's maximum and arg[r·ldd + j] its index, counted from at
// for src[0]. A value replaces the best so far only if it is larger, in row-major order.
func maxPoolS2Go(k int, dst []float32, arg []int32, src []float32, w, n, rows, ldd, at int) {
	row := maxPool2Row
	if k == 3 {
		row = maxPool3Row
	}
	for r := 0; r < rows; r++ {
		row(dst[r*ldd:], arg[r*ldd:], src[2*r*w:], w, n, at+2*r*w)
	}
}

func maxPool2s2Go(dst []float32, arg []int32, src []float32, w, n, rows, ldd, at int) {
	maxPoolS2Go(2, dst, arg, src, w, n, rows, ldd, at)
}

func maxPool3s2Go(dst []float32, arg []int32, src []float32, w, n, rows, ldd, at int) {
	maxPoolS2Go(3, dst, arg, src, w, n, rows, ldd, at)
}

// maxUnpool2Go is the backward pass of maxPoolS2Go with k = 2 (dout and arg laid out as
// its dst and arg): each element of a window gets the window's gradient if it is the one
// at the window's argmax, else zero. With relu, the pooling's input is a ReLU's output
// and its backward pass is folded in: windows whose maximum (out, laid out as dout) is
// <= 0 pass no gradient.
func maxUnpool2Go(relu bool, din, dout, out []float32, arg []int32, w, n, rows, ldd, at int) {
	for r := 0; r < rows; r++ {
		clear(din[2*r*w : 2*r*w+2*n])
		clear(din[(2*r+1)*w : (2*r+1)*w+2*n])
		for j, d := range dout[r*ldd : r*ldd+n] {
			if relu && out[r*ldd+j] <= 0 {
				d = 0
			}
			din[int(arg[r*ldd+j])-at] = d // din[0] is element at of the image
		}
	}
}

func maxUnpool2NoReluGo(din, dout, out []float32, arg []int32, w, n, rows, ldd, at int) {
	maxUnpool2Go(false, din, dout, out, arg, w, n, rows, ldd, at)
}

func maxUnpool2ReluGo(din, dout, out []float32, arg []int32, w, n, rows, ldd, at int) {
	maxUnpool2Go(true, din, dout, out, arg, w, n, rows, ldd, at)
}

// maxPool2Row and maxPool3Row pool one row of windows (see maxPoolS2Go).
func maxPool2Row(dst []float32, arg []int32, src []float32, w, n, at int) {
	dst, arg = dst[:n], arg[:n]
	r0, r1 := src[:2*n], src[w:w+2*n]
	for j := range dst {
		a, b := r0[2*j:2*j+2], r1[2*j:2*j+2]
		best, off := a[0], 0
		if a[1] > best {
			best, off = a[1], 1
		}
		if b[0] > best {
			best, off = b[0], w
		}
		if b[1] > best {
			best, off = b[1], w+1
		}
		dst[j], arg[j] = best, int32(at+2*j+off)
	}
}

func maxPool3Row(dst []float32, arg []int32, src []float32, w, n, at int) {
	dst, arg = dst[:n], arg[:n]
	r0, r1, r2 := src[:2*n+1], src[w:w+2*n+1], src[2*w:2*w+2*n+1]
	for j := range dst {
		best, off := r0[2*j], 0
		for y, row := range [3][]float32{r0[2*j : 2*j+3], r1[2*j : 2*j+3], r2[2*j : 2*j+3]} {
			for x, v := range row {
				if v > best {
					best, off = v, y*w+x
				}
			}
		}
		dst[j], arg[j] = best, int32(at+2*j+off)
	}
}

// addSquaresGo computes
//
//	for i, v := range x {
//		y[i] += alpha * v * v
//	}
func addSquaresGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v * v
	}
}

// addProductGo computes
//
//	for i, v := range x {
//		y[i] += alpha * v * z[i]
//	}
func addProductGo(alpha float32, x, z, y []float32) {
	z, y = z[:len(x)], y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v * z[i]
	}
}

// copyRowsGo copies rows rows of cols values, ldd apart in dst and lds apart in src:
//
//	for r := 0; r < rows; r++ {
//		copy(dst[r*ldd:r*ldd+cols], src[r*lds:r*lds+cols])
//	}
func copyRowsGo(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	for r := 0; r < rows; r++ {
		copy(dst[r*ldd:r*ldd+cols], src[r*lds:r*lds+cols])
	}
}

// momentumGo computes
//
//	for i, wi := range w {
//		v[i] = mu*v[i] + g[i] + wd*wi
//		w[i] = wi - eta*v[i]
//	}
func momentumGo(eta, mu, wd float32, w, g, v []float32) {
	g, v = g[:len(w)], v[:len(w)]
	for i, wi := range w {
		vi := mu*v[i] + g[i] + wd*wi
		v[i] = vi
		w[i] = wi - eta*vi
	}
}

// divPow34Go computes
//
//	for i, v := range x {
//		y[i] = v / √(sc[i]·√sc[i])
//	}
//
// in float32 (each square root correctly rounded, as the SIMD instructions do).
func divPow34Go(x, sc, y []float32) {
	sc, y = sc[:len(x)], y[:len(x)]
	for i, v := range x {
		s := sc[i]
		y[i] = v / sqrt32(s*sqrt32(s))
	}
}

// sqrt32 is the correctly rounded float32 square root (the compiler emits SQRTSS).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// sumDevGo returns the sum of the deviations of x from c and the sum of their squares:
//
//	for _, v := range x {
//		sum += v - c
//		sq += (v - c) * (v - c)
//	}
func sumDevGo(c float32, x []float32) (sum, sq float32) {
	for _, v := range x {
		d := v - c
		sum += d
		sq += d * d
	}
	return sum, sq
}

// dotDevGo returns the sum of dy and its dot product with the deviations of x from c:
//
//	for i, g := range dy[:len(x)] {
//		sum += g
//		dot += g * (x[i] - c)
//	}
func dotDevGo(c float32, x, dy []float32) (sum, dot float32) {
	for i, g := range dy[:len(x)] {
		sum += g
		dot += g * (x[i] - c)
	}
	return sum, dot
}

// scaleShiftGo computes
//
//	for i, v := range x {
//		y[i] = a*(v-m) + b
//	}
func scaleShiftGo(a, m, b float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = a*(v-m) + b
	}
}

// scaleShiftReluGo computes
//
//	for i, v := range x {
//		y[i] = max(0, a*(v-m)+b)
//	}
func scaleShiftReluGo(a, m, b float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(0, a*(v-m)+b)
	}
}

// bnGradGo computes
//
//	for i, g := range dy {
//		dx[i] = a * ((g + c) + b*((x[i]-mean)-lo))
//	}
func bnGradGo(a, b, c, mean, lo float32, dy, x, dx []float32) {
	x, dx = x[:len(dy)], dx[:len(dy)]
	for i, g := range dy {
		dx[i] = a * ((g + c) + b*((x[i]-mean)-lo))
	}
}

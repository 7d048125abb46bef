package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

type geom struct{ c, h, w, kh, kw, sh, sw, ph, pw int }

var convGeoms = []geom{
	{1, 1, 1, 1, 1, 1, 1, 0, 0},
	{1, 5, 5, 3, 3, 1, 1, 0, 0},
	{2, 5, 7, 3, 3, 1, 1, 1, 1},
	{3, 8, 8, 5, 5, 1, 1, 2, 2},
	{3, 32, 32, 5, 5, 1, 1, 2, 2},
	{3, 11, 13, 3, 2, 2, 3, 1, 0},
	{2, 7, 7, 7, 7, 1, 1, 3, 3},
	{1, 4, 4, 3, 3, 2, 2, 2, 2},
	{3, 27, 27, 11, 11, 4, 4, 0, 0},
	{2, 6, 9, 1, 4, 1, 2, 0, 3},
	{1, 3, 3, 5, 5, 1, 1, 1, 1},
	{2, 10, 11, 3, 5, 2, 3, 1, 2},
	{1, 9, 10, 4, 4, 3, 4, 2, 3},
}

func naiveIm2col(src []float32, g geom, dst []float32) {
	oh, ow := convOut(g.h, g.kh, g.sh, g.ph), convOut(g.w, g.kw, g.sw, g.pw)
	for ci := 0; ci < g.c; ci++ {
		for ki := 0; ki < g.kh; ki++ {
			for kj := 0; kj < g.kw; kj++ {
				row := (ci*g.kh+ki)*g.kw + kj
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						iy, ix := oy*g.sh-g.ph+ki, ox*g.sw-g.pw+kj
						v := float32(0)
						if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w {
							v = src[(ci*g.h+iy)*g.w+ix]
						}
						dst[row*oh*ow+oy*ow+ox] = v
					}
				}
			}
		}
	}
}

func naiveCol2im(col []float32, g geom, dst []float32) {
	oh, ow := convOut(g.h, g.kh, g.sh, g.ph), convOut(g.w, g.kw, g.sw, g.pw)
	for ci := 0; ci < g.c; ci++ {
		for ki := 0; ki < g.kh; ki++ {
			for kj := 0; kj < g.kw; kj++ {
				row := (ci*g.kh+ki)*g.kw + kj
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						iy, ix := oy*g.sh-g.ph+ki, ox*g.sw-g.pw+kj
						if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w {
							dst[(ci*g.h+iy)*g.w+ix] += col[row*oh*ow+oy*ow+ox]
						}
					}
				}
			}
		}
	}
}

func TestIm2colCol2im(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 9))
		for _, g := range convGeoms {
			name := fmt.Sprintf("%+v", g)
			oh, ow := convOut(g.h, g.kh, g.sh, g.ph), convOut(g.w, g.kw, g.sw, g.pw)
			ncol := g.c * g.kh * g.kw * oh * ow
			src := randSlice(r, g.c*g.h*g.w)
			col, check := guarded(r, ncol)
			want := make([]float32, ncol)
			naiveIm2col(src, g, want)
			Im2col(src, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, col)
			check(t)
			for i := range want {
				if col[i] != want[i] {
					t.Fatalf("Im2col %s: [%d] = %v, want %v", name, i, col[i], want[i])
				}
			}
			// Col2im adds into a non-zero image.
			img, check2 := guarded(r, g.c*g.h*g.w)
			wantImg := append([]float32(nil), img...)
			naiveCol2im(col, g, wantImg)
			Col2im(col, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, img)
			check2(t)
			for i := range wantImg {
				if !close32(img[i], wantImg[i], 1e-6) {
					t.Fatalf("Col2im %s: [%d] = %v, want %v", name, i, img[i], wantImg[i])
				}
			}
		}
	})
}

// TestIm2colParallel runs Im2col on images large enough for it to split the work over
// the pool, strided and padded, against the definition, and checks that it does not
// allocate.
func TestIm2colParallel(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, g := range []geom{{8, 64, 64, 3, 3, 1, 1, 1, 1}, {3, 131, 131, 11, 11, 4, 4, 1, 1}} {
		oh, ow := convOut(g.h, g.kh, g.sh, g.ph), convOut(g.w, g.kw, g.sw, g.pw)
		ncol := g.c * g.kh * g.kw * oh * ow
		if ncol < im2colParallelMin {
			t.Fatalf("%+v: %d values, too few to split", g, ncol)
		}
		src := randSlice(r, g.c*g.h*g.w)
		col, check := guarded(r, ncol)
		want := make([]float32, ncol)
		naiveIm2col(src, g, want)
		run := func() { Im2col(src, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, col) }
		run()
		check(t)
		for i := range want {
			if col[i] != want[i] {
				t.Fatalf("%+v: [%d] = %v, want %v", g, i, col[i], want[i])
			}
		}
		if n := testing.AllocsPerRun(20, run); n != 0 {
			t.Errorf("%+v: %v allocations per call", g, n)
		}
	}
}

func TestBiasAct(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 3))
		for _, rows := range []int{1, 3, 16} {
			for _, cols := range []int{1, 7, 8, 33, 1024} {
				for _, relu := range []bool{false, true} {
					bias := randSlice(r, rows)
					x, check := guarded(r, rows*cols)
					want := append([]float32(nil), x...)
					for i := 0; i < rows; i++ {
						for j := 0; j < cols; j++ {
							v := want[i*cols+j] + bias[i]
							if relu && v < 0 {
								v = 0
							}
							want[i*cols+j] = v
						}
					}
					BiasAct(x, bias, rows, cols, relu)
					check(t)
					for i := range x {
						if x[i] != want[i] {
							t.Fatalf("BiasAct %d×%d relu=%v: [%d] = %v, want %v", rows, cols, relu, i, x[i], want[i])
						}
					}
				}
			}
		}
	})
}

var poolGeoms = []geom{
	{1, 1, 1, 1, 1, 1, 1, 0, 0},
	{1, 4, 4, 2, 2, 2, 2, 0, 0},
	{3, 5, 5, 2, 2, 2, 2, 0, 0},
	{2, 7, 9, 3, 3, 2, 2, 0, 0},
	{3, 13, 13, 3, 3, 2, 2, 0, 0},
	{2, 6, 5, 3, 2, 1, 3, 0, 0},
	{1, 8, 8, 8, 8, 1, 1, 0, 0},
	{4, 9, 9, 1, 1, 2, 2, 0, 0},
}

func TestPooling(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, g := range poolGeoms {
		name := fmt.Sprintf("%+v", g)
		oh, ow := (g.h-g.kh)/g.sh+1, (g.w-g.kw)/g.sw+1
		no := g.c * oh * ow
		src := randSlice(r, g.c*g.h*g.w)
		// Make ties: quantize so that windows often hold equal maxima.
		for i := range src {
			src[i] = float32(math.Round(float64(src[i]) * 2))
		}
		wantMax := make([]float32, no)
		wantArg := make([]int32, no)
		wantAvg := make([]float32, no)
		o := 0
		for ci := 0; ci < g.c; ci++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					best := -1
					var s float32
					for ki := 0; ki < g.kh; ki++ {
						for kj := 0; kj < g.kw; kj++ {
							i := (ci*g.h+oy*g.sh+ki)*g.w + ox*g.sw + kj
							if best < 0 || src[i] > src[best] {
								best = i
							}
							s += src[i]
						}
					}
					wantMax[o], wantArg[o] = src[best], int32(best)
					wantAvg[o] = s / float32(g.kh*g.kw)
					o++
				}
			}
		}
		dst, check := guarded(r, no)
		arg := make([]int32, no)
		MaxPool(src, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, dst, arg)
		check(t)
		for i := range dst {
			if dst[i] != wantMax[i] || arg[i] != wantArg[i] {
				t.Fatalf("MaxPool %s: [%d] = %v@%d, want %v@%d", name, i, dst[i], arg[i], wantMax[i], wantArg[i])
			}
		}
		MaxPool(src, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, dst, nil) // argmax is optional
		AvgPool(src, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, dst)
		check(t)
		for i := range dst {
			if !close32(dst[i], wantAvg[i], 1e-6) {
				t.Fatalf("AvgPool %s: [%d] = %v, want %v", name, i, dst[i], wantAvg[i])
			}
		}

		// Backward passes add into din.
		dout := randSlice(r, no)
		din, check2 := guarded(r, g.c*g.h*g.w)
		want := append([]float32(nil), din...)
		for i, a := range wantArg {
			want[a] += dout[i]
		}
		MaxPoolBackward(dout, arg, din)
		check2(t)
		for i := range din {
			if !close32(din[i], want[i], 1e-6) {
				t.Fatalf("MaxPoolBackward %s: [%d] = %v, want %v", name, i, din[i], want[i])
			}
		}
		want = append(want[:0], din...)
		o = 0
		for ci := 0; ci < g.c; ci++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					for ki := 0; ki < g.kh; ki++ {
						for kj := 0; kj < g.kw; kj++ {
							want[(ci*g.h+oy*g.sh+ki)*g.w+ox*g.sw+kj] += dout[o] / float32(g.kh*g.kw)
						}
					}
					o++
				}
			}
		}
		AvgPoolBackward(dout, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, din)
		check2(t)
		for i := range din {
			if !close32(din[i], want[i], 1e-5) {
				t.Fatalf("AvgPoolBackward %s: [%d] = %v, want %v", name, i, din[i], want[i])
			}
		}
	}
}

// TestMaxPoolS2 checks the stride-2 kernels against MaxPool on every path, on widths that
// fill whole 8-window blocks, leave tails or have columns and rows left over, with ties
// and NaNs, in a buffer that ends with the image (the 3×3 kernel reads past its windows).
func TestMaxPoolS2(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, k := range []int{2, 3} {
			for _, g := range []struct{ c, h, w int }{{1, 3, 3}, {2, 4, 5}, {3, 16, 16}, {2, 5, 17}, {1, 32, 33}, {2, 7, 34}, {1, 3, 50}, {2, 27, 55}, {20, 8, 8}, {8, 13, 13}, {3, 9, 9}, {5, 6, 15}} {
				oh, ow := (g.h-k)/2+1, (g.w-k)/2+1
				src := randSlice(r, g.c*g.h*g.w)
				for i := range src {
					src[i] = float32(math.Round(float64(src[i]) * 2)) // ties
					if i%37 == 5 {
						src[i] = float32(math.NaN())
					}
				}
				want, wantArg := make([]float32, g.c*oh*ow), make([]int32, g.c*oh*ow)
				MaxPool(src, g.c, g.h, g.w, k, k, 2, 2, want, wantArg)
				got, check := guarded(r, len(want))
				arg := make([]int32, len(want))
				MaxPoolS2(src, g.c, g.h, g.w, k, got, arg)
				check(t)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) || arg[i] != wantArg[i] {
						t.Fatalf("k=%d %+v: [%d] = %v@%d, want %v@%d", k, g, i, got[i], arg[i], want[i], wantArg[i])
					}
				}
			}
		}
	})
}

// TestMaxUnpool2 checks the backward pass of 2×2 stride-2 pooling against MaxPoolBackward
// into a cleared image, on every path, writing over a dirty din, on the shapes of
// TestMaxPoolS2 (odd sizes leave a column and a row no window covers).
func TestMaxUnpool2(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, g := range []struct{ c, h, w int }{{1, 2, 2}, {2, 4, 5}, {3, 16, 16}, {2, 5, 17}, {1, 32, 33}, {2, 7, 34}, {1, 3, 50}, {2, 27, 55}} {
			oh, ow := g.h/2, g.w/2
			src := randSlice(r, g.c*g.h*g.w)
			for i := range src {
				src[i] = max(0, float32(math.Round(float64(src[i])*2))) // a ReLU's output, with ties
			}
			out, arg := make([]float32, g.c*oh*ow), make([]int32, g.c*oh*ow)
			MaxPoolS2(src, g.c, g.h, g.w, 2, out, arg)
			dout := randSlice(r, len(out))
			want := make([]float32, len(src))
			MaxPoolBackward(dout, arg, want)
			got, check := guarded(r, len(src)) // dirty: every element must be written
			MaxUnpool2(dout, arg, g.c, g.h, g.w, got)
			check(t)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%+v: din[%d] = %v, want %v", g, i, got[i], want[i])
				}
			}
			// With a ReLU before the pooling: its backward pass on what MaxPoolBackward gives.
			ReluBackward(src, want)
			got, check = guarded(r, len(src))
			MaxUnpool2Relu(dout, out, arg, g.c, g.h, g.w, got)
			check(t)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%+v with ReLU: din[%d] = %v, want %v", g, i, got[i], want[i])
				}
			}
		}
	})
}

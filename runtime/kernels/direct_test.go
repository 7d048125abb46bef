package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// directGeoms are stride-1 convolutions: f filters over the channels of g.
var directGeoms = []struct {
	g geom
	f int
}{
	{geom{1, 1, 1, 1, 1, 1, 1, 0, 0}, 1},
	{geom{3, 32, 32, 5, 5, 1, 1, 2, 2}, 16},
	{geom{16, 16, 16, 5, 5, 1, 1, 2, 2}, 20},
	{geom{20, 8, 8, 5, 5, 1, 1, 2, 2}, 20},
	{geom{1, 28, 28, 5, 5, 1, 1, 2, 2}, 8},
	{geom{8, 14, 14, 5, 5, 1, 1, 2, 2}, 16},
	{geom{10, 9, 11, 3, 3, 1, 1, 1, 1}, 10},
	{geom{2, 7, 30, 3, 2, 1, 1, 0, 1}, 13},
	{geom{5, 6, 5, 4, 4, 1, 1, 3, 3}, 7},
}

// eachTap calls visit(o, i, wi) for every product of a stride-1 convolution of f filters
// over g: output index o, input index i and weight index wi, padding skipped.
func eachTap(g geom, f int, visit func(o, i, wi int)) {
	oh, ow := convOut(g.h, g.kh, 1, g.ph), convOut(g.w, g.kw, 1, g.pw)
	for fi := 0; fi < f; fi++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for ci := 0; ci < g.c; ci++ {
					for ky := 0; ky < g.kh; ky++ {
						for kx := 0; kx < g.kw; kx++ {
							iy, ix := y+ky-g.ph, x+kx-g.pw
							if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w {
								visit((fi*oh+y)*ow+x, (ci*g.h+iy)*g.w+ix, ((fi*g.c+ci)*g.kh+ky)*g.kw+kx)
							}
						}
					}
				}
			}
		}
	}
}

// naiveSum accumulates n sums in float64, one product per eachTap visit, and rounds them.
func naiveSum(n int, g geom, f int, term func(o, i, wi int) (at int, v float64)) []float32 {
	sums := make([]float64, n)
	eachTap(g, f, func(o, i, wi int) {
		at, v := term(o, i, wi)
		sums[at] += v
	})
	out := make([]float32, n)
	for i, v := range sums {
		out[i] = float32(v)
	}
	return out
}

// naiveConv is the definition: out[fi][y][x] = Σ w[fi][ci][ky][kx]·in[ci][y+ky−ph][x+kx−pw].
func naiveConv(in, w []float32, g geom, f int) []float32 {
	n := f * convOut(g.h, g.kh, 1, g.ph) * convOut(g.w, g.kw, 1, g.pw)
	return naiveSum(n, g, f, func(o, i, wi int) (int, float64) { return o, float64(w[wi]) * float64(in[i]) })
}

// naiveConvInputGrad is the gradient of naiveConv's output with respect to its input.
func naiveConvInputGrad(dout, w []float32, g geom, f int) []float32 {
	return naiveSum(g.c*g.h*g.w, g, f, func(o, i, wi int) (int, float64) { return i, float64(dout[o]) * float64(w[wi]) })
}

// directRun convolves c planes of h×w (src) padded by ph, pw with the m×k weights w
// through tile t, row by row or, if flat, with the rows end to end (directConvFlat), into
// a guarded output whose stray writes it reports.
func directRun(t *testing.T, tl *convTile, flat bool, src, w []float32, c, h, wd, kh, kw, ph, pw, m int) []float32 {
	t.Helper()
	hp, wp := h+2*ph, wd+2*pw
	oh, ow := hp-kh+1, wp-kw+1
	pad := make([]float32, DirectSrcSize(c, hp, wp))
	PadInto(pad, src, c, h, wd, ph, pw)
	k := c * kh * kw
	packed := make([]float32, DirectPackedSize(m, k))
	packDirect(tl.r, packed, w, m, k)
	r := rand.New(rand.NewPCG(3, 4))
	out, check := guarded(r, m*oh*ow)
	if flat {
		directConvFlat(tl, out, m, oh, ow, packed, ConvOffsets(c, kh, kw, hp, wp), pad, wp)
	} else {
		directConv(tl, out, m, oh, ow, packed, ConvOffsets(c, kh, kw, hp, wp), pad, wp, 0, oh)
	}
	check(t)
	return out
}

func TestDirectConv(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, tl := range cur.tiles {
			for _, d := range directGeoms {
				g := d.g
				t.Run(fmt.Sprintf("%dx%d/%v/f%d", tl.r, tl.cols, g, d.f), func(t *testing.T) {
					r := rand.New(rand.NewPCG(1, uint64(g.c*g.h)))
					in := randSlice(r, g.c*g.h*g.w)
					w := randSlice(r, d.f*g.c*g.kh*g.kw)
					want := naiveConv(in, w, g, d.f)
					assertClose(t, "forward", directRun(t, &tl, false, in, w, g.c, g.h, g.w, g.kh, g.kw, g.ph, g.pw, d.f), want, 1e-5)
					assertClose(t, "forward, rows end to end", directRun(t, &tl, true, in, w, g.c, g.h, g.w, g.kh, g.kw, g.ph, g.pw, d.f), want, 1e-5)

					// The input gradient: the output gradient padded by k−1−p, convolved with
					// the flipped filters.
					oh, ow := convOut(g.h, g.kh, 1, g.ph), convOut(g.w, g.kw, 1, g.pw)
					dout := randSlice(r, d.f*oh*ow)
					flipped := make([]float32, len(w))
					taps := g.kh * g.kw
					for fi := 0; fi < d.f; fi++ {
						for ci := 0; ci < g.c; ci++ {
							for p := 0; p < taps; p++ {
								flipped[(ci*d.f+fi)*taps+p] = w[(fi*g.c+ci)*taps+taps-1-p]
							}
						}
					}
					din := directRun(t, &tl, false, dout, flipped, d.f, oh, ow, g.kh, g.kw, g.kh-1-g.ph, g.kw-1-g.pw, g.c)
					assertClose(t, "input gradient", din, naiveConvInputGrad(dout, w, g, d.f), 1e-5)
				})
			}
		}
	})
}

// TestPackDirectFlipped checks the exported packings against PackDirect of the explicitly
// rearranged weights, with the tile DirectConv picks, in a buffer that held other values.
func TestPackDirectFlipped(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		const f, c, kh, kw, width = 5, 3, 3, 2, 10
		r := rand.New(rand.NewPCG(5, 6))
		w := randSlice(r, f*c*kh*kw)
		k := f * kh * kw
		got := make([]float32, DirectPackedSize(c, k))
		for i := range got {
			got[i] = 7 // a dirty buffer: the padding rows must come out zero
		}
		PackDirectFlipped(got, w, f, c, kh, kw, width)
		flipped := make([]float32, len(w))
		for fi := 0; fi < f; fi++ {
			for ci := 0; ci < c; ci++ {
				for y := 0; y < kh; y++ {
					for x := 0; x < kw; x++ {
						flipped[((ci*f+fi)*kh+y)*kw+x] = w[((fi*c+ci)*kh+kh-1-y)*kw+kw-1-x]
					}
				}
			}
		}
		want := make([]float32, len(got))
		PackDirect(want, flipped, c, k, width)
		n := roundUp(c, cur.tileFor(c, width).r) * k
		assertClose(t, "flipped", got[:n], want[:n], 0)
		for i := range got {
			got[i] = 7
		}
		PackDirect(got, flipped, c, k, width)
		assertClose(t, "packed", got[:n], want[:n], 0)
	})
}

func TestDirectConvChecks(t *testing.T) {
	offs := ConvOffsets(2, 3, 3, 6, 6)
	a := make([]float32, DirectPackedSize(4, len(offs)))
	dst := make([]float32, 4*4*4)
	src := make([]float32, DirectSrcSize(2, 6, 6))
	DirectConv(dst, 4, 4, 4, a, offs, src, 6) // fits
	for name, f := range map[string]func(){
		"short src": func() { DirectConv(dst, 4, 4, 4, a, offs, src[:2*36], 6) },
		"short dst": func() { DirectConv(dst[:10], 4, 4, 4, a, offs, src, 6) },
		"short a":   func() { DirectConv(dst, 4, 4, 4, a[:5], offs, src, 6) },
		"unordered": func() { DirectConv(dst, 4, 4, 4, a, []int32{5, 1}, src, 6) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		d := float64(got[i] - want[i])
		if d < 0 {
			d = -d
		}
		if d > tol*(1+abs64(float64(want[i]))) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestPadInto checks PadInto on every path against its definition, on rows shorter than,
// as long as and longer than a vector, leaving the borders as they were.
func TestPadInto(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		for _, g := range []struct{ c, h, w, ph, pw int }{{2, 3, 1, 1, 1}, {3, 5, 7, 2, 2}, {2, 4, 8, 1, 0}, {3, 6, 13, 2, 3}, {16, 16, 16, 2, 2}, {2, 3, 33, 0, 1}} {
			hp, wp := g.h+2*g.ph, g.w+2*g.pw
			src := randSlice(r, g.c*g.h*g.w)
			dst, check := guarded(r, g.c*hp*wp)
			want := append([]float32(nil), dst...)
			for ci := range g.c {
				for y := range g.h {
					for x := range g.w {
						want[(ci*hp+y+g.ph)*wp+x+g.pw] = src[(ci*g.h+y)*g.w+x]
					}
				}
			}
			PadInto(dst, src, g.c, g.h, g.w, g.ph, g.pw)
			check(t)
			for i := range want {
				if dst[i] != want[i] {
					t.Fatalf("%+v: [%d] = %v, want %v", g, i, dst[i], want[i])
				}
			}
		}
	})
}

func BenchmarkDirectConv(b *testing.B) {
	// cifar-small conv2 (16×16×16 → 20×16×16, 5×5) with each tile.
	const c, h, w, k, m = 16, 16, 16, 5, 20
	hp, wp := h+4, w+4
	r := rand.New(rand.NewPCG(1, 2))
	pad := make([]float32, DirectSrcSize(c, hp, wp))
	PadInto(pad, randSlice(r, c*h*w), c, h, w, 2, 2)
	offs := ConvOffsets(c, k, k, hp, wp)
	out := make([]float32, m*h*w)
	for _, tl := range cur.tiles {
		packed := randSlice(r, DirectPackedSize(m, len(offs)))
		b.Run(fmt.Sprintf("%dx%d", tl.r, tl.cols), func(b *testing.B) {
			for range b.N {
				directConv(&tl, out, m, h, w, packed, offs, pad, wp, 0, h)
			}
			useful := 2 * float64(m*h*w*len(offs)*b.N)
			b.ReportMetric(useful/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestDirectConvExported runs the exported entry points, DirectConv large enough to be
// split over the pool, against the definition, and checks that they do not allocate.
func TestDirectConvExported(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		g, f := geom{16, 32, 32, 5, 5, 1, 1, 2, 2}, 48
		if 2*f*g.h*g.w*g.c*g.kh*g.kw < directParallelMin {
			t.Fatal("the geometry is too small for DirectConv to split it")
		}
		r := rand.New(rand.NewPCG(7, 8))
		in := randSlice(r, g.c*g.h*g.w)
		w := randSlice(r, f*g.c*g.kh*g.kw)
		want := naiveConv(in, w, g, f)
		hp, wp := g.h+2*g.ph, g.w+2*g.pw
		pad := make([]float32, DirectSrcSize(g.c, hp, wp))
		PadInto(pad, in, g.c, g.h, g.w, g.ph, g.pw)
		k := g.c * g.kh * g.kw
		packed := make([]float32, DirectPackedSize(f, k))
		PackDirect(packed, w, f, k, g.w)
		offs := ConvOffsets(g.c, g.kh, g.kw, hp, wp)
		for name, conv := range map[string]func(dst []float32, m, h, w int, a []float32, offs []int32, src []float32, lds int){
			"DirectConv": DirectConv, "DirectConvSerial": DirectConvSerial,
		} {
			out := make([]float32, len(want))
			run := func() { conv(out, f, g.h, g.w, packed, offs, pad, wp) }
			run()
			assertClose(t, name, out, want, 1e-5)
			if n := testing.AllocsPerRun(20, run); n != 0 {
				t.Errorf("%s: %v allocations per call", name, n)
			}
		}
	})
}

// naiveWeightGrad is the gradient of naiveConv's output with respect to its weights.
func naiveWeightGrad(in, dout []float32, g geom, f int) []float32 {
	return naiveSum(f*g.c*g.kh*g.kw, g, f, func(o, i, wi int) (int, float64) { return wi, float64(dout[o]) * float64(in[i]) })
}

// TestDirectWeightGrad accumulates two images' weight gradients with every tile onto a
// starting gradient and compares with the definition.
func TestDirectWeightGrad(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, tl := range cur.gradTiles {
			for _, d := range directGeoms {
				g, f := d.g, d.f
				t.Run(fmt.Sprintf("%dx%d/%v/f%d", tl.r, tl.v, g, f), func(t *testing.T) {
					r := rand.New(rand.NewPCG(9, uint64(g.c*g.w)))
					hp, wp := g.h+2*g.ph, g.w+2*g.pw
					oh, ow := hp-g.kh+1, wp-g.kw+1
					k, n := g.c*g.kh*g.kw, oh*ow
					offs, pixels := ConvOffsets(g.c, g.kh, g.kw, hp, wp), ConvOffsets(1, oh, ow, 0, wp)
					w := 8 * tl.v
					ld := roundUp(f, w)
					acc := make([]float32, DirectGradSize(k, f))
					dw := randSlice(r, f*k)
					want := append([]float32(nil), dw...)
					pad := make([]float32, DirectSrcSize(g.c, hp, wp))
					doutT := make([]float32, DirectGradSize(n, f))
					for range 2 {
						in, dout := randSlice(r, g.c*g.h*g.w), randSlice(r, f*n)
						for i, v := range naiveWeightGrad(in, dout, g, f) {
							want[i] += v
						}
						PadInto(pad, in, g.c, g.h, g.w, g.ph, g.pw)
						packDirectGrad(w, doutT, dout, f, n)
						directWeightGrad(&tl, acc, ld, pad, offs, pixels, doutT)
					}
					flushDirectWeightGrad(dw, acc, f, k, ld)
					assertClose(t, "dw", dw, want, 1e-4)
					for i, v := range acc {
						if v != 0 {
							t.Fatalf("acc[%d] = %v after the flush", i, v)
						}
					}
				})
			}
		}
	})
}

// TestDirectWeightGradExported runs the exported entry points once per path, checking
// that they agree with the definition and do not allocate.
func TestDirectWeightGradExported(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		g, f := geom{16, 16, 16, 5, 5, 1, 1, 2, 2}, 20
		r := rand.New(rand.NewPCG(11, 12))
		in := randSlice(r, g.c*g.h*g.w)
		dout := randSlice(r, f*g.h*g.w)
		hp, wp := g.h+4, g.w+4
		k, n := g.c*25, g.h*g.w
		offs, pixels := ConvOffsets(g.c, 5, 5, hp, wp), ConvOffsets(1, g.h, g.w, 0, wp)
		pad := make([]float32, DirectSrcSize(g.c, hp, wp))
		doutT := make([]float32, DirectGradSize(n, f))
		acc := make([]float32, DirectGradSize(k, f))
		dw := make([]float32, f*k)
		step := func() {
			PadInto(pad, in, g.c, g.h, g.w, 2, 2)
			PackDirectGrad(doutT, dout, k, f, n)
			DirectWeightGrad(acc, f, pad, offs, pixels, doutT)
			FlushDirectWeightGrad(dw, acc, f, k)
		}
		step()
		assertClose(t, "dw", dw, naiveWeightGrad(in, dout, g, f), 1e-5)
		if a := testing.AllocsPerRun(10, step); a != 0 {
			t.Errorf("%v allocations per step", a)
		}
	})
}

func BenchmarkDirectWeightGrad(b *testing.B) {
	// cifar-small conv2's weight gradient, with each tile.
	const c, h, w, k, f = 16, 16, 16, 5, 20
	hp, wp := h+4, w+4
	r := rand.New(rand.NewPCG(1, 2))
	pad := make([]float32, DirectSrcSize(c, hp, wp))
	PadInto(pad, randSlice(r, c*h*w), c, h, w, 2, 2)
	offs, pixels := ConvOffsets(c, k, k, hp, wp), ConvOffsets(1, h, w, 0, wp)
	doutT := randSlice(r, DirectGradSize(h*w, f))
	acc := make([]float32, DirectGradSize(len(offs), f))
	for _, tl := range cur.gradTiles {
		b.Run(fmt.Sprintf("%dx%d", tl.r, tl.v), func(b *testing.B) {
			ld := roundUp(f, 8*tl.v)
			for range b.N {
				directWeightGrad(&tl, acc, ld, pad, offs, pixels, doutT)
			}
			b.ReportMetric(2*float64(f*h*w*len(offs)*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func TestChanged(t *testing.T) {
	snap := make([]float32, 5)
	src := []float32{0, 0, 0, 0, 0}
	if Changed(snap, src) {
		t.Error("Changed on equal slices")
	}
	src[3] = 1
	if !Changed(snap, src) || snap[3] != 1 {
		t.Errorf("Changed missed a changed value or did not copy it: snapshot %v", snap)
	}
	if Changed(snap, src) {
		t.Error("Changed after copying")
	}
	// Bit for bit: −0 differs from 0, and a NaN equals itself.
	src[0] = float32(math.Copysign(0, -1))
	src[1] = float32(math.NaN())
	if !Changed(snap, src) || Changed(snap, src) {
		t.Error("Changed is not a bitwise comparison")
	}
}

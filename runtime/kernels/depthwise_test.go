package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// depthwiseRef is the definition in float64: out[c][oy][ox] = Σ w[c][ky][kx] ·
// in[c][oy·sh − ph + ky][ox·sw − pw + kx], zero outside the input.
func depthwiseRef(src, w []float32, g DepthwiseGeom) []float64 {
	out := make([]float64, g.C*g.OH*g.OW)
	for c := range g.C {
		for oy := range g.OH {
			for ox := range g.OW {
				var s float64
				for ky := range g.KH {
					for kx := range g.KW {
						iy, ix := oy*g.SH-g.PH+ky, ox*g.SW-g.PW+kx
						if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
							s += float64(w[(c*g.KH+ky)*g.KW+kx]) * float64(src[(c*g.H+iy)*g.W+ix])
						}
					}
				}
				out[(c*g.OH+oy)*g.OW+ox] = s
			}
		}
	}
	return out
}

func depthwiseGeoms() []DepthwiseGeom {
	var gs []DepthwiseGeom
	for _, g := range []DepthwiseGeom{
		{C: 3, H: 8, W: 8, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1},
		{C: 4, H: 9, W: 7, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1},
		{C: 2, H: 5, W: 6, KH: 5, KW: 3, SH: 1, SW: 2, PH: 2, PW: 0},
		{C: 5, H: 1, W: 1, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1},
		{C: 2, H: 32, W: 32, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1},
		// 3×3 rows that are whole vectors of the SIMD kernels, at stride 2, without
		// padding, and with an odd number of output rows.
		{C: 3, H: 16, W: 16, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1},
		{C: 2, H: 17, W: 16, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1},
		{C: 2, H: 10, W: 18, KH: 3, KW: 3, SH: 1, SW: 1, PH: 0, PW: 0},
		{C: 2, H: 8, W: 24, KH: 3, KW: 3, SH: 1, SW: 2, PH: 1, PW: 0},
		// An odd width at stride 2: the pairs split by the SIMD kernel, then a tail.
		{C: 2, H: 6, W: 35, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1},
	} {
		g.OH, g.OW = (g.H+2*g.PH-g.KH)/g.SH+1, (g.W+2*g.PW-g.KW)/g.SW+1
		gs = append(gs, g)
	}
	return gs
}

// TestDepthwiseConv checks the forward pass against the definition, the input gradient as
// its adjoint (⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩ for random x, y) and against the definition's
// derivative, and the weight gradient against ∂⟨conv(x), y⟩/∂w by the definition.
func TestDepthwiseConv(t *testing.T) {
	for _, g := range depthwiseGeoms() {
		t.Run(fmt.Sprintf("%+v", g), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(g.H), uint64(g.C)))
			x := randSlice(rng, g.C*g.H*g.W)
			w := randSlice(rng, g.C*g.KH*g.KW)
			dy := randSlice(rng, g.C*g.OH*g.OW)
			out := randSlice(rng, len(dy)) // dirty: the kernel must overwrite it
			DepthwiseConv(out, x, w, g)
			for i, want := range depthwiseRef(x, w, g) {
				if math.Abs(float64(out[i])-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("out[%d] = %g, want %g", i, out[i], want)
				}
			}
			dx := randSlice(rng, len(x))
			DepthwiseConvInputGrad(dx, dy, w, g)
			// dx[i] = ∂⟨conv(x), dy⟩/∂x[i]: conv is linear in x, so check with unit vectors.
			for i := range x {
				e := make([]float32, len(x))
				e[i] = 1
				var want float64
				for j, v := range depthwiseRef(e, w, g) {
					want += v * float64(dy[j])
				}
				if math.Abs(float64(dx[i])-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("dx[%d] = %g, want %g", i, dx[i], want)
				}
			}
			dw := make([]float32, len(w))
			for i := range dw {
				dw[i] = 0.5 // the kernel adds to it
			}
			DepthwiseConvWeightGrad(dw, x, dy, g)
			for i := range w {
				e := make([]float32, len(w))
				e[i] = 1
				want := 0.5
				for j, v := range depthwiseRef(x, e, g) {
					want += v * float64(dy[j])
				}
				if math.Abs(float64(dw[i])-want) > 1e-4*(1+math.Abs(want)) {
					t.Fatalf("dw[%d] = %g, want %g", i, dw[i], want)
				}
			}
		})
	}
}

package data

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/nn"
)

// randomImage returns c*h*w distinct nonzero values.
func randomImage(c, h, w int, seed uint64) []float32 {
	rng := nn.NewRNG(seed)
	x := make([]float32, c*h*w)
	for i := range x {
		x[i] = 1 + rng.Float32() + float32(i)
	}
	return x
}

// naiveTransform is Transform written from its definition: flip, pad with zeros, crop.
func naiveTransform(src []float32, c, h, w, pad int, flip bool, ox, oy int) []float32 {
	ph, pw := h+2*pad, w+2*pad
	padded := make([]float32, c*ph*pw)
	for ch := range c {
		for y := range h {
			for x := range w {
				sx := x
				if flip {
					sx = w - 1 - x
				}
				padded[(ch*ph+y+pad)*pw+x+pad] = src[(ch*h+y)*w+sx]
			}
		}
	}
	out := make([]float32, c*h*w)
	for ch := range c {
		for y := range h {
			for x := range w {
				py, px := y+oy, x+ox
				if py >= 0 && py < ph && px >= 0 && px < pw {
					out[(ch*h+y)*w+x] = padded[(ch*ph+py)*pw+px]
				}
			}
		}
	}
	return out
}

func TestTransform(t *testing.T) {
	const c, h, w = 2, 3, 5
	src := randomImage(c, h, w, 1)
	dst := make([]float32, len(src))
	// Pads of 6 and 9 are wider than the image: crops that miss it must give zeros, not
	// slice src out of range.
	for _, pad := range []int{0, 1, 2, 4, 6, 9} {
		for _, flip := range []bool{false, true} {
			for oy := 0; oy <= 2*pad; oy++ {
				for ox := 0; ox <= 2*pad; ox++ {
					for i := range dst {
						dst[i] = -1 // every value must be written
					}
					Transform(dst, src, c, h, w, pad, flip, ox, oy)
					if want := naiveTransform(src, c, h, w, pad, flip, ox, oy); !slices.Equal(dst, want) {
						t.Fatalf("pad %d flip %v offset (%d,%d):\n got %v\nwant %v", pad, flip, ox, oy, dst, want)
					}
				}
			}
		}
	}
}

func TestAugmentCheck(t *testing.T) {
	for _, tc := range []struct {
		a    Augment
		ok   bool
		want string
	}{
		{Augment{Flip: true, CropPad: 27}, true, ""},
		{Augment{CropPad: 0}, true, ""},
		{Augment{CropPad: 28}, false, "augment crop 28: must be less than the images' side (28x28)"},
		{Augment{CropPad: 29}, false, "augment crop 29"},
		{Augment{CropPad: -1}, false, "augment crop -1: must be ≥ 0"},
	} {
		err := tc.a.Check(28, 28)
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v.Check(28, 28) = %v, want %q", tc.a, err, tc.want)
		}
	}
}

func TestFlipIsMirror(t *testing.T) {
	const c, h, w = 3, 4, 7
	src := randomImage(c, h, w, 2)
	dst := make([]float32, len(src))
	Transform(dst, src, c, h, w, 0, true, 0, 0)
	for ch := range c {
		for y := range h {
			for x := range w {
				if dst[(ch*h+y)*w+x] != src[(ch*h+y)*w+w-1-x] {
					t.Fatalf("(%d,%d,%d) is not the mirror", ch, y, x)
				}
			}
		}
	}
	back := make([]float32, len(src))
	Transform(back, dst, c, h, w, 0, true, 0, 0)
	if !slices.Equal(back, src) {
		t.Fatal("flipping twice is not the identity")
	}
}

func TestCropPadding(t *testing.T) {
	// The extreme offsets shift the image by pad and fill the uncovered band with zeros.
	const c, h, w, pad = 1, 4, 4, 2
	src := randomImage(c, h, w, 3)
	dst := make([]float32, len(src))
	Transform(dst, src, c, h, w, pad, false, 0, 0) // image moved down-right by 2
	for y := range h {
		for x := range w {
			v := dst[y*w+x]
			if (y < pad || x < pad) != (v == 0) {
				t.Fatalf("offset (0,0): (%d,%d) = %v", y, x, v)
			}
			if v != 0 && v != src[(y-pad)*w+x-pad] {
				t.Fatalf("offset (0,0): (%d,%d) moved wrong", y, x)
			}
		}
	}
	Transform(dst, src, c, h, w, pad, false, 2*pad, 2*pad) // moved up-left by 2
	for y := range h {
		for x := range w {
			if (y >= h-pad || x >= w-pad) != (dst[y*w+x] == 0) {
				t.Fatalf("offset (4,4): (%d,%d) = %v", y, x, dst[y*w+x])
			}
		}
	}
}

func TestAugmentDraw(t *testing.T) {
	for _, a := range []Augment{{}, {Flip: true}, {CropPad: 2}, {Flip: true, CropPad: 4}} {
		t.Run(fmt.Sprintf("%+v", a), func(t *testing.T) {
			const n = 20000
			rng := nn.NewRNG(7)
			flips := 0
			seen := map[[2]int]int{}
			for range n {
				flip, ox, oy := a.Draw(&rng)
				if flip {
					flips++
				}
				if ox < 0 || oy < 0 || ox > 2*a.CropPad || oy > 2*a.CropPad {
					t.Fatalf("offset (%d,%d) outside [0,%d]", ox, oy, 2*a.CropPad)
				}
				seen[[2]int{ox, oy}]++
			}
			rate := float64(flips) / n
			if a.Flip && (rate < 0.48 || rate > 0.52) || !a.Flip && flips != 0 {
				t.Fatalf("flip rate %v", rate)
			}
			// Every offset pair occurs about equally often: a chi-square statistic within
			// five standard deviations of its mean (df = cells-1, variance 2 df).
			cells := (2*a.CropPad + 1) * (2*a.CropPad + 1)
			if len(seen) != cells {
				t.Fatalf("%d offset pairs seen, want %d", len(seen), cells)
			}
			e, chi2 := float64(n)/float64(cells), 0.0
			for _, v := range seen {
				chi2 += (float64(v) - e) * (float64(v) - e) / e
			}
			if df := float64(cells - 1); chi2 > df+5*math.Sqrt(2*df)+1 {
				t.Fatalf("offsets not uniform: chi-square %.1f with %v degrees of freedom (%v)", chi2, df, seen)
			}
		})
	}
}

func TestAugmentApply(t *testing.T) {
	const c, h, w = 3, 8, 8
	a := Augment{Flip: true, CropPad: 2}
	src := randomImage(c, h, w, 4)
	d1, d2 := make([]float32, len(src)), make([]float32, len(src))
	r1, r2, r3 := nn.NewRNG(42), nn.NewRNG(42), nn.NewRNG(42)
	for range 50 {
		a.Apply(&r1, d1, src, c, h, w)
		a.Apply(&r2, d2, src, c, h, w)
		if !slices.Equal(d1, d2) {
			t.Fatal("same seed, different result")
		}
		flip, ox, oy := a.Draw(&r3)
		if want := naiveTransform(src, c, h, w, 2, flip, ox, oy); !slices.Equal(d1, want) {
			t.Fatal("Apply is not Transform of Draw")
		}
	}
	if r1 != r2 || r1 != r3 {
		t.Fatal("generators out of step")
	}
	// Disabled: a plain copy that draws nothing.
	before := r1
	Augment{}.Apply(&r1, d1, src, c, h, w)
	if !slices.Equal(d1, src) || r1 != before {
		t.Fatal("disabled augmentation changed the image or drew numbers")
	}
	if allocs := testing.AllocsPerRun(100, func() { a.Apply(&r1, d1, src, c, h, w) }); allocs != 0 {
		t.Fatalf("Apply allocates %v times", allocs)
	}
}

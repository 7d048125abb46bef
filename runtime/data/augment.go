package data

import (
	"fmt"

	"github.com/netc-dev/netc/runtime/nn"
)

// Augment is the live augmentation applied to each training image each epoch: a random
// horizontal flip (probability 1/2, when Flip is set; leave it off for digits) followed by a
// random crop of the original size from the image zero-padded by CropPad pixels on each side,
// the crop's offset uniform in [0, 2*CropPad] in each direction (so CropPad = 0 means no
// crop). The padding is zeros in the values the image has when augmented: after
// preprocessing, that is the subtracted mean, as in the PyTorch anchor.
type Augment struct {
	// Flip enables random horizontal flips.
	Flip bool
	// CropPad is the zero padding of random crops; 0 (or less) disables them.
	CropPad int
}

// Check returns an error unless a can augment images of h×w pixels: a negative CropPad,
// or one of at least the image's height or width (whose crops could hold nothing but
// padding), is refused.
func (a Augment) Check(h, w int) error {
	switch {
	case a.CropPad < 0:
		return fmt.Errorf("augment crop %d: must be ≥ 0", a.CropPad)
	case a.CropPad >= min(h, w):
		return fmt.Errorf("augment crop %d: must be less than the images' side (%dx%d), "+
			"or a crop can miss the image entirely", a.CropPad, h, w)
	}
	return nil
}

// Enabled reports whether a changes images at all.
func (a Augment) Enabled() bool { return a.Flip || a.CropPad > 0 }

// Draw draws one image's augmentation from rng: first the flip (one Uint64, only if Flip),
// then the crop's offsets ox and oy in [0, 2*CropPad] (one Intn each, only if CropPad > 0).
// Without a crop, ox = oy = CropPad (= 0) and nothing moves.
func (a Augment) Draw(rng *nn.RNG) (flip bool, ox, oy int) {
	if a.Flip {
		flip = rng.Uint64()>>63 == 1
	}
	if a.CropPad > 0 {
		ox = rng.Intn(2*a.CropPad + 1)
		oy = rng.Intn(2*a.CropPad + 1)
	} else {
		ox, oy = max(a.CropPad, 0), max(a.CropPad, 0)
	}
	return flip, ox, oy
}

// Apply writes into dst the image src (c×h×w, C,H,W order) augmented by a draw from rng
// (see Draw). dst and src must have c*h*w elements and must not overlap. It allocates
// nothing.
func (a Augment) Apply(rng *nn.RNG, dst, src []float32, c, h, w int) {
	flip, ox, oy := a.Draw(rng)
	Transform(dst, src, c, h, w, max(a.CropPad, 0), flip, ox, oy)
}

// Transform writes into dst the image src (c×h×w, C,H,W order), mirrored left to right if
// flip, then zero-padded by pad on each side and cropped back to h×w at offset (ox, oy) of
// the padded image: dst[ch][y][x] = flipped[ch][y+oy-pad][x+ox-pad], or 0 outside the image.
// ox and oy are normally in [0, 2*pad]; others just give more zeros, and so does a pad
// larger than the image (no offset reads outside src). dst and src must have
// c*h*w elements and must not overlap. It allocates nothing.
func Transform(dst, src []float32, c, h, w, pad int, flip bool, ox, oy int) {
	hw := h * w
	dst, src = dst[:c*hw], src[:c*hw]
	if !flip && ox == pad && oy == pad {
		copy(dst, src)
		return
	}
	dx, dy := ox-pad, oy-pad // dst (x, y) reads source column x+dx, row y+dy
	x0, x1 := max(0, -dx), min(w, w-dx)
	if x1 <= x0 { // no column of the crop falls on the image (a pad wider than it)
		clear(dst)
		return
	}
	for ch := 0; ch < c; ch++ {
		sp, dp := src[ch*hw:(ch+1)*hw], dst[ch*hw:(ch+1)*hw]
		for y := 0; y < h; y++ {
			row := dp[y*w : (y+1)*w]
			sy := y + dy
			if sy < 0 || sy >= h {
				clear(row)
				continue
			}
			srow := sp[sy*w : (sy+1)*w]
			clear(row[:x0])
			clear(row[x1:])
			if !flip {
				copy(row[x0:x1], srow[x0+dx:x1+dx])
			} else {
				// flipped column x+dx is source column w-1-(x+dx).
				for x := x0; x < x1; x++ {
					row[x] = srow[w-1-x-dx]
				}
			}
		}
	}
}

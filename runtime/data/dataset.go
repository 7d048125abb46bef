package data

import (
	"fmt"
	"math"
)

// Dataset is N images of shape C×H×W with one integer label each. The images are stored
// back to back in X, each in C,H,W order (channel planes, rows top to bottom, columns left
// to right), so image i is X[i*C*H*W : (i+1)*C*H*W].
type Dataset struct {
	// X holds the pixels of all images, len(X) == Len()*C*H*W.
	X []float32
	// Labels holds one class index in [0, Classes) per image.
	Labels []int32
	// C, H and W are the channels, height and width of one image.
	C, H, W int
	// Classes is the number of classes.
	Classes int
	// ClassNames names the classes, indexed by label (may be nil).
	ClassNames []string
}

// Len returns the number of images.
func (d *Dataset) Len() int { return len(d.Labels) }

// ImageSize returns the number of floats of one image, C*H*W.
func (d *Dataset) ImageSize() int { return d.C * d.H * d.W }

// Image returns image i as a slice of X (not a copy; its capacity ends with the image).
func (d *Dataset) Image(i int) []float32 {
	n := d.ImageSize()
	return d.X[i*n : (i+1)*n : (i+1)*n]
}

// Validate checks that the fields agree: positive shape, len(X) == Len()*C*H*W, every label
// in [0, Classes), and at most Classes class names.
func (d *Dataset) Validate() error {
	if d.C <= 0 || d.H <= 0 || d.W <= 0 {
		return fmt.Errorf("data: invalid image shape %dx%dx%d", d.C, d.H, d.W)
	}
	if len(d.X) != d.Len()*d.ImageSize() {
		return fmt.Errorf("data: %d floats of pixels for %d images of %dx%dx%d (want %d)",
			len(d.X), d.Len(), d.C, d.H, d.W, d.Len()*d.ImageSize())
	}
	if len(d.ClassNames) > d.Classes {
		return fmt.Errorf("data: %d class names for %d classes", len(d.ClassNames), d.Classes)
	}
	for i, l := range d.Labels {
		if l < 0 || int(l) >= d.Classes {
			return fmt.Errorf("data: label %d of image %d outside [0, %d)", l, i, d.Classes)
		}
	}
	return nil
}

// Subset returns a new data set holding copies of the images and labels at idx, in that
// order (an index may repeat). It panics if an index is out of range.
func (d *Dataset) Subset(idx []int) *Dataset {
	n := d.ImageSize()
	s := d.shell()
	s.X = make([]float32, len(idx)*n)
	s.Labels = make([]int32, len(idx))
	for k, i := range idx {
		copy(s.X[k*n:(k+1)*n], d.Image(i))
		s.Labels[k] = d.Labels[i]
	}
	return s
}

// shell returns a data set with d's shape and classes and no images.
func (d *Dataset) shell() *Dataset {
	var names []string
	if d.ClassNames != nil {
		names = append([]string(nil), d.ClassNames...)
	}
	return &Dataset{C: d.C, H: d.H, W: d.W, Classes: d.Classes, ClassNames: names}
}

// slice returns images [lo, hi) as a data set sharing d's storage, capacity capped so that
// appending to it never writes into d.
func (d *Dataset) slice(lo, hi int) *Dataset {
	n := d.ImageSize()
	s := d.shell()
	s.X = d.X[lo*n : hi*n : hi*n]
	s.Labels = d.Labels[lo:hi:hi]
	return s
}

// Split carves a validation set of valCount images from the END of d and returns the rest
// as the training set: train is images [0, Len()-valCount), val is the last valCount, both in
// their original order, so the split is deterministic and needs no seed (as in the PyTorch
// anchor, which holds out the last 5,000 training images). The two share d's storage, on
// disjoint ranges and with capacity capped (no copy): preprocess train and val separately,
// not d as well. valCount must be in [0, Len()].
func (d *Dataset) Split(valCount int) (train, val *Dataset, err error) {
	if valCount < 0 || valCount > d.Len() {
		return nil, nil, fmt.Errorf("data: split: validation count %d outside [0, %d]", valCount, d.Len())
	}
	cut := d.Len() - valCount
	return d.slice(0, cut), d.slice(cut, d.Len()), nil
}

// SplitFraction is Split with valCount = round(frac*Len()); frac must be in [0, 1].
func (d *Dataset) SplitFraction(frac float64) (train, val *Dataset, err error) {
	if !(frac >= 0 && frac <= 1) {
		return nil, nil, fmt.Errorf("data: split: validation fraction %v outside [0, 1]", frac)
	}
	return d.Split(int(math.Round(frac * float64(d.Len()))))
}

// pixelScale maps a byte to its value in [0, 1]: float32(b)/255, computed once.
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return
}()

// bytesToPixels writes float32(src[i])/255 into dst.
func bytesToPixels(dst []float32, src []byte) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = pixelScale[b]
	}
}

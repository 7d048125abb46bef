package data

import (
	"fmt"
	"math"
)

// MeanKind says what mean [Preprocess] subtracts.
type MeanKind string

// The kinds of mean subtraction.
const (
	// MeanNone subtracts nothing (the zero value "" means the same).
	MeanNone MeanKind = "none"
	// MeanImage subtracts the mean image: each pixel of each channel its own mean over
	// the training images.
	MeanImage MeanKind = "image"
	// MeanChannel subtracts one mean per channel, over all training images and pixels.
	MeanChannel MeanKind = "channel"
)

// ParseMeanKind parses a mean kind as written in a spec or on the command line: "none" or
// "" (MeanNone), "image" or "mean-image" (MeanImage), "channel", "per-channel" or
// "channel-mean" (MeanChannel).
func ParseMeanKind(s string) (MeanKind, error) {
	switch s {
	case "", "none":
		return MeanNone, nil
	case "image", "mean-image":
		return MeanImage, nil
	case "channel", "per-channel", "channel-mean":
		return MeanChannel, nil
	}
	return "", fmt.Errorf("data: unknown mean kind %q (want none, image or channel)", s)
}

// Preprocess is a normalization fitted on the training split only and then applied, the
// same, to every split: x = (x - mean) / std. Its fields are exported so that checkpoints
// can store it (it marshals to JSON as is).
type Preprocess struct {
	// Kind is the mean subtracted.
	Kind MeanKind `json:"kind"`
	// Std divides by one standard deviation per channel after the mean subtraction.
	Std bool `json:"std"`
	// C, H and W are the image shape it was fitted on.
	C int `json:"c"`
	H int `json:"h"`
	W int `json:"w"`
	// Mean is what is subtracted: C*H*W values (C,H,W order) for MeanImage, C for
	// MeanChannel, none for MeanNone.
	Mean []float32 `json:"mean,omitempty"`
	// StdDev holds C divisors when Std is set: the population standard deviation, over
	// the training images and pixels of each channel, of the values after the mean
	// subtraction (for MeanNone, around the channel's mean); 1 for a constant channel.
	StdDev []float32 `json:"std_dev,omitempty"`
}

// Fit computes the statistics of kind and std from train (the training split only: the
// validation and test sets must not leak into them) and stores them in p. Sums are in
// float64.
func (p *Preprocess) Fit(train *Dataset, kind MeanKind, std bool) error {
	if kind == "" {
		kind = MeanNone
	}
	if kind != MeanNone && kind != MeanImage && kind != MeanChannel {
		return fmt.Errorf("data: preprocess: unknown mean kind %q", kind)
	}
	if err := train.Validate(); err != nil {
		return fmt.Errorf("data: preprocess: %w", err)
	}
	if train.Len() == 0 && (kind != MeanNone || std) {
		return fmt.Errorf("data: preprocess: cannot fit on an empty training set")
	}
	*p = Preprocess{Kind: kind, Std: std, C: train.C, H: train.H, W: train.W}
	if kind == MeanNone && !std {
		return nil
	}
	n, hw := train.ImageSize(), train.H*train.W
	pixSum := make([]float64, n)
	for i := 0; i < train.Len(); i++ {
		for j, v := range train.Image(i) {
			pixSum[j] += float64(v)
		}
	}
	count := float64(train.Len())
	chanMean := make([]float64, train.C)
	for c := range chanMean {
		for _, s := range pixSum[c*hw : (c+1)*hw] {
			chanMean[c] += s
		}
		chanMean[c] /= count * float64(hw)
	}
	// sub[j] is the value subtracted from pixel j (for the std's centring).
	sub := make([]float64, n)
	switch kind {
	case MeanImage:
		p.Mean = make([]float32, n)
		for j, s := range pixSum {
			p.Mean[j] = float32(s / count)
			sub[j] = float64(p.Mean[j])
		}
	case MeanChannel:
		p.Mean = make([]float32, train.C)
		for c, m := range chanMean {
			p.Mean[c] = float32(m)
			for j := c * hw; j < (c+1)*hw; j++ {
				sub[j] = float64(p.Mean[c])
			}
		}
	default:
		for c, m := range chanMean {
			for j := c * hw; j < (c+1)*hw; j++ {
				sub[j] = m
			}
		}
	}
	if std {
		ss := make([]float64, train.C)
		for i := 0; i < train.Len(); i++ {
			img := train.Image(i)
			for c := range ss {
				for j := c * hw; j < (c+1)*hw; j++ {
					d := float64(img[j]) - sub[j]
					ss[c] += d * d
				}
			}
		}
		p.StdDev = make([]float32, train.C)
		for c, s := range ss {
			sd := math.Sqrt(s / (count * float64(hw)))
			if sd < 1e-8 {
				sd = 1
			}
			p.StdDev[c] = float32(sd)
		}
	}
	return nil
}

// check reports whether p is consistent with images of shape c×h×w.
func (p *Preprocess) check(c, h, w int) error {
	if p.Kind == MeanNone || p.Kind == "" {
		if !p.Std {
			return nil
		}
	}
	if p.C != c || p.H != h || p.W != w {
		return fmt.Errorf("data: preprocess fitted on %dx%dx%d images applied to %dx%dx%d", p.C, p.H, p.W, c, h, w)
	}
	want := 0
	switch p.Kind {
	case MeanImage:
		want = c * h * w
	case MeanChannel:
		want = c
	case MeanNone, "":
	default:
		return fmt.Errorf("data: preprocess: unknown mean kind %q", p.Kind)
	}
	if len(p.Mean) != want {
		return fmt.Errorf("data: preprocess: %d means for kind %q on %dx%dx%d images (want %d)", len(p.Mean), p.Kind, c, h, w, want)
	}
	if p.Std && len(p.StdDev) != c {
		return fmt.Errorf("data: preprocess: %d standard deviations for %d channels", len(p.StdDev), c)
	}
	return nil
}

// Apply normalizes every image of ds in place. It returns an error, changing nothing, if ds's
// shape is not the one p was fitted on or p's fields are inconsistent.
func (p *Preprocess) Apply(ds *Dataset) error {
	if err := p.check(ds.C, ds.H, ds.W); err != nil {
		return err
	}
	if len(ds.X) != ds.Len()*ds.ImageSize() {
		return fmt.Errorf("data: preprocess: %d floats for %d images of %d", len(ds.X), ds.Len(), ds.ImageSize())
	}
	for i := 0; i < ds.Len(); i++ {
		p.ApplyImage(ds.Image(i))
	}
	return nil
}

// ApplyImage normalizes one image (C*H*W floats in C,H,W order) in place. It does not check
// the shape: x must have the C*H*W values p was fitted on (see Apply).
func (p *Preprocess) ApplyImage(x []float32) {
	hw := p.H * p.W
	switch p.Kind {
	case MeanImage:
		x = x[:len(p.Mean)]
		for j, m := range p.Mean {
			x[j] -= m
		}
	case MeanChannel:
		for c, m := range p.Mean {
			plane := x[c*hw : (c+1)*hw]
			for j := range plane {
				plane[j] -= m
			}
		}
	}
	if p.Std {
		for c, s := range p.StdDev {
			plane := x[c*hw : (c+1)*hw]
			for j := range plane {
				plane[j] /= s
			}
		}
	}
}

package data

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// handSet returns a training split of two 2×1×2 images and a validation split of one, whose
// very different values must not leak into the statistics.
func handSet() (train, val *Dataset) {
	d := &Dataset{C: 2, H: 1, W: 2, Classes: 1, Labels: make([]int32, 3), X: []float32{
		// image 0: channel 0 | channel 1
		1, 2, 10, 20,
		// image 1
		3, 6, 30, 40,
		// image 2 (validation)
		100, 100, 100, 100,
	}}
	train, val, _ = d.Split(1)
	return train, val
}

func TestPreprocessFit(t *testing.T) {
	sqrt := func(x float64) float32 { return float32(math.Sqrt(x)) }
	for _, tc := range []struct {
		name       string
		kind       MeanKind
		std        bool
		mean, sd   []float32
		trainAfter []float32
	}{
		{"none", MeanNone, false, nil, nil, []float32{1, 2, 10, 20, 3, 6, 30, 40}},
		// pixel means: (1+3)/2=2, (2+6)/2=4, 20, 30
		{"mean image", MeanImage, false, []float32{2, 4, 20, 30}, nil,
			[]float32{-1, -2, -10, -10, 1, 2, 10, 10}},
		// channel means: (1+2+3+6)/4=3, (10+20+30+40)/4=25
		{"channel mean", MeanChannel, false, []float32{3, 25}, nil,
			[]float32{-2, -1, -15, -5, 0, 3, 5, 15}},
		// residuals channel 0: -2 -1 0 3 → var 14/4; channel 1: -15 -5 5 15 → var 500/4
		{"channel mean and std", MeanChannel, true, []float32{3, 25}, []float32{sqrt(3.5), sqrt(125)},
			[]float32{-2 / sqrt(3.5), -1 / sqrt(3.5), -15 / sqrt(125), -5 / sqrt(125),
				0, 3 / sqrt(3.5), 5 / sqrt(125), 15 / sqrt(125)}},
		// residuals channel 0: -1 -2 1 2 → var 10/4; channel 1: -10 -10 10 10 → var 100
		{"mean image and std", MeanImage, true, []float32{2, 4, 20, 30}, []float32{sqrt(2.5), 10},
			[]float32{-1 / sqrt(2.5), -2 / sqrt(2.5), -1, -1, 1 / sqrt(2.5), 2 / sqrt(2.5), 1, 1}},
		// std around the channel mean, nothing subtracted
		{"std only", MeanNone, true, nil, []float32{sqrt(3.5), sqrt(125)},
			[]float32{1 / sqrt(3.5), 2 / sqrt(3.5), 10 / sqrt(125), 20 / sqrt(125),
				3 / sqrt(3.5), 6 / sqrt(3.5), 30 / sqrt(125), 40 / sqrt(125)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			train, val := handSet()
			var p Preprocess
			if err := p.Fit(train, tc.kind, tc.std); err != nil {
				t.Fatal(err)
			}
			if !close32(p.Mean, tc.mean) || !close32(p.StdDev, tc.sd) {
				t.Fatalf("mean %v std %v, want %v %v", p.Mean, p.StdDev, tc.mean, tc.sd)
			}
			if err := p.Apply(train); err != nil {
				t.Fatal(err)
			}
			if !close32(train.X, tc.trainAfter) {
				t.Fatalf("train after %v, want %v", train.X, tc.trainAfter)
			}
			// Validation gets the training statistics; ApplyImage is the same per image.
			img := []float32{100, 100, 100, 100}
			p.ApplyImage(img)
			if err := p.Apply(val); err != nil {
				t.Fatal(err)
			}
			if !close32(val.X, img) {
				t.Fatalf("val after %v, ApplyImage %v", val.X, img)
			}
			// Serializable: a JSON round trip gives the same preprocessing.
			b, err := json.Marshal(&p)
			if err != nil {
				t.Fatal(err)
			}
			var q Preprocess
			if err := json.Unmarshal(b, &q); err != nil || !reflect.DeepEqual(normalize(p), normalize(q)) {
				t.Fatalf("JSON round trip %s: %+v vs %+v (%v)", b, p, q, err)
			}
		})
	}
}

// normalize makes nil and empty slices compare equal.
func normalize(p Preprocess) Preprocess {
	if len(p.Mean) == 0 {
		p.Mean = nil
	}
	if len(p.StdDev) == 0 {
		p.StdDev = nil
	}
	return p
}

func TestPreprocessErrors(t *testing.T) {
	train, _ := handSet()
	var p Preprocess
	if err := p.Fit(train, "median", false); err == nil {
		t.Error("unknown kind: no error")
	}
	empty, _, _ := train.Split(train.Len())
	if err := p.Fit(empty, MeanChannel, false); err == nil {
		t.Error("empty training set: no error")
	}
	if err := p.Fit(train, MeanImage, true); err != nil {
		t.Fatal(err)
	}
	other := indexed(2, 2, 2, 2)
	if err := p.Apply(other); err == nil {
		t.Error("shape mismatch: no error")
	}
	q := p
	q.Mean = q.Mean[:1]
	if err := q.Apply(train); err == nil {
		t.Error("inconsistent means: no error")
	}
	// A constant channel gets std 1, not a division by zero.
	c := &Dataset{C: 1, H: 1, W: 2, Classes: 1, X: []float32{5, 5, 5, 5}, Labels: []int32{0, 0}}
	if err := p.Fit(c, MeanChannel, true); err != nil || p.StdDev[0] != 1 {
		t.Fatalf("constant channel: std %v, %v", p.StdDev, err)
	}
	for _, s := range []string{"", "none", "image", "mean-image", "channel", "per-channel"} {
		if _, err := ParseMeanKind(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseMeanKind("pca"); err == nil {
		t.Error("ParseMeanKind(pca): no error")
	}
}

// close32 reports whether a and b agree to a relative 1e-6.
func close32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6*math.Max(1, math.Abs(float64(b[i]))) {
			return false
		}
	}
	return true
}

package data

import (
	"slices"
	"testing"
)

// indexed returns n images of shape c×h×w whose pixels all equal the image's index, each
// labelled with its index (Classes = n), so that tests can tell images apart by label.
func indexed(n, c, h, w int) *Dataset {
	d := &Dataset{C: c, H: h, W: w, Classes: n, X: make([]float32, n*c*h*w), Labels: make([]int32, n)}
	for i := range n {
		d.Labels[i] = int32(i)
		for k := range d.Image(i) {
			d.Image(i)[k] = float32(i)
		}
	}
	return d
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name               string
		n, val             int
		frac               float64 // used when val < 0
		wantTrain, wantVal int
		wantErr            bool
	}{
		{"count", 100, 30, 0, 70, 30, false},
		{"none held out", 10, 0, 0, 10, 0, false},
		{"all held out", 10, 10, 0, 0, 10, false},
		{"fraction", 60, -1, 1.0 / 12, 55, 5, false},
		{"fraction rounds", 7, -1, 0.5, 3, 4, false},
		{"too many", 10, 11, 0, 0, 0, true},
		{"negative", 10, -1, -0.1, 0, 0, true},
		{"fraction above 1", 10, -1, 1.5, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := indexed(tc.n, 1, 2, 2)
			var train, val *Dataset
			var err error
			if tc.val >= 0 {
				train, val, err = d.Split(tc.val)
			} else {
				train, val, err = d.SplitFraction(tc.frac)
			}
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if train.Len() != tc.wantTrain || val.Len() != tc.wantVal {
				t.Fatalf("sizes %d/%d, want %d/%d", train.Len(), val.Len(), tc.wantTrain, tc.wantVal)
			}
			// Train is the first images in order, val the last: disjoint, covering, deterministic.
			for i, l := range slices.Concat(train.Labels, val.Labels) {
				if int(l) != i {
					t.Fatalf("image %d of train+val is original %d", i, l)
				}
			}
			for _, s := range []*Dataset{train, val} {
				if err := s.Validate(); err != nil {
					t.Fatal(err)
				}
				for i := range s.Len() {
					if s.Image(i)[0] != float32(s.Labels[i]) {
						t.Fatal("pixels and labels out of step")
					}
				}
			}
			// Appending to train never overwrites val.
			if val.Len() > 0 {
				_ = append(train.X, -1)
				_ = append(train.Labels, -1)
				if val.X[0] != float32(tc.wantTrain) || val.Labels[0] != int32(tc.wantTrain) {
					t.Fatal("append to train changed val")
				}
			}
		})
	}
}

func TestSubset(t *testing.T) {
	d := indexed(10, 2, 3, 3)
	d.ClassNames = make([]string, 10)
	s := d.Subset([]int{7, 2, 2, 9})
	if want := []int32{7, 2, 2, 9}; !slices.Equal(s.Labels, want) {
		t.Fatalf("labels %v, want %v", s.Labels, want)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := range s.Len() {
		if !slices.Equal(s.Image(i), d.Image(int(s.Labels[i]))) {
			t.Fatalf("image %d differs", i)
		}
	}
	s.X[0], s.Labels[0], s.ClassNames[0] = -5, 0, "x"
	if d.X[7*18] != 7 || d.Labels[7] != 7 || d.ClassNames[0] != "" {
		t.Fatal("Subset shares storage with the original")
	}
}

func TestValidate(t *testing.T) {
	good := indexed(3, 1, 2, 2)
	for _, tc := range []struct {
		name   string
		break_ func(d *Dataset)
	}{
		{"bad shape", func(d *Dataset) { d.H = 0 }},
		{"short X", func(d *Dataset) { d.X = d.X[1:] }},
		{"label too big", func(d *Dataset) { d.Labels[1] = 3 }},
		{"negative label", func(d *Dataset) { d.Labels[1] = -1 }},
		{"too many names", func(d *Dataset) { d.ClassNames = make([]string, 4) }},
	} {
		d := good.Subset([]int{0, 1, 2})
		tc.break_(d)
		if d.Validate() == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
}

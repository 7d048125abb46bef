package data

import (
	"fmt"
	"slices"
	"testing"
)

func TestLoaderEpochs(t *testing.T) {
	const n, batch = 103, 10
	for _, tc := range []struct {
		dropLast, shuffle bool
		aug               Augment
		batches, lastSize int
	}{
		{false, true, Augment{}, 11, 3},
		{true, true, Augment{}, 10, 10},
		{false, true, Augment{Flip: true, CropPad: 1}, 11, 3},
		{false, false, Augment{}, 11, 3},
	} {
		t.Run(fmt.Sprintf("drop=%v shuffle=%v aug=%+v", tc.dropLast, tc.shuffle, tc.aug), func(t *testing.T) {
			d := indexed(n, 1, 3, 3)
			l := NewLoader(d, batch, 9)
			l.DropLast, l.Shuffle, l.Augment = tc.dropLast, tc.shuffle, tc.aug
			if l.BatchesPerEpoch() != tc.batches {
				t.Fatalf("BatchesPerEpoch %d, want %d", l.BatchesPerEpoch(), tc.batches)
			}
			x := make([]float32, batch*d.ImageSize())
			y := make([]int32, batch)
			var orders [][]int32
			for epoch := range 3 {
				var order []int32
				for b := range l.BatchesPerEpoch() {
					k := l.Next(x, y)
					if l.Epoch != epoch {
						t.Fatalf("batch %d of epoch %d reports epoch %d", b, epoch, l.Epoch)
					}
					want := batch
					if b == tc.batches-1 {
						want = tc.lastSize
					}
					if k != want {
						t.Fatalf("epoch %d batch %d has %d images, want %d", epoch, b, k, want)
					}
					for i := range k {
						// The image matches its label: every pixel of image i is i, and a
						// 1-pixel crop of a 3×3 image never moves the centre out.
						if x[i*9+4] != float32(y[i]) {
							t.Fatalf("image %d of the batch is not image %d", i, y[i])
						}
					}
					order = append(order, y[:k]...)
				}
				if !l.EpochDone() {
					t.Fatal("epoch not done after BatchesPerEpoch batches")
				}
				seen := slices.Clone(order)
				slices.Sort(seen)
				if tc.dropLast {
					if len(seen) != 100 || len(slices.Compact(seen)) != 100 {
						t.Fatalf("epoch %d: %d images, want 100 distinct", epoch, len(seen))
					}
				} else {
					for i, v := range seen {
						if int(v) != i {
							t.Fatalf("epoch %d does not visit each image exactly once", epoch)
						}
					}
				}
				if !tc.shuffle && !slices.IsSorted(order) {
					t.Fatal("unshuffled loader out of order")
				}
				orders = append(orders, order)
			}
			if tc.shuffle && (slices.Equal(orders[0], orders[1]) || slices.Equal(orders[1], orders[2])) {
				t.Fatal("two epochs in the same order")
			}
		})
	}
}

func TestLoaderResume(t *testing.T) {
	d := indexed(50, 2, 4, 4)
	for i := range d.X {
		d.X[i] += float32(i%7) / 10 // give images structure, so flips and crops show
	}
	newLoader := func() *Loader {
		l := NewLoader(d, 8, 12345)
		l.Augment = Augment{Flip: true, CropPad: 2}
		return l
	}
	x := make([]float32, 8*d.ImageSize())
	y := make([]int32, 8)
	// Straight run of 20 batches (3 epochs of 7 batches, minus one).
	var straight [][]float32
	var labels [][]int32
	a := newLoader()
	for range 20 {
		k := a.Next(x, y)
		straight = append(straight, slices.Clone(x[:k*d.ImageSize()]))
		labels = append(labels, slices.Clone(y[:k]))
	}
	// Stop after 9 batches (mid-epoch) or after 7 (at an epoch's end), resume in a new loader.
	for _, stop := range []int{7, 9} {
		b := newLoader()
		for range stop {
			b.Next(x, y)
		}
		st := b.State()
		c := newLoader()
		c.Seed = 0 // SetState restores it
		c.SetState(st)
		for i := stop; i < 20; i++ {
			k := c.Next(x, y)
			if !slices.Equal(x[:k*d.ImageSize()], straight[i]) || !slices.Equal(y[:k], labels[i]) {
				t.Fatalf("resumed at %d: batch %d differs", stop, i)
			}
		}
	}
	// Another seed gives other batches.
	o := newLoader()
	o.Seed++
	o.Next(x, y)
	if slices.Equal(y, labels[0]) {
		t.Fatal("seed does not change the order")
	}
}

func TestLoaderAllocs(t *testing.T) {
	d := indexed(1000, 3, 8, 8)
	l := NewLoader(d, 64, 1)
	l.Augment = Augment{Flip: true, CropPad: 2}
	x := make([]float32, 64*d.ImageSize())
	y := make([]int32, 64)
	l.Next(x, y) // allocates the permutation once
	// 200 runs cross several epoch boundaries (16 batches per epoch).
	if allocs := testing.AllocsPerRun(200, func() { l.Next(x, y) }); allocs != 0 {
		t.Fatalf("Next allocates %v times per batch", allocs)
	}
	if l.Epoch < 5 {
		t.Fatalf("only reached epoch %d", l.Epoch)
	}
}

func TestLoaderDegenerate(t *testing.T) {
	x := make([]float32, 100)
	y := make([]int32, 10)
	l := NewLoader(indexed(3, 1, 1, 1), 5, 0)
	l.DropLast = true
	if l.BatchesPerEpoch() != 0 || l.Next(x, y) != 0 {
		t.Fatal("DropLast with fewer images than a batch should give no batch")
	}
	l = NewLoader(indexed(0, 1, 1, 1), 5, 0)
	if l.BatchesPerEpoch() != 0 || l.Next(x, y) != 0 {
		t.Fatal("empty data set should give no batch")
	}
	l = NewLoader(indexed(3, 1, 2, 2), 5, 0)
	defer func() {
		if recover() == nil {
			t.Fatal("short buffer: no panic")
		}
	}()
	l.Next(make([]float32, 11), y)
}

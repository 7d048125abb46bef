package nn

import "testing"

// TestPacking follows a training run: each step a forward pass asks Changed, and a
// training step then FlippedStale; evaluation steps ask only Changed.
func TestPacking(t *testing.T) {
	p := NewPacking(2)
	for i, c := range []struct {
		weights       []float32
		backward      bool
		changed, flip bool
	}{
		{[]float32{0, 0}, true, false, false}, // zero, as the packed copies start
		{[]float32{1, 0}, true, true, true},
		{[]float32{1, 0}, true, false, false},
		{[]float32{1, 2}, false, true, false}, // evaluation: the flipped copy waits
		{[]float32{1, 2}, false, false, false},
		{[]float32{1, 2}, true, false, true}, // ... until a backward pass
		{[]float32{1, 2}, true, false, false},
		{[]float32{1, 3}, true, true, true},
	} {
		if got := p.Changed(c.weights); got != c.changed {
			t.Errorf("step %d: Changed = %v, want %v", i, got, c.changed)
		}
		if c.backward {
			if got := p.FlippedStale(); got != c.flip {
				t.Errorf("step %d: FlippedStale = %v, want %v", i, got, c.flip)
			}
		}
	}
}

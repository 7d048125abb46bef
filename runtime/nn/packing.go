package nn

import "github.com/netc-dev/netc/runtime/kernels"

// Packing records the weights that a layer's copies of them, packed for a kernel, were
// made from. Generated code packs the weights of its direct convolutions again only when
// they have changed: for the forward pass at once, and flipped, for the input gradient,
// only when a backward pass needs them.
type Packing struct {
	from         []float32
	flippedStale bool
}

// NewPacking returns the record of n weights, all zero: the packed copies start zero
// too, so the two start out consistent.
func NewPacking(n int) Packing { return Packing{from: make([]float32, n)} }

// Changed reports whether weights differ, bit for bit, from those last recorded; if so it
// records them and marks the flipped copy stale, and the caller packs the forward copy.
func (p *Packing) Changed(weights []float32) bool {
	if !kernels.Changed(p.from, weights) {
		return false
	}
	p.flippedStale = true
	return true
}

// FlippedStale reports whether the flipped copy is older than the weights last recorded,
// and marks it up to date: the caller packs it.
func (p *Packing) FlippedStale() bool {
	stale := p.flippedStale
	p.flippedStale = false
	return stale
}

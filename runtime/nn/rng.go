package nn

import "math/rand/v2"

// RNG is a small, fast, seedable generator (SplitMix64) whose whole state is one exported
// word, so checkpoints can save and restore it exactly.
type RNG struct {
	State uint64
}

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) RNG { return RNG{State: seed} }

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.State += 0x9e3779b97f4a7c15
	z := r.State
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float32 returns a uniform number in [0, 1).
func (r *RNG) Float32() float32 { return float32(r.Uint64()>>40) / (1 << 24) }

// Float64 returns a uniform number in [0, 1).
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Intn returns a uniform integer in [0, n); n must be positive.
func (r *RNG) Intn(n int) int { return int(r.Uint64() % uint64(n)) }

// NormFloat64 returns a standard normal number, by math/rand/v2's ziggurat method drawing
// its bits from r, so the sequence depends only on the state (and initializing AlexNet's
// 61 million weights takes a fraction of a second).
func (r *RNG) NormFloat64() float64 { return rand.New(r).NormFloat64() }

// Perm fills p with a random permutation of 0..len(p)-1 (Fisher–Yates).
func (r *RNG) Perm(p []int) {
	for i := range p {
		p[i] = i
	}
	for i := len(p) - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
}

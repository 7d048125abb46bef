package data

import (
	"fmt"

	"github.com/netc-dev/netc/runtime/nn"
)

// Streams that keep the loader's derived random sequences apart.
const (
	streamShuffle = 0x5348554646 // "SHUFF"
	streamAugment = 0x4155474d   // "AUGM"
)

// Loader cuts a data set into mini-batches, epoch after epoch: each epoch it visits the
// images in a new random order (if Shuffle) and writes each batch, augmented (if Augment is
// enabled), into buffers the caller provides, allocating nothing per batch once the first
// batch has allocated the permutation.
//
// The last batch of an epoch holds the Len() mod Batch remaining images (a short batch)
// unless DropLast is set, in which case they are skipped for that epoch (they are other
// images each epoch, since the order changes).
//
// Randomness and checkpoints: the order of epoch e is rng.Perm with rng seeded from (Seed,
// e), and the augmentation of the batch starting at position p of epoch e draws from an
// rng seeded from (Seed, e, p), so the loader's whole state is Seed, Epoch and Pos
// ([Loader.State]); restoring them ([Loader.SetState]) resumes the exact same batches.
type Loader struct {
	// Data is the data set to batch; it must not change length while the loader is used.
	Data *Dataset
	// Batch is the number of images per batch.
	Batch int
	// Shuffle visits the images in a new random order each epoch; without it they come
	// in order (for evaluation).
	Shuffle bool
	// DropLast skips the short last batch of each epoch.
	DropLast bool
	// Augment is applied to each image of each batch.
	Augment Augment
	// Seed determines every shuffle and augmentation.
	Seed uint64
	// Epoch is the current epoch, counted from 0.
	Epoch int
	// Pos is the number of images of the current epoch already batched.
	Pos int

	perm      []int // the order of epoch permEpoch under permSeed, if permOK
	permEpoch int
	permSeed  uint64
	permOK    bool
}

// LoaderState is all a checkpoint needs to resume a [Loader] exactly.
type LoaderState struct {
	// Seed is the loader's Seed.
	Seed uint64 `json:"seed"`
	// Epoch is the current epoch, counted from 0.
	Epoch int `json:"epoch"`
	// Pos is the number of images of the epoch already batched.
	Pos int `json:"pos"`
}

// NewLoader returns a shuffling loader of ds in batches of batch images, seeded with seed,
// without augmentation (set Augment) and keeping short last batches (set DropLast to drop).
func NewLoader(ds *Dataset, batch int, seed uint64) *Loader {
	return &Loader{Data: ds, Batch: batch, Shuffle: true, Seed: seed}
}

// State returns the loader's position and seed.
func (l *Loader) State() LoaderState { return LoaderState{Seed: l.Seed, Epoch: l.Epoch, Pos: l.Pos} }

// SetState restores a position and seed saved by State.
func (l *Loader) SetState(s LoaderState) { l.Seed, l.Epoch, l.Pos = s.Seed, s.Epoch, s.Pos }

// epochSize returns the number of images batched per epoch.
func (l *Loader) epochSize() int {
	n := l.Data.Len()
	if l.Batch <= 0 {
		return 0
	}
	if l.DropLast {
		return n / l.Batch * l.Batch
	}
	return n
}

// BatchesPerEpoch returns the number of batches in one epoch.
func (l *Loader) BatchesPerEpoch() int {
	if l.Batch <= 0 {
		return 0
	}
	return (l.epochSize() + l.Batch - 1) / l.Batch
}

// EpochDone reports whether the current epoch has no batch left; the next call of Next
// then starts the next epoch.
func (l *Loader) EpochDone() bool { return l.Pos >= l.epochSize() }

// Next writes the next batch into x (at least Batch*C*H*W floats) and labels (at least Batch)
// and returns the number n of images written: x[:n*C*H*W] and labels[:n] hold the batch. n is
// Batch except for a short last batch (when DropLast is unset). When the current epoch is
// done, Next first moves to the next epoch (Epoch+1, Pos 0). It returns 0 only if an epoch
// has no batch at all (an empty data set, Batch ≤ 0, or DropLast with fewer than Batch
// images). It panics if x or labels is too short.
func (l *Loader) Next(x []float32, labels []int32) int {
	size := l.epochSize()
	if size == 0 {
		return 0
	}
	if l.Pos >= size || l.Pos < 0 {
		l.Epoch++
		l.Pos = 0
	}
	n := min(l.Batch, size-l.Pos)
	chw := l.Data.ImageSize()
	if len(x) < n*chw || len(labels) < n {
		panic(fmt.Sprintf("data: Loader.Next: buffers of %d floats and %d labels for a batch of %d images of %d floats",
			len(x), len(labels), n, chw))
	}
	l.ensurePerm()
	aug := l.Augment.Enabled()
	var rng nn.RNG
	if aug {
		rng = nn.NewRNG(deriveSeed(l.Seed, streamAugment, uint64(l.Epoch), uint64(l.Pos)))
	}
	for i := 0; i < n; i++ {
		j := l.Pos + i
		if l.Shuffle {
			j = l.perm[j]
		}
		dst := x[i*chw : (i+1)*chw]
		if aug {
			l.Augment.Apply(&rng, dst, l.Data.Image(j), l.Data.C, l.Data.H, l.Data.W)
		} else {
			copy(dst, l.Data.Image(j))
		}
		labels[i] = l.Data.Labels[j]
	}
	l.Pos += n
	return n
}

// ensurePerm makes l.perm the order of the current epoch (when shuffling).
func (l *Loader) ensurePerm() {
	if !l.Shuffle {
		return
	}
	n := l.Data.Len()
	if len(l.perm) != n {
		l.perm = make([]int, n)
		l.permOK = false
	}
	if l.permOK && l.permEpoch == l.Epoch && l.permSeed == l.Seed {
		return
	}
	rng := nn.NewRNG(deriveSeed(l.Seed, streamShuffle, uint64(l.Epoch), 0))
	rng.Perm(l.perm)
	l.permEpoch, l.permSeed, l.permOK = l.Epoch, l.Seed, true
}

// deriveSeed hashes a seed and three words into a new seed, chaining SplitMix64 steps.
func deriveSeed(seed, stream, a, b uint64) uint64 {
	r := nn.NewRNG(seed)
	h := r.Uint64()
	for _, w := range [3]uint64{stream, a, b} {
		r = nn.NewRNG(h ^ w)
		h = r.Uint64()
	}
	return h
}

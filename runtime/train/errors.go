package train

import (
	"fmt"
	"math"
	"strings"
)

// DivergedError is returned by Train when the loss of a mini-batch is NaN or infinite,
// or exceeds Config.Divergence times the initial loss: the run stopped at once, without
// applying that batch's update and without overwriting the last checkpoint.
type DivergedError struct {
	// Iter is the 1-based iteration whose loss diverged; Epoch its 1-based epoch.
	Iter, Epoch int
	// Loss is the diverged loss; Initial the loss of the run's first batch.
	Loss, Initial float64
	// Factor is Config.Divergence.
	Factor float64
	// LR is the learning rate of the iteration.
	LR float32
	// Checkpoint is the last good checkpoint, kept as it was ("" if none was written).
	Checkpoint string
}

// Error names the likely cause, e.g. "loss 7.9 exceeds 3× the initial 2.30 at
// iteration 12: the learning rate (10) is probably too high".
func (e *DivergedError) Error() string {
	var b strings.Builder
	switch {
	case e.Iter == 1 && !finite(e.Loss):
		fmt.Fprintf(&b, "the initial loss is %v: check the data (NaN or huge values?) and the initialization", e.Loss)
	case !finite(e.Loss):
		fmt.Fprintf(&b, "loss %v at iteration %d (epoch %d): the learning rate (%g) is probably too high", e.Loss, e.Iter, e.Epoch, e.LR)
	default:
		fmt.Fprintf(&b, "loss %.4g exceeds %g× the initial %.2f at iteration %d (epoch %d): the learning rate (%g) is probably too high",
			e.Loss, e.Factor, e.Initial, e.Iter, e.Epoch, e.LR)
	}
	if e.Checkpoint != "" {
		fmt.Fprintf(&b, "; the last good checkpoint is %s", e.Checkpoint)
	}
	return b.String()
}

// OverfitError is returned by Train in overfit mode (Config.Overfit) when the network
// did not reach 100% accuracy on its few training images: the lecture's sign that
// something is broken (a learning rate far too low or too high, a bug in the gradients,
// or labels that do not match the images).
type OverfitError struct {
	// N is the number of training images; Iters the iterations run.
	N, Iters int
	// Acc is the best training accuracy reached; Loss the last training loss.
	Acc, Loss float64
	// LR is the learning rate used.
	LR float32
}

// Error says what was reached and what to suspect.
func (e *OverfitError) Error() string {
	hint := "the learning rate (%g) may be too low, or the gradients wrong"
	if !finite(e.Loss) || e.Loss > 2*math.Log(10) {
		hint = "the learning rate (%g) may be too high, or the gradients wrong"
	}
	return fmt.Sprintf("overfit check failed: training accuracy %.4f, not 1, on %d images after %d iterations (loss %.4g): "+hint,
		e.Acc, e.N, e.Iters, e.Loss, e.LR)
}

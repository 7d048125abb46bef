// Package tune searches a network's learning rate and regularization strength the way the
// lecture recommends: at random, in log space, coarse to fine. Each trial is a short
// training run (a few epochs on a sample of the training set) scored by its validation
// accuracy; trials whose loss exceeds 3× the initial loss are abandoned at once. A second
// stage samples narrower ranges around the best trials of the first.
//
// netc tune runs Main as the tune subcommand of the program it builds from a spec (see
// package cli).
package tune

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/train"
)

// Options control a search.
type Options struct {
	// Trials is the number of trials of the coarse stage; Fine that of the fine stage.
	Trials, Fine int
	// LR and Reg are the coarse ranges of log10 of the learning rate and of the L2
	// strength.
	LR, Reg [2]float64
	// Seed makes the search reproducible: it draws the settings and seeds every trial.
	Seed uint64
	// Parallel is the number of trials run at once.
	Parallel int
}

// DefaultOptions searches lr in [1e-4, 1] and L2 in [1e-6, 1e-2] with 12 + 6 trials.
func DefaultOptions() Options {
	return Options{Trials: 12, Fine: 6, LR: [2]float64{-4, 0}, Reg: [2]float64{-6, -2}, Seed: 1, Parallel: 2}
}

// Trial is one short training run.
type Trial struct {
	// N is the trial's number (1-based; 0 for the spec's own settings) and Stage 1
	// (coarse), 2 (fine) or 0 (the spec's settings).
	N, Stage int
	LR, Reg  float64
	// ValAcc is the final validation accuracy (0 when the run diverged or failed).
	ValAcc float64
	// Diverged is set when the run was abandoned: loss NaN, infinite or above 3× the
	// initial loss.
	Diverged bool
	// Err is any other failure.
	Err error
}

// Search runs the coarse and the fine stage on copies of the training and validation
// sets and returns every trial sorted by validation accuracy, best first, with trial 0,
// the spec's own settings (base), among them for comparison. base is the configuration
// each trial starts from (its epochs set the length of a trial).
func Search(newNet func(seed uint64) nn.Network, trainSet, valSet *data.Dataset, base train.Config, o Options) ([]Trial, error) {
	if o.Trials < 1 || o.Parallel < 1 {
		return nil, errors.New("tune: need at least one trial and one at a time")
	}
	rng := nn.NewRNG(o.Seed)
	coarse := sample(&rng, o.Trials, o.LR, o.Reg, 1, 1)
	// Trial 0 is the spec's own settings, the baseline the search has to beat.
	coarse = append(coarse, Trial{N: 0, Stage: 0, LR: float64(base.LR), Reg: float64(base.Optimizer.WeightDecay)})
	run(newNet, trainSet, valSet, base, coarse, o)
	sorted := best(coarse)
	var fine []Trial
	if o.Fine > 0 && sorted[0].OK() && sorted[0].ValAcc > 0 {
		// Around the best three: half a decade either way.
		for i, t := range sorted[:min(3, len(sorted))] {
			n := o.Fine / 3
			if i < o.Fine%3 {
				n++
			}
			lr, reg := math.Log10(t.LR), math.Log10(t.Reg)
			fine = append(fine, sample(&rng, n, [2]float64{lr - 0.5, lr + 0.5}, [2]float64{reg - 0.5, reg + 0.5}, 2, o.Trials+len(fine)+1)...)
		}
		run(newNet, trainSet, valSet, base, fine, o)
	}
	return best(append(coarse, fine...)), nil
}

// sample draws n settings uniformly in log space.
func sample(rng *nn.RNG, n int, lr, reg [2]float64, stage, first int) []Trial {
	ts := make([]Trial, n)
	for i := range ts {
		ts[i] = Trial{N: first + i, Stage: stage,
			LR:  math.Pow(10, lr[0]+(lr[1]-lr[0])*rng.Float64()),
			Reg: math.Pow(10, reg[0]+(reg[1]-reg[0])*rng.Float64())}
	}
	return ts
}

// run trains every trial, o.Parallel at a time, each on its own copy of the data (Train
// normalizes its sets in place). Each trial is seeded by its number, so results do not
// depend on which trials run together.
func run(newNet func(seed uint64) nn.Network, trainSet, valSet *data.Dataset, base train.Config, trials []Trial, o Options) {
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i := range trials {
		t := &trials[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cfg := base
			cfg.LR, cfg.Optimizer.WeightDecay = float32(t.LR), float32(t.Reg)
			cfg.Seed = o.Seed*1000 + uint64(t.N)
			cfg.RunDir, cfg.Resume, cfg.Threads = "", "", 0
			res, err := train.Train(newNet(cfg.Seed), clone(trainSet), clone(valSet), nil, cfg, nil)
			var div *train.DivergedError
			switch {
			case errors.As(err, &div):
				t.Diverged = true
			case err != nil:
				t.Err = err
			default:
				t.ValAcc = res.ValAcc
			}
		}()
	}
	wg.Wait()
}

func clone(ds *data.Dataset) *data.Dataset {
	idx := make([]int, ds.Len())
	for i := range idx {
		idx[i] = i
	}
	return ds.Subset(idx)
}

// OK reports whether the trial ran to its end: it neither diverged nor failed.
func (t Trial) OK() bool { return !t.Diverged && t.Err == nil }

// best returns the trials sorted by validation accuracy, best first (ties by number),
// trials that diverged or failed last.
func best(ts []Trial) []Trial {
	out := slices.Clone(ts)
	slices.SortStableFunc(out, func(a, b Trial) int {
		if a.OK() != b.OK() {
			if a.OK() {
				return -1
			}
			return 1
		}
		if a.ValAcc != b.ValAcc {
			if a.ValAcc > b.ValAcc {
				return -1
			}
			return 1
		}
		return a.N - b.N
	})
	return out
}

// Best returns the best of trials sorted as Search returns them: the first that ran to
// its end. When every trial diverged or failed there is no best, and the error says so
// with the first failure's cause.
func Best(trials []Trial) (Trial, error) {
	if len(trials) > 0 && trials[0].OK() {
		return trials[0], nil
	}
	for _, t := range trials {
		if t.Err != nil {
			return Trial{}, fmt.Errorf("tune: every one of the %d trials diverged or failed, "+
				"so there are no best settings; trial %d: %w", len(trials), t.N, t.Err)
		}
	}
	return Trial{}, fmt.Errorf("tune: every one of the %d trials diverged, so there are no best settings; "+
		"try smaller learning rates", len(trials))
}

// PrintTable writes the trials as the lecture's table: val_acc, lr, reg, trial.
func PrintTable(w io.Writer, ts []Trial) {
	fmt.Fprintf(w, "%-8s  %-9s  %-9s  %s\n", "val_acc", "lr", "reg", "trial")
	for _, t := range ts {
		note := ""
		switch {
		case t.Diverged:
			note = "  diverged"
		case t.Err != nil:
			note = "  failed: " + t.Err.Error()
		}
		trial := fmt.Sprintf("%d/%d stage %d", t.N, len(ts)-1, t.Stage)
		if t.Stage == 0 {
			trial = "0 (the spec's settings)"
		}
		fmt.Fprintf(w, "%-8.4f  %-9.3e  %-9.3e  %s%s\n", t.ValAcc, t.LR, t.Reg, trial, note)
	}
}

// Section returns a spec's [train] section: the network's own settings with lr and l2
// replaced by the best trial's.
func Section(info *nn.Info, t Trial) string {
	var b strings.Builder
	b.WriteString("[train]\n")
	for _, s := range info.Train {
		if s.Key == "lr" || s.Key == "l2" {
			continue
		}
		fmt.Fprintf(&b, "%s %s\n", s.Key, strings.Join(s.Values, " "))
	}
	fmt.Fprintf(&b, "lr %s\nl2 %s\n", strconv.FormatFloat(t.LR, 'g', 3, 64), strconv.FormatFloat(t.Reg, 'g', 3, 64))
	return b.String()
}

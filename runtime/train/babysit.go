package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/monitor"
	"github.com/netc-dev/netc/runtime/train/settings"
)

// ExitNotLearning is Main's exit status when the run finished but did not learn (see
// NotLearning): the loss did not fall below the initial loss, or the accuracy stayed at
// chance.
const ExitNotLearning = 3

// Cause is the likely reason why a run does not learn, in the lecture's terms.
type Cause int

// The causes Diagnose tells apart.
const (
	// LRTooHigh: the loss exploded or rose, or the network gives every image one class,
	// or the loss fell and the accuracy stayed at chance (dead units).
	LRTooHigh Cause = iota + 1
	// LRTooLow: the loss barely moved.
	LRTooLow
	// TooMuchRegularization: the regularization term outweighed the data loss.
	TooMuchRegularization
)

// Thresholds of the diagnosis.
const (
	// chanceMargin: an accuracy below chance + chanceMargin·(1 − chance) is at chance.
	chanceMargin = 0.05
	// spikeFactor: a batch loss of spikeFactor times the initial loss means the loss
	// exploded (Config.Divergence, 3 by default, stops the run; this is below it).
	spikeFactor = 2
	// regShareMax: regularization is too strong when its term was this share of the
	// total loss at the start.
	regShareMax = 0.2
	// barelyMoved: the loss barely moved when it changed by less than this fraction of
	// the initial loss.
	barelyMoved = 0.1
	// minDiagnoseIters: a run of fewer iterations is too short to tell; it is not checked.
	minDiagnoseIters = 20
	// collapseShare: a network that gives this share of the images one class is dead.
	collapseShare = 0.9
)

// NotLearning is the diagnosis of a run that does not learn, the lecture's
// "babysitting": after an epoch, the loss has not fallen below the initial loss, or the
// accuracy is at chance (the share of the most frequent class). Its String names the
// likely cause and the flag to change.
type NotLearning struct {
	// Epoch is the epoch after which the run was checked (the last one at the end).
	Epoch int
	// Loss is the epoch's mean training loss, Initial the loss of the first batch.
	Loss, Initial float64
	// Acc is the accuracy checked, on the set named by AccOf ("val", "train" or "test"),
	// and Chance the share of that set's most frequent class.
	Acc, Chance float64
	AccOf       string
	// Peak is the highest batch loss from the second iteration on (of this process, when
	// resumed), at iteration PeakIter.
	Peak     float64
	PeakIter int
	// RegShare is the regularization term's share of the total loss at the start.
	RegShare float64
	// Collapsed is the share of the checked images predicted as one class, CollapsedTo
	// (0 when the predictions were not counted, as for the training accuracy).
	Collapsed   float64
	CollapsedTo string
	// Cause is the likely cause; Flag the flag to change and Suggest a value to try.
	Cause   Cause
	Flag    string
	Value   float32 // the flag's current value
	Suggest float32
}

// String says on two lines what is wrong, why, and what to try:
//
//	the network is not learning after epoch 1: val accuracy 0.0916 is at chance (0.1126), loss …;
//	  the loss jumped to 7.107, 2.81× the initial, at iteration 2: the learning rate is too high; try --lr 0.5 (now 5)
func (d *NotLearning) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the network is not learning after epoch %d: %s accuracy %.4f", d.Epoch, d.AccOf, d.Acc)
	if atChance(d.Acc, d.Chance) {
		fmt.Fprintf(&b, " is at chance (%.4f)", d.Chance)
	}
	fmt.Fprintf(&b, ", loss %.4f against %.4f at the start;\n  ", d.Loss, d.Initial)
	switch {
	case d.Cause == LRTooHigh && d.Peak >= spikeFactor*d.Initial:
		fmt.Fprintf(&b, "the loss jumped to %.4g, %.2f× the initial, at iteration %d: the learning rate is too high",
			d.Peak, d.Peak/d.Initial, d.PeakIter)
	case d.Cause == LRTooHigh && d.Collapsed >= collapseShare:
		fmt.Fprintf(&b, "the network gives %.0f%% of the images class %s (dead units): the learning rate is too high",
			100*d.Collapsed, d.CollapsedTo)
	case d.Cause == LRTooHigh && d.Loss > d.Initial:
		fmt.Fprintf(&b, "the loss rose (%+.1f%%): the learning rate is too high", 100*(d.Loss-d.Initial)/d.Initial)
	case d.Cause == LRTooHigh:
		b.WriteString("the loss fell but the accuracy stays at chance: the learning rate is probably too high (dead units)")
	case d.Cause == LRTooLow:
		fmt.Fprintf(&b, "the loss barely moved (%+.1f%%): the learning rate is too low", 100*(d.Loss-d.Initial)/d.Initial)
	case d.Cause == TooMuchRegularization:
		fmt.Fprintf(&b, "the regularization term was %.0f%% of the total loss at the start: regularization is too strong",
			100*d.RegShare)
	}
	fmt.Fprintf(&b, "; try --%s %s (now %s)", d.Flag, settings.FormatF32(d.Suggest), settings.FormatF32(d.Value))
	return b.String()
}

// atChance reports whether accuracy acc is no better than chance, the share of the
// most frequent class.
func atChance(acc, chance float64) bool {
	return acc < chance+chanceMargin*(1-chance)
}

// chanceOf returns the share of the most frequent class of ds (NaN when empty).
func chanceOf(ds *data.Dataset) float64 {
	if ds == nil || ds.Len() == 0 {
		return math.NaN()
	}
	counts := map[int32]int{}
	most := 0
	for _, l := range ds.Labels {
		counts[l]++
		most = max(most, counts[l])
	}
	return float64(most) / float64(ds.Len())
}

// measured is an accuracy that diagnose checks: its value, the set it was measured on
// ("val", "train" or "test"), that set's chance level, and its predictions (nil when
// not counted).
type measured struct {
	acc, chance float64
	of          string
	conf        *monitor.Confusion
}

// accuracyToCheck returns the accuracy that diagnose checks after an epoch: the
// validation accuracy val if measured (with its predictions valConf), else the
// training accuracy train.
func (t *trainer) accuracyToCheck(train, val float64, valSet *data.Dataset, valConf *monitor.Confusion) measured {
	if !math.IsNaN(val) {
		return measured{val, chanceOf(valSet), "val", valConf}
	}
	return measured{train, t.trainChance, "train", nil}
}

// diagnose checks a finished epoch of mean training loss loss against the accuracy m,
// and returns the diagnosis if the run is not learning, else nil. The loss is checked
// against the initial loss only when the run started from fresh weights (with
// Config.Weights the initial loss is the pretrained network's) and loss is a number.
// Runs of fewer than minDiagnoseIters iterations are not checked.
func (t *trainer) diagnose(epoch int, loss float64, m measured) *NotLearning {
	if t.iter < minDiagnoseIters {
		return nil
	}
	lossStuck := t.cfg.Weights == "" && !math.IsNaN(loss) && loss >= t.initialLoss
	chanceAcc := !math.IsNaN(m.acc) && atChance(m.acc, m.chance)
	if !finite(t.initialLoss) || !(lossStuck || chanceAcc) {
		return nil
	}
	d := &NotLearning{Epoch: epoch, Loss: loss, Initial: t.initialLoss, Acc: m.acc, Chance: m.chance, AccOf: m.of,
		Peak: t.peakLoss, PeakIter: t.peakIter, Flag: "lr", Value: t.cfg.LR}
	if t.regStart > 0 {
		d.RegShare = t.regStart / (t.regStart + t.initialLoss)
	}
	if m.conf != nil {
		var class int
		class, d.Collapsed = m.conf.MostPredicted()
		d.CollapsedTo = m.conf.Names[class]
	}
	opt := t.cfg.Optimizer
	switch {
	case d.Peak >= spikeFactor*d.Initial:
		d.Cause, d.Suggest = LRTooHigh, d.Value/10
	case d.RegShare >= regShareMax:
		d.Cause, d.Flag, d.Value = TooMuchRegularization, "l2", opt.WeightDecay
		if opt.L1 > 0 && (opt.WeightDecay == 0 || opt.L1 > opt.WeightDecay) {
			d.Flag, d.Value = "l1", opt.L1
		}
		d.Suggest = d.Value / 10
	case d.Collapsed < collapseShare && math.Abs(d.Initial-d.Loss) < barelyMoved*d.Initial:
		d.Cause, d.Suggest = LRTooLow, d.Value*10
	default:
		d.Cause, d.Suggest = LRTooHigh, d.Value/10
	}
	return d
}

// regLoss returns the regularization term of the loss at params, the sum over the
// learned tensors of wd/2·‖w‖² + l1·‖w‖₁ (with each tensor's coefficients).
func (o *Optimizer) regLoss(params []float32) float64 {
	var sum float64
	for _, t := range o.tensors {
		if t.lrMult == 0 || (t.wd == 0 && t.l1 == 0) {
			continue
		}
		var sq, abs float64
		for _, w := range params[t.off : t.off+t.size] {
			sq += float64(w) * float64(w)
			abs += math.Abs(float64(w))
		}
		sum += float64(t.wd)/2*sq + float64(t.l1)*abs
	}
	return sum
}

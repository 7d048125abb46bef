package settings

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// schedule kinds.
const (
	kindConstant = iota
	kindStep
	kindMultistep
	kindExp
	kindNatExp
	kindInv
	kindSqrt
	kindPoly
	kindCosine
)

// Schedule gives the learning rate of every iteration: the base rate times the decay of
// the chosen kind, times the warm-up factor during warm-up. It is a pure function of the
// iteration count, so a resumed run gets exactly the rates of an uninterrupted one. Epoch
// units are converted to iterations when the schedule is parsed. Build one with
// ParseSchedule or ConstantSchedule; the zero value gives 0 at every iteration.
type Schedule struct {
	kind       int
	base       float64
	gamma      float64 // step, multistep, exp: factor; natexp: k; inv: gamma
	power      float64 // inv, poly
	every      int     // step: period in iterations
	unit       float64 // exp (integer), natexp, inv: iterations per time unit
	milestones []int   // multistep, in iterations, increasing
	total      int     // sqrt, poly, cosine: horizon T in iterations
	min        float64 // cosine: the rate it anneals to
	warm       Warmup
	text       string
}

// Warmup is a linear learning-rate warm-up: over the first Iters iterations the scheduled
// rate is multiplied by Start + (1−Start)·iter/Iters, which climbs from Start at iteration 0
// towards 1; from iteration Iters on the factor is 1. The zero value is no warm-up.
type Warmup struct {
	// Iters is the length of the warm-up in iterations; 0 turns it off.
	Iters int
	// Start is the factor at iteration 0, in [0, 1].
	Start float32
}

// ConstantSchedule returns the schedule that always gives base.
func ConstantSchedule(base float32) Schedule {
	return Schedule{kind: kindConstant, base: float64(base), text: "constant"}
}

// LR returns the learning rate for the update that follows iter completed updates
// (iter 0 is the first update). Negative iterations count as 0.
func (s Schedule) LR(iter int) float32 {
	iter = max(iter, 0)
	t := float64(iter)
	f := 1.0
	switch s.kind {
	case kindStep:
		f = math.Pow(s.gamma, float64(iter/s.every))
	case kindMultistep:
		k := 0
		for _, m := range s.milestones {
			if iter >= m {
				k++
			}
		}
		f = math.Pow(s.gamma, float64(k))
	case kindExp:
		f = math.Pow(s.gamma, float64(iter/int(s.unit)))
	case kindNatExp:
		f = math.Exp(-s.gamma * t / s.unit)
	case kindInv:
		f = math.Pow(1+s.gamma*t/s.unit, -s.power)
	case kindSqrt:
		f = math.Sqrt(max(0, 1-t/float64(s.total)))
	case kindPoly:
		f = math.Pow(max(0, 1-t/float64(s.total)), s.power)
	case kindCosine:
		// PyTorch's CosineAnnealingLR: min + (base − min)·(1 + cos(π·t/T))/2, min from T on.
		c := (1 + math.Cos(math.Pi*min(t, float64(s.total))/float64(s.total))) / 2
		if s.base > 0 {
			f = (s.min + (s.base-s.min)*c) / s.base
		}
	}
	if iter < s.warm.Iters {
		st := float64(s.warm.Start)
		f *= st + (1-st)*t/float64(s.warm.Iters)
	}
	return float32(s.base * f)
}

// Base returns the base learning rate.
func (s Schedule) Base() float32 { return float32(s.base) }

// Warmup returns the schedule's warm-up.
func (s Schedule) Warmup() Warmup { return s.warm }

// WithWarmup returns a copy of s with the given warm-up.
func (s Schedule) WithWarmup(w Warmup) Schedule {
	s.warm = w
	return s
}

// String describes the schedule in the settings grammar, e.g. "step 0.1 every 10 epochs"
// or "constant; warmup 500 iterations from 0".
func (s Schedule) String() string {
	text := s.text
	if text == "" {
		text = "constant"
	}
	if s.warm.Iters > 0 {
		text += fmt.Sprintf("; warmup %d iterations from %g", s.warm.Iters, s.warm.Start)
	}
	return text
}

// scanner walks the words of one setting line, for error messages that name the word.
type scanner struct {
	words []string
	i     int
	ctx   string // "schedule step", "warmup", ...
}

func (p *scanner) more() bool { return p.i < len(p.words) }

// peek returns the next word, lower-cased, or "" at the end.
func (p *scanner) peek() string {
	if p.i < len(p.words) {
		return strings.ToLower(p.words[p.i])
	}
	return ""
}

// errorAt returns an error about words[at] (at = len(words) for a missing word).
func (p *scanner) errorAt(at int, format string, args ...any) error {
	return &wordError{word: at, msg: p.ctx + ": " + fmt.Sprintf(format, args...)}
}

// errorf returns an error about the next word.
func (p *scanner) errorf(format string, args ...any) error { return p.errorAt(p.i, format, args...) }

// number reads a finite number, returning its index; what names it in errors ("gamma").
func (p *scanner) number(what string) (float64, int, error) {
	if !p.more() {
		return 0, p.i, p.errorf("missing %s", what)
	}
	w := p.words[p.i]
	v, err := strconv.ParseFloat(w, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, p.i, p.errorf("%s %q is not a number", what, w)
	}
	p.i++
	return v, p.i - 1, nil
}

// positive reads a number > 0.
func (p *scanner) positive(what string) (float64, error) {
	v, at, err := p.number(what)
	if err == nil && !(v > 0) {
		err = p.errorAt(at, "%s %q must be positive", what, p.words[at])
	}
	return v, err
}

// keyword consumes the word want or fails naming what was found.
func (p *scanner) keyword(want string) error {
	if !p.more() {
		return p.errorf("missing %q", want)
	}
	if p.peek() != want {
		return p.errorf("expected %q, found %q", want, p.words[p.i])
	}
	p.i++
	return nil
}

// unitWord reports whether w names a time unit, and whether it is epochs.
func unitWord(w string) (ok, epochs bool) {
	switch w {
	case "epoch", "epochs":
		return true, true
	case "iteration", "iterations", "iter", "iters":
		return true, false
	}
	return false, false
}

// unit reads a time unit word.
func (p *scanner) unit() (epochs bool, err error) {
	if !p.more() {
		return false, p.errorf("missing unit (epochs or iterations)")
	}
	ok, epochs := unitWord(p.peek())
	if !ok {
		return false, p.errorf("%q is not a unit (want epochs or iterations)", p.words[p.i])
	}
	p.i++
	return epochs, nil
}

// per reads an optional "per UNIT" and returns the iterations per unit: itersPerEpoch
// for epochs, 1 for iterations, or def when absent.
func (p *scanner) per(def bool, ipe int) (float64, error) {
	epochs := def
	if p.peek() == "per" {
		p.i++
		var err error
		if epochs, err = p.unit(); err != nil {
			return 0, err
		}
	}
	if !epochs {
		return 1, nil
	}
	if ipe <= 0 {
		return 0, p.errorAt(p.i-1, "a rate per epoch needs the iterations per epoch, which are unknown (%d)", ipe)
	}
	return float64(ipe), nil
}

// toIters converts the count v, words[at], in the given unit to iterations: epochs may be
// fractional and round to the nearest iteration, iterations must be whole.
func (p *scanner) toIters(v float64, at int, epochs bool, ipe int) (int, error) {
	if epochs {
		if ipe <= 0 {
			return 0, p.errorAt(at, "%q epochs needs the iterations per epoch, which are unknown (%d)", p.words[at], ipe)
		}
		return int(math.Round(v * float64(ipe))), nil
	}
	if v != math.Trunc(v) || v > math.MaxInt32 {
		return 0, p.errorAt(at, "%q is not a whole number of iterations", p.words[at])
	}
	return int(v), nil
}

// over reads an optional "over N UNIT" horizon, else returns totalIters.
func (p *scanner) over(ipe, totalIters int) (int, error) {
	total := totalIters
	if p.peek() == "over" {
		p.i++
		v, at, err := p.number("horizon")
		if err != nil {
			return 0, err
		}
		epochs, err := p.unit()
		if err != nil {
			return 0, err
		}
		if total, err = p.toIters(v, at, epochs, ipe); err != nil {
			return 0, err
		}
		if total <= 0 {
			return 0, p.errorAt(at, "horizon %q is less than one iteration", p.words[at])
		}
	}
	if total <= 0 {
		return 0, p.errorAt(-1, "needs the total number of iterations, which is unknown (%d); "+
			"say \"over N epochs\"", totalIters)
	}
	return total, nil
}

// ParseSchedule parses the words of a schedule setting (see the package documentation
// for the grammar), e.g. strings.Fields("step 0.1 every 10 epochs"); a leading "schedule"
// word is skipped and no words at all mean constant. base is the base learning rate,
// itersPerEpoch converts epochs to iterations and totalIters is the run's length, the
// default horizon of sqrt and poly. Errors name the offending word.
func ParseSchedule(words []string, base float32, itersPerEpoch, totalIters int) (Schedule, error) {
	first := 0 // the kind's index
	if len(words) > 0 && strings.EqualFold(words[0], "schedule") {
		first = 1
	}
	if b := float64(base); math.IsNaN(b) || math.IsInf(b, 0) || b < 0 {
		return Schedule{}, fmt.Errorf("schedule: base learning rate %g must be a finite number ≥ 0", base)
	}
	s := Schedule{base: float64(base), unit: 1}
	if len(words) == first {
		s.text = "constant"
		return s, nil
	}
	kind := strings.ToLower(words[first])
	p := &scanner{words: words, i: first + 1, ctx: "schedule " + kind}
	var err error
	switch kind {
	case "constant":
		s.kind = kindConstant
	case "step":
		s.kind = kindStep
		s.every, err = p.step(&s.gamma, itersPerEpoch)
	case "multistep":
		s.kind = kindMultistep
		s.milestones, err = p.multistep(&s.gamma, itersPerEpoch)
	case "exp":
		s.kind = kindExp
		if s.gamma, err = p.positive("gamma"); err == nil {
			s.unit, err = p.per(true, itersPerEpoch)
		}
	case "natexp":
		s.kind = kindNatExp
		if s.gamma, err = p.positive("k"); err == nil {
			s.unit, err = p.per(true, itersPerEpoch)
		}
	case "inv", "1/t":
		s.kind = kindInv
		s.power = 1
		if s.gamma, err = p.positive("gamma"); err != nil {
			break
		}
		if kind == "inv" && p.more() && p.peek() != "per" {
			if s.power, err = p.positive("power"); err != nil {
				break
			}
		}
		s.unit, err = p.per(false, itersPerEpoch)
	case "sqrt":
		s.kind = kindSqrt
		s.total, err = p.over(itersPerEpoch, totalIters)
	case "poly":
		s.kind = kindPoly
		if s.power, err = p.positive("power"); err == nil {
			s.total, err = p.over(itersPerEpoch, totalIters)
		}
	case "cosine":
		s.kind = kindCosine
		if s.min, err = p.cosineMin(s.base); err == nil {
			s.total, err = p.over(itersPerEpoch, totalIters)
		}
	default:
		msg := fmt.Sprintf("schedule: %q is not a kind of schedule; the kinds are %s", words[first], scheduleKinds)
		return Schedule{}, &wordError{word: first, msg: msg}
	}
	if err != nil {
		return Schedule{}, err
	}
	if p.more() {
		return Schedule{}, p.errorf("unexpected %q", p.words[p.i])
	}
	lower := make([]string, 0, len(words)-first)
	for _, w := range words[first:] {
		lower = append(lower, strings.ToLower(w))
	}
	s.text = strings.Join(lower, " ")
	return s, nil
}

// scheduleKinds lists the kinds ParseSchedule knows, for error messages.
const scheduleKinds = "constant, step, multistep, exp, natexp, inv, 1/t, sqrt, poly and cosine"

// cosineMin reads cosine's optional "to MIN", MIN in [0, base]; 0 when absent.
func (p *scanner) cosineMin(base float64) (float64, error) {
	if p.peek() != "to" {
		return 0, nil
	}
	p.i++
	v, at, err := p.number("minimum")
	if err == nil && (v < 0 || v > base) {
		err = p.errorAt(at, "minimum %q must be between 0 and the base learning rate %g", p.words[at], float32(base))
	}
	return v, err
}

// step reads "G every N UNIT" into gamma and returns the period in iterations.
func (p *scanner) step(gamma *float64, ipe int) (int, error) {
	var err error
	if *gamma, err = p.positive("gamma"); err != nil {
		return 0, err
	}
	if err = p.keyword("every"); err != nil {
		return 0, err
	}
	v, at, err := p.number("period")
	if err != nil {
		return 0, err
	}
	epochs, err := p.unit()
	if err != nil {
		return 0, err
	}
	every, err := p.toIters(v, at, epochs, ipe)
	if err == nil && every < 1 {
		err = p.errorAt(at, "period %q is less than one iteration", p.words[at])
	}
	return every, err
}

// multistep reads "G at M1 M2 … UNIT" into gamma and returns the milestones in
// iterations.
func (p *scanner) multistep(gamma *float64, ipe int) ([]int, error) {
	var err error
	if *gamma, err = p.positive("gamma"); err != nil {
		return nil, err
	}
	if err = p.keyword("at"); err != nil {
		return nil, err
	}
	var vals []float64
	var ats []int
	for p.more() {
		if ok, _ := unitWord(p.peek()); ok {
			break
		}
		v, at, nerr := p.number("milestone")
		if nerr != nil {
			return nil, p.errorAt(at, "%q is neither a milestone nor a unit (epochs or iterations)", p.words[at])
		}
		vals, ats = append(vals, v), append(ats, at)
	}
	if len(vals) == 0 {
		return nil, p.errorf("no milestones after \"at\"")
	}
	epochs, err := p.unit()
	if err != nil {
		return nil, err
	}
	var milestones []int
	prev := 0
	for k, v := range vals {
		m, err := p.toIters(v, ats[k], epochs, ipe)
		if err != nil {
			return nil, err
		}
		if m <= prev {
			return nil, p.errorAt(ats[k], "milestone %q is not after the one before it "+
				"(milestones start after iteration 0 and increase)", p.words[ats[k]])
		}
		milestones = append(milestones, m)
		prev = m
	}
	return milestones, nil
}

// ParseWarmup parses the words of a warm-up setting: "N [UNIT] [from F]", e.g.
// strings.Fields("500"), "2 epochs" or "500 iterations from 0.1"; a leading "warmup" word
// is skipped. UNIT defaults to iterations and F, the starting factor, to 0. "0" turns
// warm-up off. Errors name the offending word.
func ParseWarmup(words []string, itersPerEpoch int) (Warmup, error) {
	p := &scanner{words: words, ctx: "warmup"}
	if len(words) > 0 && strings.EqualFold(words[0], "warmup") {
		p.i = 1
	}
	v, at, err := p.number("length")
	if err != nil {
		return Warmup{}, err
	}
	if v < 0 {
		return Warmup{}, p.errorAt(at, "length %q is negative", p.words[at])
	}
	epochs := false
	if ok, _ := unitWord(p.peek()); ok {
		epochs, _ = p.unit()
	}
	var wu Warmup
	if wu.Iters, err = p.toIters(v, at, epochs, itersPerEpoch); err != nil {
		return Warmup{}, err
	}
	if p.peek() == "from" {
		p.i++
		f, fat, err := p.number("start factor")
		if err != nil {
			return Warmup{}, err
		}
		if f < 0 || f > 1 {
			return Warmup{}, p.errorAt(fat, "start factor %q is not in [0, 1]", p.words[fat])
		}
		wu.Start = float32(f)
	}
	if p.more() {
		return Warmup{}, p.errorf("unexpected %q", p.words[p.i])
	}
	return wu, nil
}

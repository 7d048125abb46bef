package compiler

import (
	"errors"
	"strconv"
	"strings"

	"github.com/netc-dev/netc/dsl"
)

// trainKeys are the settings of the training section, with how many values each takes and
// what they look like. Package runtime/train gives them their meaning.
var trainKeys = map[string]struct {
	min, max int
	numeric  bool // every value must be a number
	example  string
}{
	"batch":      {1, 1, true, "batch 64"},
	"epochs":     {1, 1, true, "epochs 10"},
	"lr":         {1, 1, true, "lr 0.01"},
	"optimizer":  {1, 2, false, "optimizer momentum 0.9"},
	"l2":         {1, 1, true, "l2 5e-4"},
	"l1":         {1, 1, true, "l1 1e-5"},
	"maxnorm":    {1, 1, true, "maxnorm 3"},
	"decay":      {1, 1, false, "decay biases"},
	"schedule":   {1, 8, false, "schedule step 0.1 every 10 epochs"},
	"warmup":     {1, 1, true, "warmup 500"},
	"augment":    {1, 4, false, "augment flip crop 2"},
	"init":       {1, 2, false, "init he"},
	"seed":       {1, 1, true, "seed 1"},
	"val":        {1, 1, true, "val 5000"},
	"preprocess": {1, 2, false, "preprocess channel std"},
}

// trainKeyNames lists trainKeys for error messages.
const trainKeyNames = "batch, epochs, lr, optimizer, l2, l1, maxnorm, decay, schedule, warmup, augment, init, seed, val, preprocess"

// checkTrain checks that the training section uses known keys, each once, with the right
// number of values; the values' meaning is checked where they are used.
func checkTrain(t *dsl.Train, errs *dsl.ErrorList) []Setting {
	seen := map[string]bool{}
	var out []Setting
	for _, s := range t.Settings {
		key := s.Key.Text
		spec, ok := trainKeys[key]
		if !ok {
			*errs = append(*errs, dsl.Errorf(s.Key.Pos, "unknown training setting %q (known: %s)", key, trainKeyNames))
			continue
		}
		if seen[key] {
			*errs = append(*errs, dsl.Errorf(s.Key.Pos, "repeated training setting %s", key))
			continue
		}
		seen[key] = true
		vals := make([]string, 0, len(s.Args))
		bad := false
		for _, a := range s.Args {
			switch {
			case a.Bad != "" || (spec.numeric && a.Number == ""):
				*errs = append(*errs, dsl.Errorf(a.Pos, "%s takes a number, not %q (e.g. %s)", key, a.Text(), spec.example))
				bad = true
			case a.Number != "" && outOfRange(a.Number):
				*errs = append(*errs, dsl.Errorf(a.Pos, "%s value %s is out of range", key, a.Number))
				bad = true
			}
			vals = append(vals, a.Text())
		}
		if !bad && (len(vals) < spec.min || len(vals) > spec.max) {
			*errs = append(*errs, dsl.Errorf(s.Key.Pos, "%s takes %s, e.g. %s", key, countWords(spec.min, spec.max), spec.example))
			bad = true
		}
		if !bad {
			out = append(out, Setting{Pos: s.Pos, Key: key, Values: vals})
		}
	}
	return out
}

// outOfRange reports whether the number n overflows a float64 or, written as a whole
// number, an int64.
func outOfRange(n string) bool {
	if _, err := strconv.ParseFloat(n, 64); errors.Is(err, strconv.ErrRange) {
		return true
	}
	_, err := strconv.ParseInt(n, 10, 64)
	return errors.Is(err, strconv.ErrRange)
}

func countWords(min, max int) string {
	if min == max {
		return strings.Repeat("one value", 1)
	}
	return "between " + itoa(min) + " and " + itoa(max) + " values"
}

func itoa(n int) string { return string(rune('0' + n)) }

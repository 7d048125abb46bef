// Package settings is the schema of training settings: the keys of a spec's [train]
// section, which are also the flags of netc train. Table holds one Setting per key — its
// arity, an example, a one-line doc, how its words are parsed and where the value goes
// in a Recipe — and everything else iterates it: the compiler checks [train] sections
// with Apply and Recipe.Coherent, package train applies them (Recipe.Set) and registers its flags from it,
// Recipe.String describes a recipe, and the README's table of settings is checked
// against it. Adding a setting is adding a row.
//
// The package is a leaf (it imports runtime/nn and runtime/data, no plotting), so that
// the compiler can check values exactly as netc train will read them.
//
// # Schedule settings
//
// A learning-rate schedule is one setting line whose words ParseSchedule reads; warm-up is
// a separate line read by ParseWarmup. Keywords are case-insensitive. UNIT is "epochs" or
// "iterations" (also "epoch", "iteration", "iter", "iters"); epoch counts may be
// fractional and are rounded to whole iterations, iteration counts must be whole. t is the
// number of updates done so far (0 for the first), T the run's total number of
// iterations, lr the base learning rate.
//
//	schedule constant                        lr
//	schedule step G every N UNIT             lr·G^⌊t/N⌋             (Caffe "step", PyTorch StepLR)
//	schedule multistep G at M1 M2 … UNIT     lr·G^(milestones ≤ t)  (PyTorch MultiStepLR)
//	schedule exp G [per UNIT]                lr·G^⌊t/u⌋, u = 1 epoch by default (PyTorch ExponentialLR)
//	schedule natexp K [per UNIT]             lr·exp(−K·t/u), continuous, u = 1 epoch by default
//	schedule inv G [P] [per UNIT]            lr·(1 + G·t/u)^(−P), P = 1 and u = 1 iteration by default (Caffe "inv")
//	schedule 1/t K [per UNIT]                lr/(1 + K·t/u), the same as inv K 1
//	schedule sqrt [over N UNIT]              lr·sqrt(1 − t/T), 0 from T on
//	schedule poly P [over N UNIT]            lr·(1 − t/T)^P, 0 from T on (Caffe "poly")
//	schedule cosine [to MIN] [over N UNIT]   MIN + (lr − MIN)·(1 + cos(π·t/T))/2, MIN from T on
//	                                         (PyTorch's CosineAnnealingLR; MIN defaults to 0)
//	warmup N [UNIT] [from F]                 see below; UNIT defaults to iterations, F to 0
//
// "over N UNIT" replaces the run's length T as the horizon of sqrt, poly and cosine. Warm-up
// multiplies the scheduled rate by F + (1−F)·t/W for t < W, W = N in iterations: the rate
// climbs linearly from F times the scheduled value at the first update to the scheduled
// value at iteration W (F = 0 makes the first update a no-op on the weights).
//
// Examples:
//
//	schedule step 0.1 every 10 epochs        divide by 10 every 10 epochs
//	schedule step 0.5 every 5000 iterations
//	schedule multistep 0.1 at 20 30 epochs   lr until epoch 20, lr/10 until 30, lr/100 after
//	schedule exp 0.95                        ×0.95 after each epoch
//	schedule natexp 0.05                     lr·e^(−0.05·epochs), smoothly
//	schedule inv 1e-4 0.75                   Caffe's LeNet solver
//	schedule 1/t 0.5 per epoch               lr/(1 + 0.5·epochs)
//	schedule sqrt                            lr·sqrt(1 − t/T) over the whole run
//	schedule poly 2 over 30 epochs
//	schedule cosine to 1e-4                  from lr down to 1e-4 at the end of the run
//	warmup 500                               linear from 0 over the first 500 iterations
//	warmup 2 epochs from 0.1
//
// A Schedule is a pure function of the iteration, so resuming from a checkpoint only
// needs the iteration count (and the same settings).
package settings

import (
	"errors"
	"fmt"
	"strings"
)

// Input is the shape of one input image, which bounds some values (the padding of
// augment crop). The zero Input is unknown and bounds nothing.
type Input struct {
	C, H, W int
	// Loss is the network's loss ("softmax", "svm" or "euclidean"); empty when unknown.
	Loss string
}

// Setting is one key of the schema: a row of Table.
type Setting struct {
	// Key is the setting's name in a [train] section and as a flag, e.g. "batch".
	Key string
	// Args is the grammar of its values, e.g. "N ≥ 1" or "sgd | momentum [MU] | nesterov [MU]".
	Args string
	// Min and Max bound the number of value words (Max = Many: no bound).
	Min, Max int
	// Example is a whole setting line, e.g. "batch 64".
	Example string
	// Doc says in one line what the setting does.
	Doc string

	set func(r *Recipe, words []string, in Input) error
	get func(r *Recipe) string
}

// Many, as Setting.Max, allows any number of words.
const Many = 1 << 30

// Error is a bad value of a setting: Word is the index of the word at fault among the
// setting's values (-1 for the setting as a whole, len(values) for a missing word), Msg
// says what is wrong and Example what would work.
type Error struct {
	Key     string
	Word    int
	Msg     string
	Example string
}

// Error returns the message followed by the example: "lr: \"-1\" must be a number > 0 (e.g. lr 0.01)".
func (e *Error) Error() string { return e.Msg + " (e.g. " + e.Example + ")" }

// wordError is what the parsers of values return: an error about one word.
type wordError struct {
	word int
	msg  string
}

func (e *wordError) Error() string { return e.msg }

// badWord returns an error about words[i].
func badWord(i int, format string, args ...any) error {
	return &wordError{word: i, msg: fmt.Sprintf(format, args...)}
}

// Lookup returns the setting of a key.
func Lookup(key string) (*Setting, bool) {
	for i := range Table {
		if Table[i].Key == key {
			return &Table[i], true
		}
	}
	return nil, false
}

// Keys lists the keys of Table, in its order, for messages: "batch, epochs, ...".
func Keys() string {
	keys := make([]string, len(Table))
	for i, s := range Table {
		keys[i] = s.Key
	}
	return strings.Join(keys, ", ")
}

// Apply parses values and writes the value into r; on error r is unchanged and the
// error is an *Error.
func (s *Setting) Apply(r *Recipe, values []string, in Input) error {
	switch {
	case len(values) < s.Min:
		return s.fail(len(values), fmt.Sprintf("%s takes %s", s.Key, s.arity()))
	case len(values) > s.Max:
		return s.fail(s.Max, fmt.Sprintf("%s takes %s, not %d", s.Key, s.arity(), len(values)))
	}
	return s.wrap(s.set(r, values, in))
}

// fail returns the *Error of s about its word at index word.
func (s *Setting) fail(word int, msg string) error {
	return &Error{Key: s.Key, Word: word, Msg: msg, Example: s.Example}
}

// wrap turns an error of a parser of s's values into an *Error (nil stays nil).
func (s *Setting) wrap(err error) error {
	var we *wordError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &we):
		return s.fail(we.word, withKey(s.Key, we.msg))
	}
	return s.fail(-1, withKey(s.Key, err.Error()))
}

// withKey starts msg with the key unless it does already ("schedule step: ...").
func withKey(key, msg string) string {
	if strings.HasPrefix(msg, key+" ") || strings.HasPrefix(msg, key+":") {
		return msg
	}
	return key + ": " + msg
}

// Format returns the words of r's value of s, which Apply reads back to the same value.
func (s *Setting) Format(r *Recipe) string { return s.get(r) }

// arity says how many words s takes.
func (s *Setting) arity() string {
	counts := []string{"no", "one", "two", "three"}
	word := func(n int) string {
		if n < len(counts) {
			return counts[n]
		}
		return fmt.Sprint(n)
	}
	plural := func(n int) string {
		if n == 1 {
			return "value"
		}
		return "values"
	}
	switch {
	case s.Min == s.Max:
		return word(s.Min) + " " + plural(s.Min)
	case s.Max == Many:
		return "at least " + word(s.Min) + " " + plural(s.Min)
	}
	return word(s.Min) + " to " + word(s.Max) + " values"
}

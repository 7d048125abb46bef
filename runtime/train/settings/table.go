package settings

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
)

// Table is the schema: every training setting, in the order of the README's table and
// of Recipe.String.
var Table = []Setting{
	define(Setting{Key: "batch", Args: "N ≥ 1", Min: 1, Max: 1, Example: "batch 64",
		Doc: "images per mini-batch"},
		wholeNumber(1, math.MaxInt32),
		func(r *Recipe, n int) { r.Batch = n },
		func(r *Recipe) string { return strconv.Itoa(r.Batch) }),
	define(Setting{Key: "epochs", Args: "N ≥ 1", Min: 1, Max: 1, Example: "epochs 10",
		Doc: "passes over the training split"},
		wholeNumber(1, math.MaxInt32),
		func(r *Recipe, n int) { r.Epochs = n },
		func(r *Recipe) string { return strconv.Itoa(r.Epochs) }),
	define(Setting{Key: "lr", Args: "F > 0", Min: 1, Max: 1, Example: "lr 0.01",
		Doc: "base learning rate"},
		positive,
		func(r *Recipe, v float32) { r.LR = v },
		func(r *Recipe) string { return FormatF32(r.LR) }),
	define(Setting{Key: "optimizer", Args: "sgd | momentum [MU] | nesterov [MU] | adam | adamw", Min: 1, Max: 2,
		Example: "optimizer momentum 0.9",
		Doc:     "update rule; MU in (0, 1), 0.9 by default; adam and adamw are PyTorch's, betas 0.9 and 0.999"},
		parseMethod, applyMethod, formatMethod),
	define(Setting{Key: "l2", Args: "F ≥ 0", Min: 1, Max: 1, Example: "l2 5e-4",
		Doc: "L2 weight decay (PyTorch's weight_decay)"},
		nonNegative,
		func(r *Recipe, v float32) { r.Optimizer.WeightDecay = v },
		func(r *Recipe) string { return FormatF32(r.Optimizer.WeightDecay) }),
	define(Setting{Key: "l1", Args: "F ≥ 0", Min: 1, Max: 1, Example: "l1 1e-5",
		Doc: "L1 regularization"},
		nonNegative,
		func(r *Recipe, v float32) { r.Optimizer.L1 = v },
		func(r *Recipe) string { return FormatF32(r.Optimizer.L1) }),
	define(Setting{Key: "maxnorm", Args: "F ≥ 0", Min: 1, Max: 1, Example: "maxnorm 3",
		Doc: "bound on the norm of each unit's incoming weights; 0 is off"},
		nonNegative,
		func(r *Recipe, v float32) { r.Optimizer.MaxNorm = v },
		func(r *Recipe) string { return FormatF32(r.Optimizer.MaxNorm) }),
	define(Setting{Key: "labelsmooth", Args: "F in [0, 1)", Min: 1, Max: 1, Example: "labelsmooth 0.1",
		Doc: "label smoothing of the softmax loss (PyTorch's label_smoothing); 0 is off"},
		parseLabelSmoothing,
		func(r *Recipe, v float32) { r.LabelSmoothing = v },
		func(r *Recipe) string { return FormatF32(r.LabelSmoothing) }),
	define(Setting{Key: "decay", Args: "weights | biases", Min: 1, Max: 1, Example: "decay biases",
		Doc: "what L2 and L1 apply to: weights only, or biases too"},
		oneOf("weights", "biases", "all"), // all: the same as biases
		func(r *Recipe, v string) { r.Optimizer.DecayBiases = v != "weights" },
		formatDecay),
	define(Setting{Key: "schedule", Min: 1, Max: Many,
		Args: "constant | step G every N UNIT | multistep G at M… UNIT | exp G | natexp K | inv G [P] | " +
			"1/t K | sqrt | poly P | cosine [to MIN]",
		Example: "schedule step 0.1 every 10 epochs",
		Doc:     "learning-rate schedule; UNIT is epochs or iterations (formulas: go doc ./runtime/train/settings)"},
		parseSchedule,
		func(r *Recipe, words []string) { r.Schedule = words },
		func(r *Recipe) string { return orDefault(strings.Join(r.Schedule, " "), "constant") }),
	define(Setting{Key: "warmup", Args: "N [UNIT] [from F]", Min: 1, Max: 4, Example: "warmup 500",
		Doc: "linear warm-up of the learning rate; 0 is none"},
		parseWarmup,
		func(r *Recipe, words []string) { r.Warmup = words },
		func(r *Recipe) string { return orDefault(strings.Join(r.Warmup, " "), "0") }),
	define(Setting{Key: "augment", Args: "flip | crop PAD | flip crop PAD | none", Min: 1, Max: 3,
		Example: "augment flip crop 2",
		Doc:     "live augmentation: random mirror; random crop of the image padded by PAD < its side"},
		parseAugment,
		func(r *Recipe, a data.Augment) { r.Augment = a },
		func(r *Recipe) string { return formatAugment(r.Augment) }),
	define(Setting{Key: "init", Args: "he | xavier | gaussian [STD]", Min: 1, Max: 2, Example: "init he",
		Doc: "initialization of a fresh run; the default is he, or the spec's"},
		parseInit, applyInit, formatInit),
	define(Setting{Key: "seed", Args: "N ≥ 0", Min: 1, Max: 1, Example: "seed 1",
		Doc: "seed of initialization, shuffling, augmentation and dropout"},
		parseSeed,
		func(r *Recipe, n uint64) { r.Seed = n },
		func(r *Recipe) string { return strconv.FormatUint(r.Seed, 10) }),
	define(Setting{Key: "val", Args: "N ≥ 0 | F in [0, 1) | auto", Min: 1, Max: 1, Example: "val 5000",
		Doc: "validation images held out from the end of the training set (auto: 5,000 of 50,000 or more, else 10%)"},
		parseVal,
		func(r *Recipe, v float64) { r.Val = v },
		formatVal),
	define(Setting{Key: "preprocess", Args: "channel | image | none [std] | std", Min: 1, Max: 2,
		Example: "preprocess channel std", Doc: "mean subtracted (per channel, per pixel or none), optionally ÷ std"},
		parsePreprocess, applyPreprocess, formatPreprocess),
	define(Setting{Key: "threads", Args: fmt.Sprintf("N in [0, %d]", MaxThreads), Min: 1, Max: 1, Example: "threads 2",
		Doc: "threads a batch is split over; 0 is every core; results are the same bit for bit for a fixed value"},
		wholeNumber(0, MaxThreads),
		func(r *Recipe, n int) { r.Threads = n },
		func(r *Recipe) string { return strconv.Itoa(r.Threads) }),
}

// define makes a Setting of s whose value words parse reads, apply writes into a Recipe
// and format writes back as words.
func define[T any](s Setting, parse func(words []string, in Input) (T, error),
	apply func(r *Recipe, v T), format func(r *Recipe) string) Setting {
	s.set = func(r *Recipe, words []string, in Input) error {
		v, err := parse(words, in)
		if err == nil {
			apply(r, v)
		}
		return err
	}
	s.get = format
	return s
}

// wholeNumber reads one whole number in [lo, hi].
func wholeNumber(lo, hi int) func([]string, Input) (int, error) {
	return func(words []string, _ Input) (int, error) {
		n, err := strconv.Atoi(words[0])
		switch {
		case err == nil && n >= lo && n <= hi:
			return n, nil
		case (err == nil || errors.Is(err, strconv.ErrRange)) && n > hi:
			return 0, badWord(0, "%s is more than %d", words[0], hi)
		case hi == math.MaxInt32:
			return 0, badWord(0, "%q is not a whole number ≥ %d", words[0], lo)
		}
		return 0, badWord(0, "%q is not a whole number in [%d, %d]", words[0], lo, hi)
	}
}

// parseLabelSmoothing reads ε in [0, 1), for a network whose loss is softmax.
func parseLabelSmoothing(words []string, in Input) (float32, error) {
	v, err := number(words[0], true)
	switch {
	case err != nil:
		return 0, err
	case v >= 1:
		return 0, badWord(0, "%s is not in [0, 1): 1 would make every target uniform", words[0])
	case v > 0 && in.Loss != "" && in.Loss != "softmax":
		return 0, badWord(0, "label smoothing is for the softmax loss; this network's loss is %s", in.Loss)
	}
	return v, nil
}

// positive reads one finite number > 0.
func positive(words []string, _ Input) (float32, error) { return number(words[0], false) }

// nonNegative reads one finite number ≥ 0.
func nonNegative(words []string, _ Input) (float32, error) { return number(words[0], true) }

// number reads w as a float32 number > 0 or, if zero is allowed, ≥ 0.
func number(w string, zero bool) (float32, error) {
	v, err := strconv.ParseFloat(w, 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(float64(float32(v)), 0):
		return 0, badWord(0, "%q is not a finite number", w)
	case zero && v < 0:
		return 0, badWord(0, "%q is negative; it must be ≥ 0", w)
	case !zero && v <= 0:
		return 0, badWord(0, "%q must be a number > 0", w)
	}
	return float32(v), nil
}

// oneOf reads one of the given words (in any case) and returns it in lower case.
func oneOf(choices ...string) func([]string, Input) (string, error) {
	return func(words []string, _ Input) (string, error) {
		w := strings.ToLower(words[0])
		for _, c := range choices {
			if w == c {
				return w, nil
			}
		}
		return "", badWord(0, "%q is not one of %s", words[0], strings.Join(choices, ", "))
	}
}

// method is the value of optimizer: a method and its momentum, 0 when not given.
type method struct {
	name string
	mu   float32
}

func parseMethod(words []string, _ Input) (method, error) {
	m := method{name: strings.ToLower(words[0])}
	switch m.name {
	case MethodSGD, MethodAdam, MethodAdamW:
		if len(words) > 1 {
			return m, badWord(1, "%s takes no momentum (that is optimizer momentum %s)", m.name, words[1])
		}
	case MethodMomentum, MethodNesterov:
		if len(words) > 1 {
			v, err := strconv.ParseFloat(words[1], 64)
			if err != nil || !(v > 0 && v < 1) {
				return m, badWord(1, "momentum %q is not a number in (0, 1)", words[1])
			}
			m.mu = float32(v)
		}
	default:
		return m, badWord(0, "%q is not an optimizer netc has; they are sgd, momentum [MU], nesterov [MU], "+
			"adam and adamw", words[0])
	}
	return m, nil
}

// applyMethod sets the method; momentum and nesterov without MU keep the momentum the
// recipe has, or take DefaultMomentum if it has none; the others have none.
func applyMethod(r *Recipe, m method) {
	o := &r.Optimizer
	switch {
	case m.name != MethodMomentum && m.name != MethodNesterov:
		o.Momentum = 0
	case m.mu > 0:
		o.Momentum = m.mu
	case o.Momentum == 0:
		o.Momentum = DefaultMomentum
	}
	o.Method = m.name
}

func formatDecay(r *Recipe) string {
	if r.Optimizer.DecayBiases {
		return "biases"
	}
	return "weights"
}

func formatMethod(r *Recipe) string {
	o := r.Optimizer
	name := o.Method
	if name == "" {
		name = MethodMomentum
		if o.Momentum == 0 {
			name = MethodSGD
		}
	}
	if name == MethodMomentum || name == MethodNesterov {
		return name + " " + FormatF32(o.Momentum)
	}
	return name
}

// parseSchedule checks the words of a schedule with ParseSchedule; the rates it gives
// depend on the run, which is not known yet, and the bounds that depend on the learning
// rate (cosine's minimum) are Recipe.Coherent's, so the base here bounds nothing.
func parseSchedule(words []string, _ Input) ([]string, error) {
	if _, err := ParseSchedule(words, math.MaxFloat32, 1000, 10000); err != nil {
		return nil, err
	}
	if len(words) == 1 && strings.EqualFold(words[0], "constant") {
		return nil, nil
	}
	return append([]string(nil), words...), nil
}

// parseWarmup checks the words of a warm-up with ParseWarmup.
func parseWarmup(words []string, _ Input) ([]string, error) {
	if _, err := ParseWarmup(words, 1000); err != nil {
		return nil, err
	}
	return append([]string(nil), words...), nil
}

// parseAugment reads any of "flip" and "crop PAD", or "none". PAD pixels of padding must
// leave part of the image in every crop: less than the input's height and width.
func parseAugment(words []string, in Input) (data.Augment, error) {
	var a data.Augment
	if len(words) == 1 && strings.EqualFold(words[0], "none") {
		return a, nil
	}
	for i := 0; i < len(words); i++ {
		switch strings.ToLower(words[i]) {
		case "flip":
			a.Flip = true
		case "crop":
			if i+1 >= len(words) {
				return a, badWord(i+1, "crop needs its padding in pixels")
			}
			i++
			n, err := strconv.Atoi(words[i])
			if err != nil || n < 1 {
				return a, badWord(i, "crop padding %q is not a whole number ≥ 1", words[i])
			}
			if side := min(in.H, in.W); side > 0 && n >= side {
				return a, badWord(i, "crop padding %d does not fit the %dx%d input: a crop could miss "+
					"the image; it must be less than %d", n, in.H, in.W, side)
			}
			a.CropPad = n
		default:
			return a, badWord(i, "%q is not an augmentation; they are flip, crop PAD and none", words[i])
		}
	}
	return a, nil
}

func formatAugment(a data.Augment) string {
	var w []string
	if a.Flip {
		w = append(w, "flip")
	}
	if a.CropPad != 0 {
		w = append(w, "crop", strconv.Itoa(a.CropPad))
	}
	return orDefault(strings.Join(w, " "), "none")
}

// initValue is the value of init: a scheme and the std of gaussian.
type initValue struct {
	scheme nn.InitScheme
	std    float32
}

func parseInit(words []string, _ Input) (initValue, error) {
	if _, err := nn.ParseInitScheme(words[0]); err != nil {
		return initValue{}, badWord(0, "%q is not an initialization; they are he, xavier and gaussian [STD]", words[0])
	}
	scheme, std, err := nn.ParseInit(words)
	if err != nil {
		return initValue{}, badWord(len(words)-1, "%v", err)
	}
	return initValue{scheme, std}, nil
}

func applyInit(r *Recipe, v initValue) { r.Init, r.InitStd = v.scheme, v.std }

func formatInit(r *Recipe) string {
	if r.Init == nn.InitGaussian && r.InitStd != 0 {
		return r.Init.String() + " " + FormatF32(r.InitStd)
	}
	return r.Init.String()
}

func parseSeed(words []string, _ Input) (uint64, error) {
	n, err := strconv.ParseUint(words[0], 10, 64)
	if err != nil {
		return 0, badWord(0, "%q is not a whole number ≥ 0", words[0])
	}
	return n, nil
}

// parseVal reads a count of images, a fraction in [0, 1) or auto (ValAuto).
func parseVal(words []string, _ Input) (float64, error) {
	if strings.EqualFold(words[0], "auto") {
		return ValAuto, nil
	}
	v, err := strconv.ParseFloat(words[0], 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) || (v >= 1 && v != math.Trunc(v)) {
		return 0, badWord(0, "%q is neither a count of images ≥ 0, a fraction in [0, 1) nor auto", words[0])
	}
	return v, nil
}

func formatVal(r *Recipe) string {
	if r.Val < 0 {
		return "auto"
	}
	return strconv.FormatFloat(r.Val, 'g', -1, 64)
}

// preprocessValue is the value of preprocess: the mean and whether to divide by the std.
type preprocessValue struct {
	kind data.MeanKind
	std  bool
}

// parsePreprocess reads "none", "channel" or "image", each optionally followed by "std",
// or "std" alone (scaling without mean subtraction).
func parsePreprocess(words []string, _ Input) (preprocessValue, error) {
	if len(words) == 1 && strings.EqualFold(words[0], "std") {
		return preprocessValue{data.MeanNone, true}, nil
	}
	kind, err := data.ParseMeanKind(strings.ToLower(words[0]))
	if err != nil {
		return preprocessValue{}, badWord(0, "%q is not a mean; they are channel, image and none", words[0])
	}
	if len(words) == 2 && !strings.EqualFold(words[1], "std") {
		return preprocessValue{}, badWord(1, "unexpected %q: only std may follow the mean", words[1])
	}
	return preprocessValue{kind, len(words) == 2}, nil
}

func applyPreprocess(r *Recipe, v preprocessValue) { r.Preprocess, r.PreprocessStd = v.kind, v.std }

func formatPreprocess(r *Recipe) string {
	if r.PreprocessStd {
		return string(r.Preprocess) + " std"
	}
	return string(r.Preprocess)
}

// FormatF32 formats a float32 in its shortest exact form, as settings write their values.
func FormatF32(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

package train

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
)

// Defaults of Config: the recipe of the PyTorch anchor (torch_train.py), which netc's
// results are measured against.
const (
	// DefaultBatch is the mini-batch size.
	DefaultBatch = 64
	// DefaultEpochs is the number of epochs when the spec does not say.
	DefaultEpochs = 10
	// DefaultLR is the base learning rate (constant unless a schedule is given).
	DefaultLR = 0.01
	// DefaultMomentum is the momentum of SGD.
	DefaultMomentum = 0.9
	// DefaultWeightDecay is the L2 coefficient, applied to weights only.
	DefaultWeightDecay = 5e-4
	// DefaultSeed is the seed of initialization, shuffling, dropout and augmentation.
	DefaultSeed = 1
	// DefaultDivergence is the factor over the initial loss at which training stops.
	DefaultDivergence = 3
	// DefaultOverfitIters is how many iterations an overfit run (Config.Overfit) may take
	// to reach 100% training accuracy when Config.MaxIters is 0.
	DefaultOverfitIters = 1000
	// OverfitLoss is the training loss under which an overfit run that has reached 100%
	// training accuracy stops (the lecture's "very small loss").
	OverfitLoss = 0.01
	// ValAuto, as Config.Val, selects the default validation split (see Config.ValCount).
	ValAuto = -1
)

// Config is everything that configures a training run. Start from DefaultConfig or,
// for a generated network, ConfigFromInfo (the spec's [train] section over the
// defaults); RegisterFlags lets command-line flags override either.
type Config struct {
	// Batch is the number of images per mini-batch.
	Batch int
	// Epochs is the number of passes over the training split.
	Epochs int
	// LR is the base learning rate.
	LR float32
	// Schedule holds the words of the learning-rate schedule, e.g. ["step", "0.1",
	// "every", "10", "epochs"] (see the package documentation); empty means constant.
	Schedule []string
	// Warmup holds the words of the warm-up setting, e.g. ["500"]; empty means none.
	Warmup []string
	// Optimizer is the update rule and its regularization (momentum 0.9 and L2 5e-4 on
	// weights by default).
	Optimizer OptimizerConfig
	// Init is the initialization scheme of a fresh run; InitStd the standard deviation
	// of InitGaussian (0 means nn.DefaultGaussianStd). The default is the spec's
	// (He for ReLU networks).
	Init    nn.InitScheme
	InitStd float32
	// Seed fixes everything random: the initialization (nn.Initialize with Seed, as
	// the generated New(Seed) does), the order of the images each epoch, the augmentation
	// and the dropout masks.
	Seed uint64
	// Augment is the live augmentation of training images (none by default; the spec's
	// "augment flip crop 2" turns on flips and random crops with 2 pixels of padding).
	Augment data.Augment
	// Preprocess is the mean subtracted from the images, fitted on the training split
	// (per channel by default); PreprocessStd also divides by the per-channel standard
	// deviation. When the network's first layer is meansub, the network subtracts the
	// mean itself and the data's mean is left alone (see Train).
	Preprocess    data.MeanKind
	PreprocessStd bool
	// Val is the size of the validation split that Main carves from the END of the
	// training set: a count when ≥ 1, a fraction of the training set when in (0, 1),
	// none when 0, and the default (ValAuto, any negative value) otherwise; see ValCount.
	Val float64
	// Overfit, when positive, is the lecture's sanity check: train on the first Overfit
	// training images only, without regularization (L2, L1 and max-norm off; dropout as
	// the spec says) or augmentation, at the constant rate LR, until the training
	// accuracy (in test mode) is 100% and the loss under OverfitLoss, or MaxIters
	// iterations (DefaultOverfitIters if 0) have passed; it fails (an OverfitError) if
	// the accuracy is then below 100%.
	Overfit int
	// RunDir is the run folder that receives the metrics, the checkpoints and the
	// charts; empty means none for Train (Main picks runs/<spec>-<time>).
	RunDir string
	// Resume, if set, is the path of a checkpoint to continue from exactly. Unless RunDir
	// is set, the run goes on in the checkpoint's folder.
	Resume string
	// Weights, if set, is a checkpoint (or any safetensors file) whose tensors of
	// matching names and shapes replace the initialization, for fine-tuning; see
	// LoadWeights.
	Weights string
	// MaxIters, if positive, stops the run after that many iterations in all (counting
	// those before a resume), writing a checkpoint, as if interrupted; the schedule is
	// still the one of the full run. In overfit mode it is the iteration budget.
	MaxIters int
	// Threads, if positive, sets GOMAXPROCS for the run (and so the number of workers a
	// batch is split over). Results are bit for bit reproducible for a fixed Threads;
	// they may differ in the last bits across values (see the package documentation).
	Threads int
	// Divergence is the factor over the initial loss beyond which training stops as
	// diverged (3 by default; 0 turns the test off, NaN and Inf still stop).
	Divergence float64
	// Data and DataDir name the data set ("mnist", "fashion-mnist" or "cifar10") and its
	// folder ("" for the default) for Main; Train does not use them.
	Data, DataDir string
}

// DefaultConfig returns the default configuration for the network described by info
// (nil for a network-independent default): batch 64, 10 epochs, SGD with momentum 0.9,
// lr 0.01 constant, L2 5e-4 on weights only, the spec's initialization scheme (He when
// none), seed 1, per-channel mean subtraction, no augmentation, the default validation
// split and divergence factor 3.
func DefaultConfig(info *nn.Info) Config {
	c := Config{
		Batch:  DefaultBatch,
		Epochs: DefaultEpochs,
		LR:     DefaultLR,
		Optimizer: OptimizerConfig{
			Method:      MethodMomentum,
			Momentum:    DefaultMomentum,
			WeightDecay: DefaultWeightDecay,
		},
		Init:       nn.InitHe,
		Seed:       DefaultSeed,
		Preprocess: data.MeanChannel,
		Val:        ValAuto,
		Divergence: DefaultDivergence,
	}
	if info != nil && info.Init != "" {
		if s, err := nn.ParseInitScheme(info.Init); err == nil {
			c.Init = s
		}
	}
	return c
}

// ConfigFromInfo returns DefaultConfig(info) overridden by the network's [train]
// section (info.Train). Errors name the network and the setting.
func ConfigFromInfo(info *nn.Info) (Config, error) {
	if info == nil {
		return Config{}, fmt.Errorf("train: nil network info")
	}
	c := DefaultConfig(info)
	for _, s := range info.Train {
		if err := c.Set(s.Key, s.Values); err != nil {
			return Config{}, fmt.Errorf("%s [train] %s", info.Name, err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s [train]: %w", info.Name, err)
	}
	return c, nil
}

// Set applies one setting of a spec's [train] section, as key and value words: batch,
// epochs, lr, optimizer (sgd | momentum [MU] | nesterov [MU]), l2, l1, maxnorm, decay
// (biases | weights), schedule WORDS, warmup WORDS, augment (flip, crop PAD, none),
// init (he | xavier | gaussian [STD]), seed, val (count or fraction), preprocess
// (none | channel | image, optionally followed by std). Errors start with the key.
func (c *Config) Set(key string, values []string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s %s: %s", key, strings.Join(values, " "), fmt.Sprintf(format, args...))
	}
	one := func() (string, error) {
		if len(values) != 1 {
			return "", fail("takes one value")
		}
		return values[0], nil
	}
	posInt := func() (int, error) {
		v, err := one()
		if err != nil {
			return 0, err
		}
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 {
			return 0, fail("%q is not a positive whole number", v)
		}
		return n, nil
	}
	nonNeg := func() (float32, error) {
		v, err := one()
		if err != nil {
			return 0, err
		}
		f, perr := strconv.ParseFloat(v, 64)
		if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return 0, fail("%q is not a number ≥ 0", v)
		}
		return float32(f), nil
	}
	var err error
	switch strings.ToLower(key) {
	case "batch":
		c.Batch, err = posInt()
	case "epochs":
		c.Epochs, err = posInt()
	case "lr":
		var lr float32
		if lr, err = nonNeg(); err == nil {
			if lr == 0 {
				return fail("the learning rate must be positive")
			}
			c.LR = lr
		}
	case "optimizer":
		err = c.setOptimizer(values)
		if err != nil {
			return fail("%v", err)
		}
	case "momentum":
		var mu float32
		if mu, err = nonNeg(); err == nil {
			if mu >= 1 {
				return fail("momentum must be in [0, 1)")
			}
			c.Optimizer.Momentum = mu
			switch {
			case mu == 0 && c.Optimizer.Method != MethodNesterov:
				c.Optimizer.Method = MethodSGD
			case mu > 0 && c.Optimizer.Method == MethodSGD:
				c.Optimizer.Method = MethodMomentum
			}
		}
	case "l2":
		c.Optimizer.WeightDecay, err = nonNeg()
	case "l1":
		c.Optimizer.L1, err = nonNeg()
	case "maxnorm":
		c.Optimizer.MaxNorm, err = nonNeg()
	case "decay":
		v, e := one()
		if e != nil {
			return e
		}
		switch strings.ToLower(v) {
		case "biases", "all":
			c.Optimizer.DecayBiases = true
		case "weights":
			c.Optimizer.DecayBiases = false
		default:
			return fail("want \"decay biases\" (weight decay on biases too) or \"decay weights\" (the default)")
		}
	case "schedule":
		if _, perr := ParseSchedule(values, 1, 1000, 10000); perr != nil {
			return fail("%v", perr)
		}
		c.Schedule = append([]string(nil), values...)
		if len(values) == 1 && strings.EqualFold(values[0], "constant") {
			c.Schedule = nil
		}
	case "warmup":
		if _, perr := ParseWarmup(values, 1000); perr != nil {
			return fail("%v", perr)
		}
		c.Warmup = append([]string(nil), values...)
	case "augment":
		a, perr := ParseAugment(values)
		if perr != nil {
			return fail("%v", perr)
		}
		c.Augment = a
	case "init":
		s, std, perr := nn.ParseInit(values)
		if perr != nil {
			return fail("%v", perr)
		}
		c.Init, c.InitStd = s, std
	case "seed":
		v, e := one()
		if e != nil {
			return e
		}
		n, perr := strconv.ParseUint(v, 10, 64)
		if perr != nil {
			return fail("%q is not a whole number ≥ 0", v)
		}
		c.Seed = n
	case "val":
		v, e := one()
		if e != nil {
			return e
		}
		f, perr := strconv.ParseFloat(v, 64)
		if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) || (f >= 1 && f != math.Trunc(f)) {
			return fail("%q is neither a count of images nor a fraction in [0, 1)", v)
		}
		c.Val = f
	case "preprocess":
		kind, std, perr := parsePreprocess(values)
		if perr != nil {
			return fail("%v", perr)
		}
		c.Preprocess, c.PreprocessStd = kind, std
	default:
		return fmt.Errorf("%s: unknown setting (known: batch, epochs, lr, optimizer, momentum, l2, l1, maxnorm, decay, schedule, warmup, augment, init, seed, val, preprocess)", key)
	}
	return err
}

// setOptimizer parses "sgd", "momentum [MU]" or "nesterov [MU]".
func (c *Config) setOptimizer(values []string) error {
	if len(values) == 0 || len(values) > 2 {
		return fmt.Errorf("want sgd, momentum [MU] or nesterov [MU]")
	}
	m := strings.ToLower(values[0])
	switch m {
	case MethodSGD:
		if len(values) > 1 {
			return fmt.Errorf("sgd takes no momentum")
		}
		c.Optimizer.Method, c.Optimizer.Momentum = MethodSGD, 0
		return nil
	case MethodMomentum, MethodNesterov:
		mu := float64(DefaultMomentum)
		if c.Optimizer.Momentum > 0 {
			mu = float64(c.Optimizer.Momentum)
		}
		if len(values) > 1 {
			v, err := strconv.ParseFloat(values[1], 64)
			if err != nil || !(v > 0 && v < 1) {
				return fmt.Errorf("momentum %q is not a number in (0, 1)", values[1])
			}
			mu = v
		}
		c.Optimizer.Method, c.Optimizer.Momentum = m, float32(mu)
		return nil
	}
	return fmt.Errorf("unknown optimizer %q (want sgd, momentum or nesterov)", values[0])
}

// ParseAugment parses the words of an augmentation setting: any of "flip" and
// "crop PAD" (PAD pixels of zero padding, e.g. "crop 2"), or "none".
func ParseAugment(words []string) (data.Augment, error) {
	var a data.Augment
	if len(words) == 1 && strings.EqualFold(words[0], "none") {
		return a, nil
	}
	if len(words) == 0 {
		return a, fmt.Errorf("want flip, crop PAD or none")
	}
	for i := 0; i < len(words); i++ {
		switch strings.ToLower(words[i]) {
		case "flip":
			a.Flip = true
		case "crop":
			if i+1 >= len(words) {
				return data.Augment{}, fmt.Errorf("crop needs its padding, e.g. crop 2")
			}
			n, err := strconv.Atoi(words[i+1])
			if err != nil || n < 1 {
				return data.Augment{}, fmt.Errorf("crop padding %q is not a positive whole number", words[i+1])
			}
			a.CropPad = n
			i++
		default:
			return data.Augment{}, fmt.Errorf("unknown augmentation %q (want flip, crop PAD or none)", words[i])
		}
	}
	return a, nil
}

// parsePreprocess parses "none", "channel", "image", each optionally followed by "std",
// or "std" alone (scaling without mean subtraction).
func parsePreprocess(words []string) (data.MeanKind, bool, error) {
	if len(words) == 0 || len(words) > 2 {
		return "", false, fmt.Errorf("want none, channel or image, optionally followed by std")
	}
	if strings.EqualFold(words[0], "std") && len(words) == 1 {
		return data.MeanNone, true, nil
	}
	kind, err := data.ParseMeanKind(strings.ToLower(words[0]))
	if err != nil {
		return "", false, fmt.Errorf("unknown mean %q (want none, channel or image)", words[0])
	}
	std := false
	if len(words) == 2 {
		if !strings.EqualFold(words[1], "std") {
			return "", false, fmt.Errorf("unexpected %q (only std may follow the mean)", words[1])
		}
		std = true
	}
	return kind, std, nil
}

// Validate checks the configuration as a whole; every error names the setting.
func (c *Config) Validate() error {
	switch {
	case c.Batch < 1:
		return fmt.Errorf("batch %d: must be at least 1", c.Batch)
	case c.Epochs < 1:
		return fmt.Errorf("epochs %d: must be at least 1", c.Epochs)
	case !(c.LR > 0) || math.IsInf(float64(c.LR), 0):
		return fmt.Errorf("lr %g: must be a positive number", c.LR)
	case c.Overfit < 0:
		return fmt.Errorf("overfit %d: must be ≥ 0", c.Overfit)
	case c.MaxIters < 0:
		return fmt.Errorf("max-iters %d: must be ≥ 0", c.MaxIters)
	case c.Threads < 0:
		return fmt.Errorf("threads %d: must be ≥ 0", c.Threads)
	case math.IsNaN(c.Divergence) || c.Divergence < 0 || (c.Divergence > 0 && c.Divergence <= 1):
		return fmt.Errorf("divergence factor %g: must be 0 (off) or more than 1", c.Divergence)
	case math.IsNaN(c.Val) || (c.Val >= 1 && c.Val != math.Trunc(c.Val)):
		return fmt.Errorf("val %g: must be a count of images or a fraction in [0, 1)", c.Val)
	case c.Augment.CropPad < 0:
		return fmt.Errorf("augment crop %d: must be ≥ 0", c.Augment.CropPad)
	}
	if _, err := data.ParseMeanKind(string(c.Preprocess)); err != nil {
		return fmt.Errorf("preprocess %q: unknown mean (want none, channel or image)", c.Preprocess)
	}
	if c.Init != nn.InitHe && c.Init != nn.InitXavier && c.Init != nn.InitGaussian {
		return fmt.Errorf("init %v: unknown scheme", c.Init)
	}
	if c.Init == nn.InitGaussian && (c.InitStd < 0 || math.IsNaN(float64(c.InitStd))) {
		return fmt.Errorf("init gaussian %g: the std must be positive", c.InitStd)
	}
	if _, err := ParseSchedule(c.Schedule, c.LR, 1000, 10000); err != nil {
		return err
	}
	if len(c.Warmup) > 0 {
		if _, err := ParseWarmup(c.Warmup, 1000); err != nil {
			return err
		}
	}
	if _, err := NewOptimizer(c.Optimizer, &nn.Info{}); err != nil {
		return err
	}
	return nil
}

// ValCount returns the number of validation images to carve from a training set of n
// images: Val itself when ≥ 1 (at most n−1), round(Val·n) for a fraction, 0 for 0, and
// by default (negative Val) 5,000 when n ≥ 50,000 (MNIST, Fashion-MNIST and CIFAR-10,
// like the PyTorch anchor's held-out images) and 10% of n otherwise.
func (c *Config) ValCount(n int) int {
	var v int
	switch {
	case c.Val < 0:
		if n >= 50000 {
			v = 5000
		} else {
			v = int(math.Round(0.1 * float64(n)))
		}
	case c.Val >= 1:
		v = int(c.Val)
	default:
		v = int(math.Round(c.Val * float64(n)))
	}
	return max(0, min(v, n-1))
}

// summary is the configuration as recorded in a checkpoint.
type summary struct {
	Batch      int             `json:"batch"`
	Epochs     int             `json:"epochs"`
	LR         float32         `json:"lr"`
	Schedule   string          `json:"schedule"`
	Warmup     string          `json:"warmup,omitempty"`
	Optimizer  OptimizerConfig `json:"optimizer"`
	Init       string          `json:"init"`
	InitStd    float32         `json:"init_std,omitempty"`
	Seed       uint64          `json:"seed"`
	Augment    data.Augment    `json:"augment"`
	Preprocess string          `json:"preprocess"`
	Overfit    int             `json:"overfit,omitempty"`
}

func (c *Config) summary() summary {
	pre := string(c.Preprocess)
	if c.PreprocessStd {
		pre += " std"
	}
	sched := strings.Join(c.Schedule, " ")
	if sched == "" {
		sched = "constant"
	}
	return summary{
		Batch: c.Batch, Epochs: c.Epochs, LR: c.LR, Schedule: sched,
		Warmup: strings.Join(c.Warmup, " "), Optimizer: c.Optimizer, Init: c.Init.String(),
		InitStd: c.InitStd, Seed: c.Seed, Augment: c.Augment, Preprocess: pre, Overfit: c.Overfit,
	}
}

// summaryJSON is summary() as compact JSON.
func (c *Config) summaryJSON() string {
	b, _ := json.Marshal(c.summary())
	return string(b)
}

// String describes the run's recipe on one line, e.g. "batch 64, 3 epochs, momentum
// 0.9, lr 0.01 constant, l2 0.0005, init he, seed 1, preprocess channel, augment none".
func (c *Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "batch %d, %d epochs, ", c.Batch, c.Epochs)
	o := c.Optimizer
	switch o.Method {
	case MethodSGD, "":
		if o.Momentum == 0 {
			b.WriteString("sgd")
		} else {
			fmt.Fprintf(&b, "momentum %g", o.Momentum)
		}
	default:
		fmt.Fprintf(&b, "%s %g", o.Method, o.Momentum)
	}
	sched := strings.Join(c.Schedule, " ")
	if sched == "" {
		sched = "constant"
	}
	fmt.Fprintf(&b, ", lr %g %s", c.LR, sched)
	if len(c.Warmup) > 0 {
		fmt.Fprintf(&b, " warmup %s", strings.Join(c.Warmup, " "))
	}
	if o.WeightDecay > 0 {
		fmt.Fprintf(&b, ", l2 %g", o.WeightDecay)
	}
	if o.L1 > 0 {
		fmt.Fprintf(&b, ", l1 %g", o.L1)
	}
	if o.MaxNorm > 0 {
		fmt.Fprintf(&b, ", maxnorm %g", o.MaxNorm)
	}
	if (o.WeightDecay > 0 || o.L1 > 0) && o.DecayBiases {
		b.WriteString(" (biases too)")
	}
	fmt.Fprintf(&b, ", init %s", c.Init)
	if c.Init == nn.InitGaussian && c.InitStd > 0 {
		fmt.Fprintf(&b, " %g", c.InitStd)
	}
	fmt.Fprintf(&b, ", seed %d, preprocess %s", c.Seed, c.Preprocess)
	if c.PreprocessStd {
		b.WriteString(" std")
	}
	b.WriteString(", augment ")
	b.WriteString(augmentString(c.Augment))
	return b.String()
}

// augmentString writes an augmentation as the setting's words.
func augmentString(a data.Augment) string {
	var w []string
	if a.Flip {
		w = append(w, "flip")
	}
	if a.CropPad > 0 {
		w = append(w, "crop", strconv.Itoa(a.CropPad))
	}
	if len(w) == 0 {
		return "none"
	}
	return strings.Join(w, " ")
}

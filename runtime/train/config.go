package train

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/train/settings"
)

// Defaults of Config; those of the settings are package settings' (see DefaultConfig).
const (
	// DefaultBatch is settings.DefaultBatch, the mini-batch size.
	DefaultBatch = settings.DefaultBatch
	// DefaultEpochs is settings.DefaultEpochs, the number of epochs.
	DefaultEpochs = settings.DefaultEpochs
	// DefaultLR is settings.DefaultLR, the base learning rate.
	DefaultLR = settings.DefaultLR
	// DefaultMomentum is settings.DefaultMomentum, the momentum of SGD.
	DefaultMomentum = settings.DefaultMomentum
	// DefaultWeightDecay is settings.DefaultWeightDecay, the L2 coefficient.
	DefaultWeightDecay = settings.DefaultWeightDecay
	// DefaultSeed is settings.DefaultSeed, the seed of everything random.
	DefaultSeed = settings.DefaultSeed
	// ValAuto, as Config.Val, selects the default validation split (see Config.ValCount).
	ValAuto = settings.ValAuto
	// DefaultDivergence is the factor over the initial loss at which training stops.
	DefaultDivergence = 3
	// DefaultOverfitIters is how many iterations an overfit run (Config.Overfit) may take
	// to reach 100% training accuracy when Config.MaxIters is 0.
	DefaultOverfitIters = 1000
	// OverfitLoss is the training loss under which an overfit run that has reached 100%
	// training accuracy stops (the lecture's "very small loss").
	OverfitLoss = 0.01
)

// Config is everything that configures a training run: the recipe, which a spec's
// [train] section and the flags of netc train set (package settings is its schema),
// and how to run it. Start from DefaultConfig or, for a generated network,
// ConfigFromInfo (the spec's [train] section over the defaults); RegisterFlags lets
// command-line flags override either.
type Config struct {
	// Recipe holds the settings: Batch, Epochs, LR, Schedule, Warmup, Optimizer, Init,
	// InitStd, Seed (which fixes the initialization, nn.Initialize with Seed as the
	// generated New(Seed) does, and everything else random), Augment, Preprocess,
	// PreprocessStd, Val and Threads. When the network's first layer is meansub, the
	// network subtracts the mean itself and Preprocess leaves the data alone (see Train).
	// Main carves the validation split, Val, from the end of the training set; see ValCount.
	settings.Recipe
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
	// Divergence is the factor over the initial loss beyond which training stops as
	// diverged (3 by default; 0 turns the test off, NaN and Inf still stop).
	Divergence float64
	// Data and DataDir name the data set ("mnist", "fashion-mnist" or "cifar10") and its
	// folder ("" for the default) for Main; Train does not use them.
	Data, DataDir string

	// input is the network's input shape, which bounds some settings (the padding of
	// augment crop): set by DefaultConfig, zero (unknown) without a network.
	input settings.Input
}

// DefaultConfig returns the default configuration for the network described by info
// (nil for a network-independent default): settings.DefaultRecipe (batch 64, 10 epochs,
// SGD with momentum 0.9, lr 0.01 constant, L2 5e-4 on weights only, seed 1, per-channel
// mean subtraction, no augmentation, the default validation split) with the spec's
// initialization scheme (He when none), and divergence factor 3.
func DefaultConfig(info *nn.Info) Config {
	c := Config{Recipe: settings.DefaultRecipe(), Divergence: DefaultDivergence}
	if info == nil {
		return c
	}
	c.input = settings.Input{C: info.InC, H: info.InH, W: info.InW, Loss: info.Loss}
	if s, err := nn.ParseInitScheme(info.Init); err == nil {
		c.Init = s
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
			return Config{}, fmt.Errorf("%s [train] %w", info.Name, err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s [train]: %w", info.Name, err)
	}
	return c, nil
}

// Set applies one setting, as a key of settings.Table and its value words, for the
// network of DefaultConfig. Errors start with the key.
func (c *Config) Set(key string, values []string) error {
	return c.Recipe.Set(key, values, c.input)
}

// Validate checks the configuration as a whole; every error names the setting.
func (c *Config) Validate() error {
	if err := c.Recipe.Validate(c.input); err != nil {
		return err
	}
	switch {
	case c.Overfit < 0:
		return fmt.Errorf("overfit %d: must be ≥ 0", c.Overfit)
	case c.MaxIters < 0:
		return fmt.Errorf("max-iters %d: must be ≥ 0", c.MaxIters)
	case math.IsNaN(c.Divergence) || c.Divergence < 0 || (c.Divergence > 0 && c.Divergence <= 1):
		return fmt.Errorf("divergence factor %g: must be 0 (off) or more than 1", c.Divergence)
	case math.IsNaN(c.Val) || (c.Val >= 1 && c.Val != math.Trunc(c.Val)) || (c.Val < 0 && c.Val != ValAuto):
		// The flags and [train] refuse these too; a Config built in Go is checked here.
		return fmt.Errorf("val %g: must be a count of images, a fraction in [0, 1), or auto", c.Val)
	}
	// The settings read back one by one; the method and momentum must also agree.
	if _, err := NewOptimizer(c.Optimizer, &nn.Info{}); err != nil {
		return err
	}
	return nil
}

// ValCount returns the number of validation images to carve from a training set of n
// images: Val itself when ≥ 1, round(Val·n) for a fraction, 0 for 0, and by default
// (ValAuto) 5,000 when n ≥ 50,000 (MNIST, Fashion-MNIST and CIFAR-10, like the PyTorch
// anchor's held-out images) and 10% of n otherwise. A count that leaves no image to
// train on is an error.
func (c *Config) ValCount(n int) (int, error) {
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
	if v >= n && v > 0 {
		return 0, fmt.Errorf("val %s: %s validation images would leave none of the %s training images to train on",
			strconv.FormatFloat(c.Val, 'f', -1, 64), commas(v), commas(n))
	}
	return max(0, v), nil
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

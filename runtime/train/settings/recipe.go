package settings

import (
	"fmt"
	"strings"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
)

// Defaults of a Recipe: the recipe of the PyTorch anchor (torch_train.py), which netc's
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
	// ValAuto, as Recipe.Val, selects the default validation split ("val auto").
	ValAuto = -1
	// MaxThreads bounds Recipe.Threads: more threads than that only cost memory (every
	// worker has its own buffers) on the machines netc runs on.
	MaxThreads = 256
)

// Optimizer methods accepted in Optimizer.Method.
const (
	// MethodSGD is plain stochastic gradient descent: w -= lr·g.
	MethodSGD = "sgd"
	// MethodMomentum is PyTorch's SGD with momentum.
	MethodMomentum = "momentum"
	// MethodNesterov is PyTorch's SGD with Nesterov momentum.
	MethodNesterov = "nesterov"
	// MethodAdam is PyTorch's Adam, weight decay added to the gradient.
	MethodAdam = "adam"
	// MethodAdamW is PyTorch's AdamW, weight decay decoupled from the gradient.
	MethodAdamW = "adamw"
)

// Optimizer configures the update rule and its regularization. The zero value is plain
// SGD without regularization.
type Optimizer struct {
	// Method is "sgd", "momentum", "nesterov", "adam" or "adamw". Empty means "sgd" when
	// Momentum is 0 and "momentum" otherwise.
	Method string
	// Momentum is μ in [0, 1); momentum and nesterov need it positive, the others 0.
	Momentum float32
	// Beta1, Beta2 and Eps are Adam's; zero means PyTorch's defaults (0.9, 0.999, 1e-8).
	Beta1, Beta2, Eps float32
	// WeightDecay is the L2 coefficient: wd·w is added to the gradient, as PyTorch's
	// weight_decay (the loss term is wd/2·‖w‖²).
	WeightDecay float32
	// L1 is the L1 coefficient: l1·sign(w) is added to the gradient (the loss term is
	// l1·‖w‖₁; sign(0) = 0). WeightDecay and L1 together make the elastic net.
	L1 float32
	// MaxNorm, if positive, bounds the L2 norm of each output unit's incoming weights:
	// after the update, every Shape[0] slice (row) of a weight tensor whose norm exceeds
	// MaxNorm is rescaled to norm MaxNorm (Srivastava et al., 2014). Biases are never
	// constrained. 0 turns it off.
	MaxNorm float32
	// DecayBiases applies WeightDecay and L1 to biases too; by default they are excluded.
	DecayBiases bool
}

// Recipe is what the settings of Table set: how a network is trained, as a spec's
// [train] section and netc train's flags say it.
type Recipe struct {
	// Batch is the number of images per mini-batch.
	Batch int
	// Epochs is the number of passes over the training split.
	Epochs int
	// LR is the base learning rate.
	LR float32
	// Schedule holds the words of the learning-rate schedule, e.g. ["step", "0.1",
	// "every", "10", "epochs"] (see ParseSchedule); empty means constant.
	Schedule []string
	// Warmup holds the words of the warm-up setting, e.g. ["500"]; empty means none.
	Warmup []string
	// Optimizer is the update rule and its regularization (momentum 0.9 and L2 5e-4 on
	// weights by default).
	Optimizer Optimizer
	// LabelSmoothing is ε in [0, 1) of the softmax loss, PyTorch's label_smoothing: the
	// target of an image of class y is (1−ε)·onehot(y) + ε/K over the K classes. 0, the
	// default, is the plain cross-entropy.
	LabelSmoothing float32
	// Init is the initialization scheme of a fresh run; InitStd the standard deviation
	// of InitGaussian (0 means nn.DefaultGaussianStd). The default is the spec's
	// (He for ReLU networks).
	Init    nn.InitScheme
	InitStd float32
	// Seed fixes everything random: the initialization, the order of the images each
	// epoch, the augmentation and the dropout masks.
	Seed uint64
	// Augment is the live augmentation of training images (none by default; "augment
	// flip crop 2" turns on flips and random crops with 2 pixels of padding).
	Augment data.Augment
	// Preprocess is the mean subtracted from the images, fitted on the training split
	// (per channel by default); PreprocessStd also divides by the per-channel standard
	// deviation.
	Preprocess    data.MeanKind
	PreprocessStd bool
	// Val is the size of the validation split carved from the END of the training set:
	// a count when ≥ 1, a fraction of the training set when in (0, 1), none when 0, and
	// the default (ValAuto, any negative value) otherwise.
	Val float64
	// Threads, if positive, sets GOMAXPROCS for the run (and so the number of workers a
	// batch is split over); 0 uses every core. Results are bit for bit reproducible for
	// a fixed Threads; they may differ in the last bits across values.
	Threads int
}

// DefaultRecipe returns the defaults: batch 64, 10 epochs, SGD with momentum 0.9, lr 0.01
// constant, L2 5e-4 on weights only, He initialization, seed 1, per-channel mean
// subtraction, no augmentation, the default validation split, every core.
func DefaultRecipe() Recipe {
	return Recipe{
		Batch:  DefaultBatch,
		Epochs: DefaultEpochs,
		LR:     DefaultLR,
		Optimizer: Optimizer{
			Method:      MethodMomentum,
			Momentum:    DefaultMomentum,
			WeightDecay: DefaultWeightDecay,
		},
		Init:       nn.InitHe,
		Seed:       DefaultSeed,
		Preprocess: data.MeanChannel,
		Val:        ValAuto,
	}
}

// Set applies the setting key with the words values, for an input of shape in (the
// zero Input when unknown). Errors start with the key; a bad value is an *Error.
func (r *Recipe) Set(key string, values []string, in Input) error {
	s, ok := Lookup(key)
	if !ok {
		return fmt.Errorf("%s: unknown setting (known: %s)", key, Keys())
	}
	return s.Apply(r, values, in)
}

// Validate checks every value of r, for an input of shape in (the zero Input when
// unknown), by the rule that reads it from a [train] section: each setting's words
// (Format) must read back (Apply); then the settings together (Coherent).
func (r *Recipe) Validate(in Input) error {
	for i := range Table {
		readBack := *r
		if err := readBack.Set(Table[i].Key, strings.Fields(Table[i].Format(r)), in); err != nil {
			return err
		}
	}
	return r.Coherent()
}

// Coherent checks what no setting can check alone, once all are read: that the schedule
// suits the learning rate (a cosine schedule's minimum is at most lr). The error is an
// *Error of the setting to change.
func (r *Recipe) Coherent() error {
	_, err := ParseSchedule(r.Schedule, r.LR, 1000, 10000)
	if err == nil {
		return nil
	}
	s, _ := Lookup("schedule")
	return s.wrap(err)
}

// String describes the recipe on one line, every setting of Table in its order:
// "batch 64, epochs 10, lr 0.01, optimizer momentum 0.9, ...".
func (r *Recipe) String() string {
	parts := make([]string, len(Table))
	for i := range Table {
		parts[i] = Table[i].Key + " " + Table[i].Format(r)
	}
	return strings.Join(parts, ", ")
}

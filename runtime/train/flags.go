package train

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// settingFlag is a flag that applies a [train] setting to a Config through Config.Set,
// its value split into words.
type settingFlag struct {
	c   *Config
	key string
	get func(*Config) string
}

func (f *settingFlag) String() string {
	if f == nil || f.c == nil {
		return ""
	}
	return f.get(f.c)
}

func (f *settingFlag) Set(s string) error {
	words := strings.Fields(s)
	if len(words) == 0 {
		return fmt.Errorf("empty value")
	}
	return f.c.Set(f.key, words)
}

// intFlag binds a non-negative int field.
type intFlag struct{ p *int }

func (f intFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.Itoa(*f.p)
}

func (f intFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number ≥ 0", s)
	}
	*f.p = n
	return nil
}

// RegisterFlags defines on fs one flag per setting, bound to c, so that parsing the
// command line overrides what c holds (the spec's values, after ConfigFromInfo); the
// defaults shown by -h are c's current values. Flags taking several words take them as
// one argument: --schedule "step 0.1 every 10 epochs".
//
//	--batch N --epochs N --lr F --schedule WORDS --warmup WORDS
//	--optimizer "sgd | momentum [MU] | nesterov [MU]" --momentum MU
//	--l2 F --l1 F --maxnorm F --decay biases|weights
//	--init "he | xavier | gaussian [STD]" --seed N
//	--augment "flip crop PAD | none" --preprocess "channel|image|none [std]" --val N|F
//	--overfit N --run DIR --resume FILE --weights FILE --max-iters N --threads N
//	--data mnist|fashion-mnist|cifar10 --data-dir DIR
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	set := func(key, usage string, get func(*Config) string) {
		fs.Var(&settingFlag{c: c, key: key, get: get}, key, usage)
	}
	set("batch", "mini-batch `size`", func(c *Config) string { return strconv.Itoa(c.Batch) })
	set("epochs", "`number` of epochs", func(c *Config) string { return strconv.Itoa(c.Epochs) })
	set("lr", "base learning `rate`", func(c *Config) string { return fmtF32(c.LR) })
	set("schedule", "learning-rate `schedule`, e.g. \"step 0.1 every 10 epochs\"", func(c *Config) string {
		if len(c.Schedule) == 0 {
			return "constant"
		}
		return strings.Join(c.Schedule, " ")
	})
	set("warmup", "linear `warm-up`: \"N [iterations|epochs] [from F]\"", func(c *Config) string { return strings.Join(c.Warmup, " ") })
	set("optimizer", "`method`: sgd, \"momentum [MU]\" or \"nesterov [MU]\"", func(c *Config) string { return c.Optimizer.Method })
	set("momentum", "`mu` of momentum (0 makes plain SGD)", func(c *Config) string { return fmtF32(c.Optimizer.Momentum) })
	set("l2", "L2 weight decay `coefficient`", func(c *Config) string { return fmtF32(c.Optimizer.WeightDecay) })
	set("l1", "L1 `coefficient`", func(c *Config) string { return fmtF32(c.Optimizer.L1) })
	set("maxnorm", "max-norm `bound` of each unit's weights (0 = off)", func(c *Config) string { return fmtF32(c.Optimizer.MaxNorm) })
	set("decay", "`what` weight decay applies to: weights, or biases (weights and biases)", func(c *Config) string {
		if c.Optimizer.DecayBiases {
			return "biases"
		}
		return "weights"
	})
	set("init", "initialization `scheme`: he, xavier or \"gaussian [STD]\"", func(c *Config) string {
		if c.InitStd > 0 {
			return c.Init.String() + " " + fmtF32(c.InitStd)
		}
		return c.Init.String()
	})
	set("seed", "random `seed` of initialization, shuffling, augmentation and dropout", func(c *Config) string {
		return strconv.FormatUint(c.Seed, 10)
	})
	set("augment", "live `augmentation`: \"flip\", \"crop PAD\", both, or none", func(c *Config) string { return augmentString(c.Augment) })
	set("preprocess", "`mean` subtracted: channel, image or none, optionally followed by std", func(c *Config) string {
		s := string(c.Preprocess)
		if c.PreprocessStd {
			s += " std"
		}
		return s
	})
	set("val", "validation images held out from the end of the training set: a `count`, a fraction, or -1 for the default (5,000 of 50,000 or more, else 10%)", func(c *Config) string {
		return strconv.FormatFloat(c.Val, 'g', -1, 64)
	})
	fs.Var(intFlag{&c.Overfit}, "overfit", "sanity check: train on the first `N` training images without regularization until 100% training accuracy")
	fs.StringVar(&c.RunDir, "run", c.RunDir, "run `folder` for metrics, checkpoints and charts (default runs/SPEC-TIME)")
	fs.StringVar(&c.Resume, "resume", c.Resume, "continue exactly from this checkpoint `file`")
	fs.StringVar(&c.Weights, "weights", c.Weights, "start from the matching tensors of this checkpoint `file` (fine-tuning)")
	fs.Var(intFlag{&c.MaxIters}, "max-iters", "stop after `N` iterations in all, writing a checkpoint (0 = no limit)")
	fs.Var(intFlag{&c.Threads}, "threads", "`number` of threads (GOMAXPROCS; 0 = all cores)")
	fs.StringVar(&c.Data, "data", c.Data, "data `set`: mnist, fashion-mnist or cifar10 (default from the input shape)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "`folder` of the data set (default: its standard location)")
}

// fmtF32 formats a float32 in its shortest exact form.
func fmtF32(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

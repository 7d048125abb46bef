package train

import (
	"flag"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/train/settings"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

func trainSection(kv ...string) []nn.Setting {
	var out []nn.Setting
	for _, line := range kv {
		w := strings.Fields(line)
		out = append(out, nn.Setting{Key: w[0], Values: w[1:]})
	}
	return out
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig(nil)
	want := Config{
		Recipe: settings.Recipe{
			Batch: 64, Epochs: 10, LR: 0.01,
			Optimizer:  OptimizerConfig{Method: "momentum", Momentum: 0.9, WeightDecay: 5e-4},
			Init:       nn.InitHe,
			Seed:       1,
			Preprocess: data.MeanChannel,
			Val:        ValAuto,
		},
		Divergence: 3,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("DefaultConfig = %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if c := DefaultConfig(&nn.Info{Init: "xavier"}); c.Init != nn.InitXavier {
		t.Errorf("spec init xavier gave %v", c.Init)
	}
}

func TestConfigFromInfo(t *testing.T) {
	c, err := ConfigFromInfo(lenetmnist.New(1).Info())
	if err != nil {
		t.Fatal(err)
	}
	if c.Batch != 64 || c.Epochs != 3 || c.LR != 0.03 || !slices.Equal(c.Schedule, []string{"poly", "1"}) ||
		c.Optimizer.Momentum != 0.9 || c.Optimizer.WeightDecay != 5e-4 || c.Preprocess != data.MeanChannel {
		t.Errorf("lenet-mnist config %+v", c)
	}
	info := &nn.Info{Name: "x", Init: "he", Train: trainSection(
		"batch 32", "epochs 7", "lr 0.1", "optimizer nesterov 0.95", "l2 1e-3", "l1 1e-5",
		"maxnorm 3", "decay biases", "schedule step 0.1 every 10 epochs", "warmup 500",
		"augment flip crop 4", "init gaussian 0.01", "seed 42", "val 0.2", "preprocess image std", "threads 2")}
	c, err = ConfigFromInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Recipe: settings.Recipe{
			Batch: 32, Epochs: 7, LR: 0.1,
			Schedule: strings.Fields("step 0.1 every 10 epochs"),
			Warmup:   []string{"500"},
			Optimizer: OptimizerConfig{
				Method: "nesterov", Momentum: 0.95, WeightDecay: 1e-3, L1: 1e-5, MaxNorm: 3, DecayBiases: true,
			},
			Init:       nn.InitGaussian,
			InitStd:    0.01,
			Seed:       42,
			Augment:    data.Augment{Flip: true, CropPad: 4},
			Preprocess: data.MeanImage, PreprocessStd: true,
			Val:     0.2,
			Threads: 2,
		},
		Divergence: 3,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if got, err := c.ValCount(1000); got != 200 || err != nil {
		t.Errorf("ValCount(1000) with val 0.2 = %d, %v", got, err)
	}
	// want -1: an error, since no image would be left to train on.
	for _, tc := range []struct {
		val  float64
		n    int
		want int
	}{{ValAuto, 60000, 5000}, {ValAuto, 50000, 5000}, {ValAuto, 4000, 400}, {0, 4000, 0}, {123, 4000, 123},
		{99, 100, 99}, {9999, 100, -1}, {60000, 60000, -1}, {1e6, 60000, -1}, {0.9999, 100, -1}, {0, 0, 0}} {
		c := Config{Recipe: settings.Recipe{Val: tc.val}}
		got, err := c.ValCount(tc.n)
		if (tc.want < 0) != (err != nil) || (err == nil && got != tc.want) {
			t.Errorf("Val %v: ValCount(%d) = %d, %v; want %d", tc.val, tc.n, got, err, tc.want)
		}
	}
	// sgd clears the momentum; momentum 0 switches to sgd.
	c, err = ConfigFromInfo(&nn.Info{Name: "x", Train: trainSection("optimizer sgd", "augment none", "preprocess none")})
	if err != nil || c.Optimizer.Method != "sgd" || c.Optimizer.Momentum != 0 || c.Augment.Enabled() || c.Preprocess != data.MeanNone {
		t.Errorf("sgd: %+v, %v", c, err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ setting, want string }{
		{"batch 0", `batch: "0" is not a whole number ≥ 1 (e.g. batch 64)`},
		{"batch 6.5", `batch: "6.5" is not a whole number`},
		{"epochs -1", `epochs: "-1" is not a whole number ≥ 1`},
		{"lr 0", `lr: "0" must be a number > 0`},
		{"lr x", `lr: "x" is not a finite number`},
		{"optimizer adagrad", `"adagrad" is not an optimizer netc has; they are sgd, momentum [MU], nesterov [MU], adam`},
		{"optimizer momentum 1.5", "momentum \"1.5\" is not a number in (0, 1)"},
		{"optimizer sgd 0.9", "sgd takes no momentum"},
		{"l2 -1", `l2: "-1" is negative`},
		{"decay everything", `decay: "everything" is not one of weights, biases`},
		{"schedule step 0.1 every 10 fortnights", `schedule step: "fortnights" is not a unit`},
		{"schedule linear", `"linear" is not a kind of schedule; the kinds are constant, step,`},
		{"schedule cosine to 9", "between 0 and the base"},
		{"warmup -5", `warmup: length "-5" is negative`},
		{"augment rotate", `augment: "rotate" is not an augmentation`},
		{"augment crop", "crop needs its padding"},
		{"init orthogonal", `init: "orthogonal" is not an initialization`},
		{"seed -3", `seed: "-3" is not a whole number ≥ 0`},
		{"val 12.5", `val: "12.5" is neither a count`},
		{"val -5", `val: "-5" is neither a count`},
		{"threads 100000", `threads: 100000 is more than 256`},
		{"momentum 0.9", "momentum: unknown setting"},
		{"preprocess median", `preprocess: "median" is not a mean`},
		{"preprocess channel norm", `unexpected "norm"`},
		{"colour red", "colour: unknown setting"},
	} {
		_, err := ConfigFromInfo(&nn.Info{Name: "spec", Train: trainSection(tc.setting)})
		if err == nil {
			t.Errorf("%s: no error", tc.setting)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "spec [train]") {
			t.Errorf("%s: error %q, want it to start with \"spec [train]\" and contain %q", tc.setting, err, tc.want)
		}
	}
	// The crop must fit the network's input (it made every training step panic).
	info := &nn.Info{Name: "mnist", InC: 1, InH: 28, InW: 28, Train: trainSection("augment flip crop 29")}
	if _, err := ConfigFromInfo(info); err == nil || !strings.Contains(err.Error(), "does not fit the 28x28 input") {
		t.Errorf("crop 29 on 28x28: %v", err)
	}
}

func TestFlagsOverride(t *testing.T) {
	c, err := ConfigFromInfo(lenetmnist.New(1).Info())
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	err = fs.Parse(strings.Fields("--epochs 5 --batch 128 --lr 0.05 --seed 7 --l2 0 --optimizer sgd --overfit 20 --val 1000 " +
		"--run r --resume ck --data fashion-mnist --data-dir d --threads 1 --init xavier --max-iters 9 " +
		"-augment flip -preprocess none --labelsmooth 0.2"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Recipe: settings.Recipe{
			Batch: 128, Epochs: 5, LR: 0.05, Schedule: []string{"poly", "1"},
			Optimizer:  OptimizerConfig{Method: "sgd"},
			Init:       nn.InitXavier,
			Seed:       7,
			Augment:    data.Augment{Flip: true},
			Preprocess: data.MeanNone,
			Val:        1000, Threads: 1,
			LabelSmoothing: 0.2,
		},
		Overfit: 20, RunDir: "r", Resume: "ck", MaxIters: 9,
		Divergence: 3, Data: "fashion-mnist", DataDir: "d",
		input: settings.Input{C: 1, H: 28, W: 28, Loss: "softmax"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	// Words flags take one argument.
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c = DefaultConfig(nil)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"--schedule", "multistep 0.1 at 20 30 epochs", "--optimizer", "nesterov"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Schedule, " ") != "multistep 0.1 at 20 30 epochs" || c.Optimizer.Method != "nesterov" || c.Optimizer.Momentum != 0.9 {
		t.Errorf("schedule %q, optimizer %+v", c.Schedule, c.Optimizer)
	}
	// Bad values name the flag; the crop must fit the network's 28x28 input.
	for _, args := range [][]string{
		{"--lr", "fast"}, {"--batch", "0"}, {"--epochs", "x"}, {"--schedule", "step"}, {"--overfit", "-1"},
		{"--augment", "spin"}, {"--augment", "crop 28"}, {"--val", "-1"},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		var out strings.Builder
		fs.SetOutput(&out)
		c := DefaultConfig(lenetmnist.New(1).Info())
		c.RegisterFlags(fs)
		err := fs.Parse(args)
		if err == nil || !strings.Contains(err.Error(), args[0][2:]) {
			t.Errorf("%v: error %v", args, err)
		}
	}
	// -h shows the spec's values as defaults.
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	var help strings.Builder
	fs.SetOutput(&help)
	c, _ = ConfigFromInfo(lenetmnist.New(1).Info())
	c.RegisterFlags(fs)
	fs.PrintDefaults()
	for _, want := range []string{"-epochs", "(default 3)", "-lr", "(default 0.03)", "-overfit N"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, help.String())
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Batch = 0 }, `batch: "0"`},
		{func(c *Config) { c.LR = -1 }, `lr: "-1"`},
		{func(c *Config) { c.Divergence = 0.5 }, "divergence factor 0.5"},
		{func(c *Config) { c.Optimizer.Method = "nesterov"; c.Optimizer.Momentum = 0 }, `momentum "0" is not`},
		{func(c *Config) { c.Optimizer.Method = "sgd"; c.Optimizer.Momentum = 0.9 }, "given with method sgd"},
		{func(c *Config) { c.Threads = -1 }, `threads: "-1"`},
		{func(c *Config) { c.Schedule = strings.Fields("cosine to 0.1") }, `minimum "0.1" must be`},
		{func(c *Config) { c.Preprocess = "median" }, `preprocess: "median" is not a mean`},
		{func(c *Config) { c.Schedule = []string{"poly"} }, "schedule poly: missing power"},
	} {
		c := DefaultConfig(nil)
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

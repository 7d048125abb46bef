package train

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/monitor"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

// TestDiagnose checks each cause on the figures of real lenet-mnist runs on MNIST
// (initial loss 2.5313; chance 0.1126 on the validation split): --lr 5, --lr 1e-5 and
// --l2 1 after one epoch, and good or fine-tuning runs that must not be flagged.
func TestDiagnose(t *testing.T) {
	const chance = 0.1126
	for _, tc := range []struct {
		name       string
		lr, l2, l1 float32
		weights    string  // Config.Weights
		peak       float64 // highest batch loss
		regStart   float64
		loss, acc  float64
		iters      int                // iterations run (0: 860)
		conf       *monitor.Confusion // the predictions (nil: not counted)
		cause      Cause              // 0: not flagged
		text       []string
	}{
		{name: "good", lr: 0.03, l2: 5e-4, peak: 2.6, regStart: 0.017, loss: 0.1652, acc: 0.9836},
		{name: "lr 5", lr: 5, l2: 5e-4, peak: 7.107, regStart: 0.017, loss: 2.4904, acc: 0.0916, cause: LRTooHigh,
			text: []string{"not learning after epoch 1: val accuracy 0.0916 is at chance (0.1126), loss 2.4904 against 2.5313",
				"\n  the loss jumped to 7.107, 2.81× the initial, at iteration 2: " +
					"the learning rate is too high; try --lr 0.5 (now 5)"}},
		{name: "lr 1e-5", lr: 1e-5, l2: 5e-4, peak: 2.6, regStart: 0.017, loss: 2.4982, acc: 0.1268, cause: LRTooLow,
			conf: predictions(func(i int) int { return i * 7 % 10 }),
			text: []string{"is at chance",
				"the loss barely moved (-1.3%): the learning rate is too low; try --lr 0.0001 (now 1e-05)"}},
		{name: "l2 1", lr: 0.03, l2: 1, peak: 2.6, regStart: 34, loss: 2.3019, acc: 0.106, cause: TooMuchRegularization,
			text: []string{"the regularization term was 93% of the total loss at the start: " +
				"regularization is too strong; try --l2 0.1 (now 1)"}},
		{name: "l1", lr: 0.03, l1: 0.5, peak: 2.6, regStart: 20, loss: 2.3019, acc: 0.106, cause: TooMuchRegularization,
			text: []string{"try --l1 0.05 (now 0.5)"}},
		{name: "fell, then at chance", lr: 0.3, peak: 3, loss: 1.9, acc: 0.1135, cause: LRTooHigh,
			text: []string{"the loss fell but the accuracy stays at chance: the learning rate is probably too high",
				"--lr 0.03"}},
		{name: "loss not below the initial", lr: 0.01, peak: 2.6, loss: 2.54, acc: 0.4, cause: LRTooLow,
			text: []string{"val accuracy 0.4000, loss 2.5400 against 2.5313"}},
		{name: "loss rose", lr: 0.1, peak: 4, loss: 3.1, acc: 0.1, cause: LRTooHigh,
			text: []string{"the loss rose (+22.5%): the learning rate is too high; try --lr 0.01 (now 0.1)"}},
		{name: "dead, the loss flat", lr: 1, peak: 2.6, loss: 2.57, acc: 0.1, cause: LRTooHigh,
			conf: predictions(func(int) int { return 7 }),
			text: []string{"the network gives 100% of the images class 7 (dead units): " +
				"the learning rate is too high; try --lr 0.1"}},
		{name: "fine-tuning", lr: 0.01, weights: "pre.safetensors", peak: 2.6, loss: 2.6, acc: 0.4},
		{name: "no accuracy", lr: 0.01, peak: 2.6, loss: 1.2, acc: math.NaN()},
		{name: "just above chance", lr: 0.01, peak: 2.6, loss: 2.4, acc: chance + 0.05*(1-chance) + 1e-6},
		{name: "too short to tell", iters: 19, lr: 1, peak: 2.6, loss: 2.4, acc: 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &trainer{iter: 860, initialLoss: 2.5313, peakLoss: tc.peak, peakIter: 2, regStart: tc.regStart}
			if tc.iters > 0 {
				tr.iter = tc.iters
			}
			tr.cfg.LR, tr.cfg.Weights = tc.lr, tc.weights
			tr.cfg.Optimizer.WeightDecay, tr.cfg.Optimizer.L1 = tc.l2, tc.l1
			d := tr.diagnose(1, tc.loss, measured{tc.acc, chance, "val", tc.conf})
			if tc.cause == 0 {
				if d != nil {
					t.Fatalf("flagged: %v", d)
				}
				return
			}
			if d == nil || d.Cause != tc.cause {
				t.Fatalf("diagnosis %+v, want cause %d", d, tc.cause)
			}
			for _, s := range tc.text {
				if !strings.Contains(d.String(), s) {
					t.Errorf("%q lacks %q", d.String(), s)
				}
			}
		})
	}
}

func TestRegLoss(t *testing.T) {
	info := testInfo(tensor{"fc.weight", false, 1, []int{1, 3}}, tensor{"fc.bias", true, 1, []int{1}},
		tensor{"frozen.weight", false, 0, []int{2}})
	params := []float32{1, -2, 3, 10, 100, 100}
	for _, tc := range []struct {
		cfg  OptimizerConfig
		want float64
	}{
		{OptimizerConfig{}, 0},
		{OptimizerConfig{WeightDecay: 0.1}, 0.05 * 14}, // biases and frozen tensors left out
		{OptimizerConfig{WeightDecay: 0.1, DecayBiases: true}, 0.05 * 114},
		{OptimizerConfig{L1: 0.5}, 0.5 * 6},
		{OptimizerConfig{WeightDecay: 0.1, L1: 0.5}, 0.05*14 + 0.5*6},
	} {
		opt, err := NewOptimizer(tc.cfg, info)
		if err != nil {
			t.Fatal(err)
		}
		if got := opt.regLoss(params); math.Abs(got-tc.want) > 1e-6*tc.want {
			t.Errorf("%+v: regLoss %v, want %v", tc.cfg, got, tc.want)
		}
	}
}

// TestTrainNotLearning: a learning rate that kills the network without passing the 3×
// stop (lenet-mnist at lr 1) is flagged after the first epoch and at the end, with the
// cause; the good run of TestTrainConfusion is not.
func TestTrainNotLearning(t *testing.T) {
	train, test := mnist(t, 1700, 300) // 22 iterations an epoch: cheap, yet long enough to judge
	train, val, err := train.Split(300)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mnistConfig(t, 2)
	cfg.LR = 1
	var out bytes.Buffer
	res, err := Train(lenetmnist.New(1), train, val, test, cfg, &out)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.NotLearning == nil || res.NotLearning.Cause != LRTooHigh || res.NotLearning.Epoch != 2 ||
		res.NotLearning.AccOf != "test" || res.NotLearning.Acc != res.TestAcc {
		t.Fatalf("diagnosis %+v", res.NotLearning)
	}
	text := out.String()
	if n := strings.Count(text, "warning: the network is not learning after epoch "); n != 2 {
		t.Errorf("%d warnings, want 2 (after epoch 1 and at the end)", n)
	}
	if !strings.Contains(text, "too high") || !strings.Contains(text, "; try --lr 0.1 (now 1)") {
		t.Error("no advice to lower --lr")
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "test accuracy ") {
		t.Errorf("last line %q", last)
	}
}

// TestTrainConfusion: the end of a run prints the test set's per-class table and draws
// confusion.png, whose counts agree with the test accuracy.
func TestTrainConfusion(t *testing.T) {
	train, test := mnist(t, 1300, 300) // 21 iterations, enough to be judged
	cfg := mnistConfig(t, 1)
	cfg.RunDir = t.TempDir()
	var out bytes.Buffer
	res, err := Train(lenetmnist.New(1), train, nil, test, cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Confusion
	if c == nil || c.Total() != 300 || c.Accuracy() != res.TestAcc || c.Names[7] != "7" {
		t.Fatalf("confusion %+v, test accuracy %v", c, res.TestAcc)
	}
	if res.NotLearning != nil {
		t.Errorf("a good run flagged: %v", res.NotLearning)
	}
	text := out.String()
	for _, want := range []string{"test set: 300 images, accuracy ", "\nclass  ", "\n9  "} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "not learning") {
		t.Errorf("a good run warned:\n%s", text)
	}
	expectPicture(t, filepath.Join(cfg.RunDir, monitor.ConfusionPNG))
}

// predictions returns the confusion matrix of 100 images of the 10 classes in turn,
// image i predicted as class predict(i).
func predictions(predict func(i int) int) *monitor.Confusion {
	c := monitor.NewConfusion(10, nil)
	for i := range 100 {
		c.Add(i%10, predict(i))
	}
	return c
}

package train

import (
	"bytes"
	"errors"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/netc-dev/netc/runtime/charts"
	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/monitor"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/testdata/golden/bigkernel"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
	"github.com/netc-dev/netc/testdata/golden/lrnmean"
	"github.com/netc-dev/netc/testdata/golden/meanimage"
)

var mnistData struct {
	once        sync.Once
	train, test *data.Dataset
	err         error
}

// mnist returns fresh copies (Train preprocesses in place) of the first nTrain training
// and nTest test images of MNIST.
func mnist(t testing.TB, nTrain, nTest int) (train, test *data.Dataset) {
	t.Helper()
	mnistData.once.Do(func() { mnistData.train, mnistData.test, mnistData.err = data.Load(data.MNIST, "") })
	if mnistData.err != nil {
		t.Fatal(mnistData.err)
	}
	return first(mnistData.train, nTrain), first(mnistData.test, nTest)
}

func first(ds *data.Dataset, n int) *data.Dataset {
	idx := make([]int, min(n, ds.Len()))
	for i := range idx {
		idx[i] = i
	}
	return ds.Subset(idx)
}

// synthetic returns n random images of shape c×h×w in classes classes, whose class is
// visible in their mean brightness (so that a network can learn it).
func synthetic(n, c, h, w, classes int, seed uint64) *data.Dataset {
	rng := nn.NewRNG(seed)
	ds := &data.Dataset{C: c, H: h, W: w, Classes: classes, X: make([]float32, n*c*h*w), Labels: make([]int32, n)}
	for i := 0; i < n; i++ {
		l := rng.Intn(classes)
		ds.Labels[i] = int32(l)
		for j, img := 0, ds.Image(i); j < len(img); j++ {
			img[j] = float32(l)/float32(classes) + 0.5*rng.Float32()
		}
	}
	return ds
}

// mnistConfig is a quick configuration for lenet-mnist on a subset of MNIST.
func mnistConfig(t *testing.T, epochs int) Config {
	t.Helper()
	c, err := ConfigFromInfo(lenetmnist.New(1).Info())
	if err != nil {
		t.Fatal(err)
	}
	// The tests below want the recipe they were written for: lr 0.01, constant.
	c.Epochs, c.LR, c.Schedule = epochs, 0.01, nil
	return c
}

var epochLine = regexp.MustCompile(`^epoch (\d+)/(\d+)  loss \d+\.\d{4}  train [01]\.\d{4}  val ([01]\.\d{4}|-)  lr [0-9.e-]+  \d+ img/s  \d+\.\ds$`)

func TestTrainMNIST(t *testing.T) {
	train, test := mnist(t, 2500, 500)
	train, val, err := train.Split(500)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mnistConfig(t, 2)
	cfg.RunDir = t.TempDir()
	var out bytes.Buffer
	res, err := Train(lenetmnist.New(1), train, val, test, cfg, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	t.Logf("\n%s", out.String())
	// The initial loss beside ln 10.
	var initial string
	for _, l := range lines {
		if strings.HasPrefix(l, "initial loss") {
			initial = l
		}
	}
	if !regexp.MustCompile(`^initial loss \d\.\d{4} \(ln 10 = 2\.3026\)$`).MatchString(initial) {
		t.Errorf("initial loss line %q", initial)
	}
	if math.Abs(res.InitialLoss-math.Log(10)) > 0.7 {
		t.Errorf("initial loss %v far from ln 10", res.InitialLoss)
	}
	var epochs int
	for _, l := range lines {
		if strings.HasPrefix(l, "epoch ") {
			if !epochLine.MatchString(l) {
				t.Errorf("epoch line %q", l)
			}
			epochs++
		}
	}
	if epochs != 2 || len(res.Epochs) != 2 {
		t.Errorf("%d epoch lines, %d records", epochs, len(res.Epochs))
	}
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^test accuracy 0\.\d{4}$`).MatchString(last) {
		t.Errorf("last line %q", last)
	}
	if res.TestAcc < 0.85 || res.ValAcc < 0.85 {
		t.Errorf("test accuracy %v, validation %v after 2 epochs on 2,000 images", res.TestAcc, res.ValAcc)
	}
	if res.Iters != 2*32 || res.Epochs[1].Loss >= res.Epochs[0].Loss {
		t.Errorf("iterations %d, epoch losses %v %v", res.Iters, res.Epochs[0].Loss, res.Epochs[1].Loss)
	}
	for _, f := range []string{CheckpointFile, BestFile, monitor.ItersFile, monitor.EpochsFile} {
		if _, err := os.Stat(filepath.Join(cfg.RunDir, f)); err != nil {
			t.Error(err)
		}
	}
	// The filter grid of this real run, and its charts drawn from the metrics as netc
	// train does, decode and are not blank.
	if err := charts.WriteAll(cfg.RunDir, false); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"loss.png", "accuracy.png", "lr.png", "filters.png"} {
		expectPicture(t, filepath.Join(cfg.RunDir, f))
	}
	iters, eps, err := monitor.ReadMetrics(cfg.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(iters) != 64 || len(eps) != 2 || iters[0].LR != 0.01 || iters[63].Epoch != 2 {
		t.Errorf("metrics: %d iterations, %d epochs, first %+v, last %+v", len(iters), len(eps), iters[0], iters[len(iters)-1])
	}
	ck, err := ReadCheckpoint(res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Iter != 64 || ck.Epoch != 2 || ck.Network != "lenet-mnist" || ck.Preprocess.Kind != data.MeanChannel || len(ck.Preprocess.Mean) != 1 {
		t.Errorf("checkpoint %+v", ck)
	}
	// The preprocessing was fitted on the training split only and applied to all.
	if m := ck.Preprocess.Mean[0]; m < 0.1 || m > 0.16 {
		t.Errorf("MNIST mean %v", m)
	}
}

func TestOverfit(t *testing.T) {
	train, _ := mnist(t, 200, 0)
	before := append([]float32(nil), train.X...)
	cfg := mnistConfig(t, 3)
	cfg.Overfit = 20
	var out bytes.Buffer
	res, err := Train(lenetmnist.New(1), train, nil, nil, cfg, &out)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.TrainAcc != 1 || res.Iters > 300 {
		t.Errorf("overfit: accuracy %v after %d iterations", res.TrainAcc, res.Iters)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "overfit accuracy 1.0000 on 20 images after ") {
		t.Errorf("last line %q", last)
	}
	if !bytes.Equal(f32bytes(before), f32bytes(train.X)) {
		t.Error("overfit mode changed the training set")
	}
	// Too low a rate cannot overfit in 20 iterations: an OverfitError.
	cfg.LR, cfg.MaxIters = 1e-6, 20
	_, err = Train(lenetmnist.New(1), train, nil, nil, cfg, nil)
	var oe *OverfitError
	if !errors.As(err, &oe) || oe.Iters != 20 || oe.N != 20 || !strings.Contains(err.Error(), "too low") {
		t.Errorf("error %v", err)
	}
}

func f32bytes(x []float32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		u := math.Float32bits(v)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

func TestDivergence(t *testing.T) {
	for _, tc := range []struct {
		lr      float32
		factor  float64
		nanData bool
		want    string
	}{
		{1e6, 3, false, `^loss \d\.\d+e\+\d+ exceeds 3× the initial 2\.\d\d at iteration 2 \(epoch 1\): the learning rate \(1e\+06\) is probably too high$`},
		{10, 3, false, `^loss \d+(\.\d+)? exceeds 3× the initial 2\.\d\d at iteration \d \(epoch 1\): the learning rate \(10\) is probably too high$`},
		// Without the 3× test, NaN and Inf still stop.
		{1e6, 0, false, `^loss (NaN|\+Inf) at iteration \d+ \(epoch 1\): the learning rate \(1e\+06\) is probably too high$`},
		{0.01, 3, true, `^the initial loss is NaN: check the data`},
	} {
		train, _ := mnist(t, 640, 0)
		if tc.nanData {
			for i := range train.X {
				train.X[i] = float32(math.NaN())
			}
		}
		cfg := mnistConfig(t, 1)
		cfg.LR, cfg.Divergence = tc.lr, tc.factor
		var out bytes.Buffer
		res, err := Train(lenetmnist.New(1), train, nil, nil, cfg, &out)
		var de *DivergedError
		if !errors.As(err, &de) {
			t.Fatalf("lr %g: error %v\n%s", tc.lr, err, out.String())
		}
		if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
			t.Errorf("lr %g: error %q, want %q", tc.lr, err, tc.want)
		}
		if res.Iters != de.Iter || de.Iter > 10 || !(de.Initial == res.InitialLoss || tc.nanData) {
			t.Errorf("lr %g: stopped at %d (result %d), initial %v", tc.lr, de.Iter, res.Iters, de.Initial)
		}
		t.Logf("lr %g: %v", tc.lr, err)
	}
}

// TestDivergenceKeepsCheckpoint trains an epoch, then resumes with a learning rate far
// too high: the run stops and the checkpoint is the good one, byte for byte.
func TestDivergenceKeepsCheckpoint(t *testing.T) {
	train, _ := mnist(t, 640, 0)
	cfg := mnistConfig(t, 1)
	cfg.RunDir = t.TempDir()
	res, err := Train(lenetmnist.New(1), train, nil, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	train, _ = mnist(t, 640, 0)
	cfg.Epochs, cfg.LR, cfg.Resume, cfg.RunDir = 2, 50, res.Checkpoint, ""
	var out bytes.Buffer
	_, err = Train(lenetmnist.New(1), train, nil, nil, cfg, &out)
	var de *DivergedError
	if !errors.As(err, &de) || de.Iter <= 10 || de.Epoch != 2 {
		t.Fatalf("error %v", err)
	}
	after, _ := os.ReadFile(res.Checkpoint)
	if !bytes.Equal(good, after) {
		t.Error("the checkpoint changed")
	}
	if !strings.Contains(out.String(), `warning: settings changed since the checkpoint (epochs 1 → 2, lr 0.01 → 50)`) {
		t.Errorf("output:\n%s", out.String())
	}
	if de.Checkpoint != res.Checkpoint || !strings.Contains(err.Error(), "exceeds 3× the initial") {
		// The last good checkpoint is the one resumed from; the initial loss is the
		// first run's.
		t.Errorf("error %q (checkpoint %q)", err, de.Checkpoint)
	}
}

// sameParams reports the first parameter that differs in its bits.
func sameParams(t *testing.T, what string, a, b []float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d values", what, len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("%s: value %d differs: %v vs %v", what, i, a[i], b[i])
		}
	}
}

// sameRecords compares epoch records except for the timings.
func sameRecords(t *testing.T, a, b []monitor.EpochRecord) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d vs %d epochs", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		x.ImgPerSec, x.Seconds, y.ImgPerSec, y.Seconds = 0, 0, 0, 0
		if x != y && !(math.IsNaN(x.ValAcc) && math.IsNaN(y.ValAcc) && x.Loss == y.Loss && x.TrainAcc == y.TrainAcc) {
			t.Errorf("epoch %d: %+v vs %+v", i+1, x, y)
		}
	}
}

func TestDeterminism(t *testing.T) {
	run := func(seed uint64) (*Result, []float32) {
		train, test := mnist(t, 1000, 200)
		train, val, _ := train.Split(200)
		cfg := mnistConfig(t, 2)
		cfg.Seed = seed
		cfg.Augment = data.Augment{Flip: true, CropPad: 2} // not for digits, but random
		net := lenetmnist.New(99)                          // Train initializes from cfg.Seed
		res, err := Train(net, train, val, test, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res, net.Params()
	}
	r1, p1 := run(5)
	r2, p2 := run(5)
	sameRecords(t, r1.Epochs, r2.Epochs)
	sameParams(t, "same seed", p1, p2)
	if r1.TestAcc != r2.TestAcc || r1.InitialLoss != r2.InitialLoss {
		t.Errorf("test accuracy %v vs %v, initial loss %v vs %v", r1.TestAcc, r2.TestAcc, r1.InitialLoss, r2.InitialLoss)
	}
	r3, _ := run(6)
	if r3.Epochs[0].Loss == r1.Epochs[0].Loss {
		t.Error("another seed gave the same first epoch")
	}
}

// resumeCase trains the network straight, then in two parts with a checkpoint in the
// middle of an epoch, and checks that both give the same bits.
func resumeCase(t *testing.T, newNet func() nn.Network, sets func() (train, val *data.Dataset), cfg Config, stopAt int) {
	straightDir, splitDir := t.TempDir(), t.TempDir()
	cfg.RunDir = straightDir
	tr, val := sets()
	netA := newNet()
	a, err := Train(netA, tr, val, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stopAt%(a.Iters/cfg.Epochs) == 0 {
		t.Fatalf("stop at %d is not in the middle of an epoch of %d iterations", stopAt, a.Iters/cfg.Epochs)
	}
	cfg.RunDir, cfg.MaxIters = splitDir, stopAt
	tr, val = sets()
	first, err := Train(newNet(), tr, val, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Stopped || first.Iters != stopAt {
		t.Fatalf("first part: stopped %v after %d iterations", first.Stopped, first.Iters)
	}
	cfg.RunDir, cfg.MaxIters, cfg.Resume = "", 0, first.Checkpoint
	cfg.Seed = 12345 // ignored when resuming: the state comes from the checkpoint
	tr, val = sets()
	netB := newNet()
	var out bytes.Buffer
	b, err := Train(netB, tr, val, nil, cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "resuming from") || b.RunDir != splitDir {
		t.Errorf("resumed run in %q:\n%s", b.RunDir, out.String())
	}
	sameParams(t, "weights", netA.Params(), netB.Params())
	ckA, err := ReadCheckpoint(a.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	ckB, err := ReadCheckpoint(b.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range netA.Info().Params {
		if p.Buffer {
			continue
		}
		va, err1 := ckA.file.Float32(VelocityPrefix+p.Name, nil)
		vb, err2 := ckB.file.Float32(VelocityPrefix+p.Name, nil)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		sameParams(t, "velocity "+p.Name, va, vb)
	}
	if ckA.RNG != ckB.RNG || ckA.Loader != ckB.Loader || ckA.Iter != ckB.Iter {
		t.Errorf("state %+v vs %+v", ckA, ckB)
	}
	// The epoch records of the resumed run equal the straight run's, the one cut in two
	// included; the metrics files too.
	sameRecords(t, a.Epochs[len(a.Epochs)-len(b.Epochs):], b.Epochs)
	itA, epA, err := monitor.ReadMetrics(straightDir)
	if err != nil {
		t.Fatal(err)
	}
	itB, epB, err := monitor.ReadMetrics(splitDir)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, epA, epB)
	if len(itA) != len(itB) {
		t.Fatalf("%d vs %d iteration rows", len(itA), len(itB))
	}
	for i := range itA {
		if itA[i] != itB[i] {
			t.Fatalf("iteration row %d: %+v vs %+v", i, itA[i], itB[i])
		}
	}
}

func TestResumeExact(t *testing.T) {
	// 650 images in batches of 64: 10 full batches and a short one of 10 per epoch;
	// stopping at 15 cuts the second epoch.
	cfg := mnistConfig(t, 3)
	resumeCase(t, func() nn.Network { return lenetmnist.New(1) },
		func() (train, val *data.Dataset) {
			tr, _ := mnist(t, 750, 0)
			tr, val, _ = tr.Split(100)
			return tr, val
		}, cfg, 15)
}

func TestResumeExactDropout(t *testing.T) {
	// bigkernel has dropout and an SVM loss; augmentation and Nesterov on top.
	cfg := DefaultConfig(bigkernel.New(1).Info())
	cfg.Epochs, cfg.Batch = 3, 16
	cfg.Augment = data.Augment{Flip: true, CropPad: 2}
	cfg.Optimizer.Method = MethodNesterov
	cfg.Schedule = strings.Fields("exp 0.9")
	resumeCase(t, func() nn.Network { return bigkernel.New(1) },
		func() (train, val *data.Dataset) {
			return synthetic(200, 3, 15, 15, 3, 1), synthetic(40, 3, 15, 15, 3, 2)
		}, cfg, 20)
}

func TestResumeExactAdamW(t *testing.T) {
	// AdamW's second moment and step count come back from the checkpoint: a resumed run's
	// weights equal a straight run's bit for bit.
	cfg := mnistConfig(t, 2)
	cfg.Optimizer = OptimizerConfig{Method: MethodAdamW, WeightDecay: 0.01}
	cfg.LR = 0.001
	resumeCase(t, func() nn.Network { return lenetmnist.New(1) },
		func() (train, val *data.Dataset) {
			tr, _ := mnist(t, 750, 0)
			tr, val, _ = tr.Split(100)
			return tr, val
		}, cfg, 15)
}

// otherVersion is a network whose Info claims another spec (or another version of it).
type otherVersion struct {
	nn.Network
	info nn.Info
}

func (o *otherVersion) Info() *nn.Info { return &o.info }

func TestResumeRefusesOtherSpec(t *testing.T) {
	train, _ := mnist(t, 200, 0)
	cfg := mnistConfig(t, 1)
	cfg.RunDir = t.TempDir()
	res, err := Train(lenetmnist.New(1), train, nil, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resume, cfg.RunDir = res.Checkpoint, ""
	h := regexp.QuoteMeta(lenetmnist.New(1).Info().SpecHash[:12])
	for _, tc := range []struct {
		name, hash, want string
	}{
		{"lenet-mnist", "0123456789abcdef", `checkpoint of another version of spec "lenet-mnist" \(hash ` + h + `\), not of this network's \(hash 0123456789ab\)`},
		{"other-net", "fedcba9876543210", `checkpoint of spec "lenet-mnist" \(hash ` + h + `\), not of "other-net" \(hash fedcba987654\); cannot resume a different network`},
	} {
		n := lenetmnist.New(1)
		o := &otherVersion{Network: n, info: *n.Info()}
		o.info.Name, o.info.SpecHash = tc.name, tc.hash
		train, _ := mnist(t, 200, 0)
		_, err := Train(o, train, nil, nil, cfg, nil)
		if err == nil || !regexp.MustCompile(tc.want).MatchString(err.Error()) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	// The same spec source under another file name is the same network.
	n := lenetmnist.New(1)
	renamed := &otherVersion{Network: n, info: *n.Info()}
	renamed.info.Name = "my-lenet"
	train, _ = mnist(t, 200, 0)
	if _, err := Train(renamed, train, nil, nil, cfg, nil); err != nil {
		t.Errorf("resuming under another name: %v", err)
	}
	// A different batch size cannot resume exactly either.
	cfg.Batch = 32
	train, _ = mnist(t, 200, 0)
	if _, err := Train(lenetmnist.New(1), train, nil, nil, cfg, nil); err == nil || !strings.Contains(err.Error(), "iterations per epoch") {
		t.Errorf("batch change: %v", err)
	}
}

func TestLoadWeights(t *testing.T) {
	train, _ := mnist(t, 200, 0)
	cfg := mnistConfig(t, 1)
	cfg.RunDir = t.TempDir()
	a := lenetmnist.New(1)
	res, err := Train(a, train, nil, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := lenetmnist.New(2)
	loaded, skipped, err := LoadWeights(res.Checkpoint, b)
	if err != nil || len(loaded) != 6 || len(skipped) != 0 {
		t.Fatalf("loaded %v, skipped %v, %v", loaded, skipped, err)
	}
	sameParams(t, "loaded", a.Params(), b.Params())
	// Into another network: only the tensors of the same name and shape.
	c := meanimage.New(1)
	loaded, skipped, err = LoadWeights(res.Checkpoint, c)
	if err != nil || len(loaded) != 0 || len(skipped) != len(c.Info().Params) {
		t.Errorf("meanimage: loaded %v, skipped %v, %v", loaded, skipped, err)
	}
	if _, _, err := LoadWeights(filepath.Join(t.TempDir(), "missing.safetensors"), b); err == nil {
		t.Error("no error for a missing file")
	}
	// Fine-tuning: cfg.Weights starts from them.
	train, _ = mnist(t, 200, 0)
	cfg = mnistConfig(t, 1)
	cfg.Weights, cfg.MaxIters = res.Checkpoint, 1
	var out bytes.Buffer
	if _, err := Train(lenetmnist.New(3), train, nil, nil, cfg, &out); err != nil || !strings.Contains(out.String(), "weights from ") {
		t.Errorf("%v\n%s", err, out.String())
	}
}

func TestMeansub(t *testing.T) {
	// Per channel (lrnmean: meansub on 3x8x8 input) and per image (meanimage: 2x5x5).
	for _, tc := range []struct {
		net     nn.Network
		c, h, w int
		classes int
	}{
		{lrnmean.New(1), 3, 8, 8, 4},
		{meanimage.New(1), 2, 5, 5, 2},
	} {
		info := tc.net.Info()
		train := synthetic(300, tc.c, tc.h, tc.w, tc.classes, 3)
		raw := first(train, train.Len())
		cfg := DefaultConfig(info)
		cfg.Epochs, cfg.Batch = 1, 32
		cfg.PreprocessStd = true
		var out bytes.Buffer
		res, err := Train(tc.net, train, nil, nil, cfg, &out)
		if err != nil {
			t.Fatalf("%s: %v", info.Name, err)
		}
		if res.Preprocess.Kind != data.MeanNone || !res.Preprocess.Std {
			t.Errorf("%s: data preprocessing %+v, want std scaling only", info.Name, res.Preprocess)
		}
		// The layer's mean is the mean of the scaled training data.
		var scaled data.Preprocess
		if err := scaled.Fit(raw, data.MeanNone, true); err != nil {
			t.Fatal(err)
		}
		scaled.Apply(raw)
		var want data.Preprocess
		kind := data.MeanChannel
		if tc.c*tc.h*tc.w == info.Params[len(info.Params)-1].Size {
			kind = data.MeanImage
		}
		want.Fit(raw, kind, false)
		p := info.Params[len(info.Params)-1]
		if !p.Buffer {
			t.Fatalf("%s: last tensor %s is not the mean", info.Name, p.Name)
		}
		sameParams(t, info.Name+" mean", p.Data(tc.net.Params()), want.Mean)
		if !strings.Contains(out.String(), "meansub1.mean: set to the training split's") {
			t.Errorf("%s output:\n%s", info.Name, out.String())
		}
	}
}

// TestTrainStepAllocatesNothing checks that a training step in steady state allocates
// nothing, the short last batch and the metrics row included.
func TestTrainStepAllocatesNothing(t *testing.T) {
	train, _ := mnist(t, 650, 0)
	cfg := mnistConfig(t, 5)
	cfg.RunDir = t.TempDir()
	cfg.Augment = data.Augment{Flip: true, CropPad: 2}
	net := lenetmnist.New(1)
	tr := &trainer{net: net, info: net.Info(), cfg: cfg, out: &bytes.Buffer{}, initialLoss: math.NaN(), bestVal: math.NaN()}
	if err := tr.prepare(train, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.setup(train, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.openRun(nil); err != nil {
		t.Fatal(err)
	}
	defer tr.metrics.Close()
	if tr.ws.InputGrad != nil || tr.short == nil || tr.short.InputGrad != nil {
		t.Error("the training workspaces compute the input gradient, which nothing reads")
	}
	for range 2 * tr.ipe { // warm up: the loader's permutation, the worker pool
		if err := tr.step(); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	allocs := testing.AllocsPerRun(2*tr.ipe, func() {
		if e := tr.step(); e != nil {
			err = e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per step", allocs)
	}
}

// expectPicture decodes a PNG and fails unless it has a sensible size and more than a few
// colors.
func expectPicture(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	b := img.Bounds()
	colors := map[color.RGBA]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			colors[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
		}
	}
	if b.Dx() < 16 || b.Dy() < 16 || len(colors) < 4 {
		t.Errorf("%s: %dx%d with %d colors: blank?", path, b.Dx(), b.Dy(), len(colors))
	}
}

package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netc-dev/netc/internal/atomicfile"
	"github.com/netc-dev/netc/internal/limits"
	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/monitor"
	"github.com/netc-dev/netc/runtime/nn"
)

// Result is what a training run did and reached.
type Result struct {
	// Iters is the number of iterations done in all (including those before a resume).
	Iters int
	// Epochs has one record per epoch completed by this call, as written to epochs.csv.
	Epochs []monitor.EpochRecord
	// InitialLoss is the loss of the run's first mini-batch, before any update.
	InitialLoss float64
	// TrainAcc is the running training accuracy of the last epoch (in overfit mode, the
	// accuracy on the overfit images in test mode); ValAcc the last validation accuracy
	// and TestAcc the final test accuracy; NaN when not measured.
	TrainAcc, ValAcc, TestAcc float64
	// Stopped is true when the run ended before its last epoch (Config.MaxIters or a
	// cancelled context), after writing a checkpoint to resume from.
	Stopped bool
	// RunDir is the run folder ("" if none) and Checkpoint the last checkpoint written
	// there ("" if none).
	RunDir, Checkpoint string
	// Preprocess is the normalization fitted on the training split and applied to every
	// split; prediction must apply it to its inputs too.
	Preprocess data.Preprocess
	// Seconds is the wall time of the call.
	Seconds float64
	// Confusion is the confusion matrix of the test set at the end (nil without a test
	// set or when the run stopped early).
	Confusion *monitor.Confusion
	// NotLearning is set when the finished run did not learn: its loss did not fall
	// below the initial loss, or its accuracy stayed at chance. Main then exits with
	// ExitNotLearning.
	NotLearning *NotLearning
}

// trainer is the state of one run.
type trainer struct {
	net     nn.Network
	info    *nn.Info
	cfg     Config
	out     io.Writer
	opt     *Optimizer
	sched   Schedule
	loader  *data.Loader
	ws      *nn.Workspace // batch images: training steps and evaluation
	short   *nn.Workspace // the short last batch of an epoch, if any
	x       []float32
	y       []int32
	size    int // floats per image
	outputs int
	batch   int
	ipe     int // iterations per epoch
	total   int // iterations of the whole run
	pre     data.Preprocess

	iter        int     // iterations done
	initialLoss float64 // loss of the first batch (NaN until measured)
	bestVal     float64 // best validation accuracy (NaN until measured)
	lastLR      float32
	lrF32       float32 // lrF32 as the float64 of the same shortest decimal, lrF64,
	lrF64       float64 // for the metrics files (0.01, not 0.009999999776482582)
	lastLoss    float64
	peakLoss    float64 // highest batch loss from the second iteration on, for diagnose
	peakIter    int
	regStart    float64    // regularization term of the loss at the start
	trainChance float64    // share of the training set's most frequent class
	ep          epochState // running sums of the current epoch
	epochStart  time.Time  // when this process started (or resumed) the current epoch

	runDir  string
	lock    *runLock // of runDir
	metrics *monitor.MetricsWriter
	ckpt    string // last checkpoint written
}

// Random streams derived from Config.Seed.
const (
	streamLoader  = 0x4c4f4144 // "LOAD"
	streamDropout = 0x44524f50 // "DROP"
)

// subSeed derives the seed of one random stream from the run's seed.
func subSeed(seed, stream uint64) uint64 {
	r := nn.NewRNG(seed ^ stream*0x9e3779b97f4a7c15)
	r.Uint64()
	return r.Uint64()
}

// Train trains net on trainSet with the configuration cfg, printing its progress to out
// (nil discards it), and returns what it reached. It is TrainContext without a context.
func Train(net nn.Network, trainSet, valSet, testSet *data.Dataset, cfg Config, out io.Writer) (*Result, error) {
	return TrainContext(context.Background(), net, trainSet, valSet, testSet, cfg, out)
}

// TrainContext trains net: mini-batch SGD on trainSet for cfg.Epochs epochs, with the
// validation accuracy on valSet after each epoch and the test accuracy on testSet at the
// end (either may be nil or empty). See the package documentation for what it prints and
// writes. When ctx is cancelled it stops after the current iteration, writes a
// checkpoint to resume from, and returns the result so far with an error wrapping
// ctx.Err().
//
// Data: the images must have the network's input shape and at most Outputs classes.
// Train normalizes trainSet, valSet and testSet IN PLACE with the preprocessing of cfg
// fitted on trainSet (or, when resuming, the checkpoint's), so pass fresh data to each
// call. In overfit mode it copies the first cfg.Overfit images instead and leaves the
// sets alone.
//
// Mean subtraction and meansub layers: when the network's first layer is meansub, Train
// sets that layer's mean (per channel or per pixel, as its tensor's shape says) to the
// mean of the training split, after the optional std scaling, and subtracts no mean
// from the data whatever cfg.Preprocess says, so the mean is subtracted exactly once and
// travels with the weights. A meansub layer deeper in the network keeps its stored mean
// (zero for a fresh network); Train warns about it.
//
// Parameters are initialized with cfg.Init and cfg.Seed (as the generated New(cfg.Seed)
// does for the spec's default scheme), then overwritten by cfg.Weights' matching
// tensors if set; with cfg.Resume everything comes from the checkpoint instead.
//
// Errors: a *DivergedError when the loss becomes NaN, infinite or more than
// cfg.Divergence times the initial loss, an *OverfitError when an overfit run misses
// 100%, and errors naming the file or setting for bad configurations, data or
// checkpoints.
func TrainContext(ctx context.Context, net nn.Network, trainSet, valSet, testSet *data.Dataset, cfg Config, out io.Writer) (res *Result, err error) {
	start := time.Now()
	if out == nil {
		out = io.Discard
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if cfg.Threads > 0 {
		old := runtime.GOMAXPROCS(cfg.Threads)
		defer runtime.GOMAXPROCS(old)
	}
	t := &trainer{net: net, info: net.Info(), cfg: cfg, out: out, initialLoss: math.NaN(), bestVal: math.NaN()}
	res = &Result{TrainAcc: math.NaN(), ValAcc: math.NaN(), TestAcc: math.NaN(), InitialLoss: math.NaN()}
	defer func() {
		if t.metrics != nil {
			if cerr := t.metrics.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("train: closing the metrics: %w", cerr)
			}
		}
		t.lock.release()
		if res != nil {
			res.Seconds = time.Since(start).Seconds()
		}
	}()
	if err := t.checkData(trainSet, valSet, testSet); err != nil {
		return nil, err
	}
	if cfg.Overfit > 0 {
		return res, t.overfit(trainSet, res)
	}
	var ck *Checkpoint
	if cfg.Resume != "" {
		if ck, err = ReadCheckpoint(cfg.Resume); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		if err := ck.checkSpec(t.info); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
	}
	if err := t.prepare(trainSet, valSet, testSet, ck); err != nil {
		return nil, err
	}
	res.Preprocess = t.pre
	if err := t.setup(trainSet, ck); err != nil {
		return nil, err
	}
	t.regStart, t.trainChance = t.opt.regLoss(t.net.Params()), chanceOf(trainSet)
	if err := t.openRun(ck); err != nil {
		return nil, err
	}
	res.RunDir = t.runDir
	t.header(trainSet, valSet, testSet, ck)
	err = t.run(ctx, valSet, res)
	res.Iters, res.InitialLoss, res.Checkpoint = t.iter, t.initialLoss, t.ckpt
	if err != nil || res.Stopped {
		return res, err
	}
	t.finish(valSet, testSet, res)
	return res, nil
}

// checkData checks that the data sets fit the network.
func (t *trainer) checkData(sets ...*data.Dataset) error {
	info := t.info
	for i, ds := range sets {
		name := [...]string{"training", "validation", "test"}[i]
		if ds == nil {
			if i == 0 {
				return fmt.Errorf("train: no training set")
			}
			continue
		}
		if ds.C != info.InC || ds.H != info.InH || ds.W != info.InW {
			return fmt.Errorf("train: the %s images are %dx%dx%d, network %s takes %dx%dx%d", name, ds.C, ds.H, ds.W, info.Name, info.InC, info.InH, info.InW)
		}
		if ds.Classes > info.Outputs {
			return fmt.Errorf("train: the %s set has %d classes, network %s only %d outputs", name, ds.Classes, info.Name, info.Outputs)
		}
		if err := ds.Validate(); err != nil {
			return fmt.Errorf("train: %s set: %w", name, err)
		}
	}
	if sets[0].Len() == 0 {
		return fmt.Errorf("train: the training set is empty")
	}
	return nil
}

// meansubs returns the network's meansub mean tensors: the one of the first layer (if
// it is meansub) and the deeper ones.
func (t *trainer) meansubs() (first *nn.ParamTensor, deeper []string) {
	for i := range t.info.Params {
		p := &t.info.Params[i]
		if !p.Buffer || p.Layer < 0 || p.Layer >= len(t.info.Layers) || t.info.Layers[p.Layer].Kind != "meansub" {
			continue
		}
		if p.Layer == 0 {
			first = p
		} else {
			deeper = append(deeper, t.info.Layers[p.Layer].Name)
		}
	}
	return first, deeper
}

// prepare fits (or restores) the preprocessing, applies it to the data sets in place,
// and initializes (or restores) the parameters, meansub means included.
func (t *trainer) prepare(trainSet, valSet, testSet *data.Dataset, ck *Checkpoint) error {
	cfg := &t.cfg
	ms, deeper := t.meansubs()
	if ck != nil {
		t.pre = ck.Preprocess
	} else {
		kind := cfg.Preprocess
		if ms != nil {
			kind = data.MeanNone
		}
		if err := t.pre.Fit(trainSet, kind, cfg.PreprocessStd); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	for _, ds := range []*data.Dataset{trainSet, valSet, testSet} {
		if ds == nil {
			continue
		}
		if err := t.pre.Apply(ds); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	if ck != nil {
		return nil // the parameters come from the checkpoint, in setup
	}
	params := t.net.Params()
	if cfg.Init == nn.InitGaussian && cfg.InitStd > 0 {
		nn.InitializeGaussian(t.info, params, cfg.InitStd, cfg.Seed)
	} else {
		nn.Initialize(t.info, params, cfg.Init, cfg.Seed)
	}
	if cfg.Weights != "" {
		loaded, skipped, err := LoadWeights(cfg.Weights, t.net)
		if err != nil {
			return fmt.Errorf("train: weights: %w", err)
		}
		if len(loaded) == 0 {
			return fmt.Errorf("train: weights: %s has no tensor of network %s's names and shapes", cfg.Weights, t.info.Name)
		}
		fmt.Fprintf(t.out, "weights from %s: loaded %s", cfg.Weights, strings.Join(loaded, ", "))
		if len(skipped) > 0 {
			fmt.Fprintf(t.out, "; initialized %s", strings.Join(skipped, ", "))
		}
		fmt.Fprintln(t.out)
	}
	if ms != nil {
		kind := data.MeanChannel
		if len(ms.Shape) == 3 {
			kind = data.MeanImage
		}
		var fit data.Preprocess
		if err := fit.Fit(trainSet, kind, false); err != nil {
			return fmt.Errorf("train: meansub: %w", err)
		}
		if len(fit.Mean) != ms.Size {
			return fmt.Errorf("train: meansub tensor %s has %d values, the %s mean of the data %d", ms.Name, ms.Size, kind, len(fit.Mean))
		}
		copy(ms.Data(params), fit.Mean)
		fmt.Fprintf(t.out, "%s: set to the training split's %s mean (the data's mean is not subtracted)\n", ms.Name, kind)
	}
	for _, name := range deeper {
		fmt.Fprintf(t.out, "warning: meansub layer %s is not the first layer: its mean is not fitted and stays as stored\n", name)
	}
	return nil
}

// setup builds the loader, schedule, optimizer and workspaces, and restores a
// checkpoint's state.
func (t *trainer) setup(trainSet *data.Dataset, ck *Checkpoint) error {
	cfg := &t.cfg
	t.batch = cfg.Batch
	if n := trainSet.Len(); n < t.batch {
		if cfg.Overfit > 0 {
			t.batch = n
		} else {
			fmt.Fprintf(t.out, "warning: batch %d is more than the %d training images; using %d\n", t.batch, n, n)
			t.batch = n
		}
	}
	what := fmt.Sprintf("train: batch %d of network %s", t.batch, t.info.Name)
	if err := limits.CheckMemory(what, t.info.BatchBytes(t.batch)); err != nil {
		return err
	}
	if err := cfg.Augment.Check(trainSet.H, trainSet.W); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	t.size, t.outputs = t.info.InputSize(), t.info.Outputs
	t.loader = data.NewLoader(trainSet, t.batch, subSeed(cfg.Seed, streamLoader))
	t.loader.Augment = cfg.Augment
	t.ipe = t.loader.BatchesPerEpoch()
	t.total = cfg.Epochs * t.ipe
	var err error
	if t.sched, err = ParseSchedule(cfg.Schedule, cfg.LR, t.ipe, t.total); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if len(cfg.Warmup) > 0 {
		w, err := ParseWarmup(cfg.Warmup, t.ipe)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		t.sched = t.sched.WithWarmup(w)
	}
	if t.opt, err = NewOptimizer(cfg.Optimizer, t.info); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	t.ws = t.net.NewWorkspace(t.batch)
	t.ws.RNG = nn.NewRNG(subSeed(cfg.Seed, streamDropout))
	t.ws.InputGrad = nil // nothing reads it: Backward skips the first layer's input gradient
	t.ws.LabelSmoothing = cfg.LabelSmoothing
	if rem := trainSet.Len() % t.batch; rem != 0 {
		t.short = t.net.NewWorkspace(rem)
		t.short.InputGrad = nil
		t.short.LabelSmoothing = cfg.LabelSmoothing
	}
	t.x = make([]float32, t.batch*t.size)
	t.y = make([]int32, t.batch)
	t.lastLR = t.sched.LR(0)
	if ck == nil {
		return nil
	}
	if ck.ItersPerEpoch != t.ipe {
		return fmt.Errorf("train: resume: %s has %d iterations per epoch, this run %d (another batch size or training set?)", ck.Path, ck.ItersPerEpoch, t.ipe)
	}
	if err := ck.checkLoader(trainSet.Len()); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	if err := ck.restoreTensors(t.info, t.net.Params(), t.opt.Velocity(), t.opt.SecondMoment()); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	steps := ck.OptimizerSteps
	if steps < 0 { // a checkpoint from before the count was saved: one step an iteration
		steps = ck.Iter
	}
	if err := t.opt.SetSteps(steps); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	t.loader.SetState(ck.Loader)
	t.ws.RNG.State = ck.RNG
	t.iter, t.initialLoss, t.bestVal, t.ep = ck.Iter, ck.InitialLoss, ck.BestVal, ck.epoch
	t.ckpt = ck.Path
	if t.iter > 0 {
		t.lastLR = t.sched.LR(t.iter - 1)
	}
	return nil
}

// openRun creates and locks the run folder, removes the temporary files of writes that
// a killed run left there, cuts the metrics back to the checkpoint's iteration when
// resuming, and opens the metrics files.
func (t *trainer) openRun(ck *Checkpoint) error {
	t.runDir = t.cfg.RunDir
	if t.runDir == "" && ck != nil {
		t.runDir = filepath.Dir(ck.Path)
	}
	if t.runDir == "" {
		return nil
	}
	if err := os.MkdirAll(t.runDir, 0o755); err != nil {
		return fmt.Errorf("train: run folder: %w", err)
	}
	var err error
	if t.lock, err = lockRunDir(t.runDir); err != nil {
		return err
	}
	if removed, err := atomicfile.CleanTemps(t.runDir); err != nil {
		return fmt.Errorf("train: run folder: %w", err)
	} else if len(removed) > 0 {
		fmt.Fprintf(t.out, "removed the temporary files of interrupted writes from %s: %s\n",
			t.runDir, strings.Join(removed, ", "))
	}
	if ck != nil {
		if err := truncateMetrics(t.runDir, ck.Iter, ck.Epoch); err != nil {
			return err
		}
	}
	m, err := monitor.OpenMetricsWriter(t.runDir, ck != nil)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	t.metrics = m
	return nil
}

// header prints what is trained on what, how.
func (t *trainer) header(trainSet, valSet, testSet *data.Dataset, ck *Checkpoint) {
	info := t.info
	fmt.Fprintf(t.out, "%s: %s parameters; %s training images (%d iterations of %d per epoch)",
		info.Name, commas(t.opt.learned()), commas(trainSet.Len()), t.ipe, t.batch)
	if valSet != nil && valSet.Len() > 0 {
		fmt.Fprintf(t.out, ", %s validation", commas(valSet.Len()))
	}
	if testSet != nil && testSet.Len() > 0 {
		fmt.Fprintf(t.out, ", %s test", commas(testSet.Len()))
	}
	fmt.Fprintf(t.out, "\n%s\n", t.cfg.String())
	if t.runDir != "" {
		fmt.Fprintf(t.out, "run folder %s\n", t.runDir)
	}
	if ck != nil {
		fmt.Fprintf(t.out, "resuming from %s at iteration %d (epoch %d, %d/%d)\n", ck.Path, t.iter, t.iter/t.ipe+1, t.iter%t.ipe, t.ipe)
		if diff := configDiff(ck.Config, t.cfg.summaryJSON()); diff != "" {
			fmt.Fprintf(t.out, "warning: settings changed since the checkpoint (%s); the run will not be the one it would have been\n", diff)
		}
	}
}

// configDiff lists the settings that differ between two configuration summaries, e.g.
// "lr 0.01 → 0.1, epochs 3 → 5"; the seed is left out (a resumed run takes its random
// state from the checkpoint).
func configDiff(old, cur string) string {
	var a, b map[string]any
	if json.Unmarshal([]byte(old), &a) != nil || json.Unmarshal([]byte(cur), &b) != nil {
		return ""
	}
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		if k == "seed" {
			continue
		}
		x, _ := json.Marshal(a[k])
		y, _ := json.Marshal(b[k])
		if !bytes.Equal(x, y) {
			diffs = append(diffs, fmt.Sprintf("%s %s → %s", k, x, y))
		}
	}
	return strings.Join(diffs, ", ")
}

// learned returns the number of learned parameters (buffers excluded).
func (o *Optimizer) learned() int {
	n := 0
	for _, t := range o.tensors {
		n += t.size
	}
	return n
}

// commas formats n with thousands separators.
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// step runs one training iteration: the next batch forward and backward, the
// divergence test, the update, the running sums and the iteration's metrics row. It
// allocates nothing.
func (t *trainer) step() error {
	lr := t.sched.LR(t.iter)
	n := t.loader.Next(t.x, t.y)
	ws := t.ws
	if n != t.batch {
		if t.short == nil || n != t.short.Batch {
			return fmt.Errorf("train: the loader gave a batch of %d images, want %d", n, t.batch)
		}
		ws = t.short
		ws.RNG = t.ws.RNG // one stream of dropout masks, whatever the batch
	}
	scores := t.net.Forward(ws, t.x[:n*t.size], true)
	loss := float64(t.net.Backward(ws, t.y[:n]))
	if ws != t.ws {
		t.ws.RNG = ws.RNG
	}
	t.iter++
	t.lastLR, t.lastLoss = lr, loss
	if t.iter == 1 {
		t.initialLoss = loss
	} else if loss > t.peakLoss {
		t.peakLoss, t.peakIter = loss, t.iter
	}
	if t.metrics != nil {
		if err := t.metrics.WriteIter(monitor.IterRecord{Iter: t.iter, Epoch: float64(t.iter) / float64(t.ipe), Loss: loss, LR: t.lr64(lr)}); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	if !finite(loss) || (t.cfg.Divergence > 0 && t.iter > 1 && loss > t.cfg.Divergence*t.initialLoss) {
		return &DivergedError{Iter: t.iter, Epoch: (t.iter-1)/t.ipe + 1, Loss: loss, Initial: t.initialLoss,
			Factor: t.cfg.Divergence, LR: lr, Checkpoint: t.ckpt}
	}
	t.opt.Step(t.net.Params(), t.net.Grads(), lr)
	t.ep.LossSum += loss * float64(n)
	t.ep.Correct += correct(scores, t.y[:n], t.outputs)
	t.ep.Seen += n
	return nil
}

// lr64 returns lr as a float64 with the same shortest decimal form (0.01 for the
// float32 0.01), without allocating.
func (t *trainer) lr64(lr float32) float64 {
	if lr != t.lrF32 || t.lrF64 == 0 {
		var buf [32]byte
		b := strconv.AppendFloat(buf[:0], float64(lr), 'g', -1, 32)
		v, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			v = float64(lr)
		}
		t.lrF32, t.lrF64 = lr, v
	}
	return t.lrF64
}

// correct counts the images whose predicted class (monitor.Predicted: the highest
// score, the first on ties, NaN ignored) is their label.
func correct(scores []float32, labels []int32, outputs int) int {
	c := 0
	for i, l := range labels {
		if monitor.Predicted(scores[i*outputs:(i+1)*outputs]) == int(l) {
			c++
		}
	}
	return c
}

// evaluate returns the accuracy on ds in test mode (dropout off), batch after batch on
// the training workspace, and counts its predictions in conf unless conf is nil; the
// last, short batch is padded with zeros, whose scores are ignored.
func (t *trainer) evaluate(ds *data.Dataset, conf *monitor.Confusion) float64 {
	if ds == nil || ds.Len() == 0 {
		return math.NaN()
	}
	good := 0
	for i := 0; i < ds.Len(); i += t.batch {
		n := min(t.batch, ds.Len()-i)
		x := ds.X[i*t.size : (i+n)*t.size]
		if n < t.batch {
			copy(t.x, x)
			clear(t.x[n*t.size:])
			x = t.x
		}
		scores := t.net.Forward(t.ws, x, false)
		good += correct(scores, ds.Labels[i:i+n], t.outputs)
		if conf != nil {
			conf.AddScores(scores[:n*t.outputs], ds.Labels[i:i+n])
		}
	}
	return float64(good) / float64(ds.Len())
}

// printInitialLoss prints the first batch's loss beside what a network with small
// random weights should give.
func (t *trainer) printInitialLoss() {
	c := t.outputs
	switch t.info.Loss {
	case "softmax":
		ln := math.Log(float64(c))
		fmt.Fprintf(t.out, "initial loss %.4f (ln %d = %.4f)", t.initialLoss, c, ln)
		if t.initialLoss > 2*ln {
			fmt.Fprint(t.out, ": much higher than expected; are the initial weights too large or the data not normalized?")
		}
	case "svm":
		fmt.Fprintf(t.out, "initial loss %.4f (classes − 1 = %d for small weights and margin 1)", t.initialLoss, c-1)
	default:
		fmt.Fprintf(t.out, "initial loss %.4f", t.initialLoss)
	}
	fmt.Fprintln(t.out)
}

// run is the training loop proper.
func (t *trainer) run(ctx context.Context, valSet *data.Dataset, res *Result) error {
	cfg := &t.cfg
	for t.iter < t.total {
		epoch := t.iter/t.ipe + 1
		end := epoch * t.ipe
		if t.iter%t.ipe == 0 {
			t.ep = epochState{}
		}
		t.epochStart = time.Now()
		var prog *monitor.Progress
		for t.iter < end {
			if cfg.MaxIters > 0 && t.iter >= cfg.MaxIters {
				prog.Finish()
				res.Stopped = true
				return t.stop(fmt.Sprintf("stopped after %d iterations (max-iters)", t.iter), nil)
			}
			if err := ctx.Err(); err != nil {
				prog.Finish()
				res.Stopped = true
				return t.stop(fmt.Sprintf("interrupted after %d iterations", t.iter), err)
			}
			fresh := t.iter == 0
			t0 := time.Now()
			err := t.step()
			t.ep.TrainSec += time.Since(t0).Seconds()
			if fresh && finite(t.initialLoss) {
				t.printInitialLoss()
			}
			if err != nil {
				prog.Finish()
				if t.metrics != nil {
					t.metrics.Flush()
				}
				return err
			}
			if prog == nil {
				prog = monitor.NewProgress(t.out, epoch, cfg.Epochs, t.ipe)
			}
			prog.Update(t.iter-(epoch-1)*t.ipe, t.ep.LossSum/float64(max(t.ep.Seen, 1)), float64(t.ep.Seen)/max(t.ep.TrainSec, 1e-9))
		}
		prog.Finish()
		if err := t.endEpoch(epoch, valSet, res); err != nil {
			return err
		}
	}
	return nil
}

// endEpoch evaluates, prints and records a finished epoch and writes its checkpoint.
func (t *trainer) endEpoch(epoch int, valSet *data.Dataset, res *Result) error {
	var valConf *monitor.Confusion // the predictions diagnose looks at after the first epoch
	if epoch == 1 && t.cfg.Epochs > 1 {
		valConf = monitor.NewConfusion(t.outputs, nil)
	}
	val := t.evaluate(valSet, valConf)
	ep := t.ep
	sec := ep.Sec + time.Since(t.epochStart).Seconds()
	rec := monitor.EpochRecord{
		Epoch:     epoch,
		Loss:      ep.LossSum / float64(ep.Seen),
		TrainAcc:  float64(ep.Correct) / float64(ep.Seen),
		ValAcc:    val,
		LR:        t.lr64(t.lastLR),
		ImgPerSec: float64(ep.Seen) / max(ep.TrainSec, 1e-9),
		Seconds:   sec,
	}
	valText := "-"
	if !math.IsNaN(val) {
		valText = fmt.Sprintf("%.4f", val)
	}
	fmt.Fprintf(t.out, "epoch %d/%d  loss %.4f  train %.4f  val %s  lr %.4g  %.0f img/s  %.1fs\n",
		epoch, t.cfg.Epochs, rec.Loss, rec.TrainAcc, valText, t.lastLR, rec.ImgPerSec, sec)
	res.Epochs = append(res.Epochs, rec)
	res.TrainAcc, res.ValAcc = rec.TrainAcc, val
	if epoch == 1 && t.cfg.Epochs > 1 { // the last epoch is checked by finish
		if d := t.diagnose(epoch, rec.Loss, t.accuracyToCheck(rec.TrainAcc, val, valSet, valConf)); d != nil {
			fmt.Fprintf(t.out, "warning: %v\n", d)
		}
	}
	if t.metrics != nil {
		if err := t.metrics.WriteEpoch(rec); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	if t.runDir == "" {
		return nil
	}
	t.ep = epochState{}
	path := filepath.Join(t.runDir, CheckpointFile)
	if err := t.saveCheckpoint(path); err != nil {
		return fmt.Errorf("train: epoch %d: %w (the previous checkpoint is intact)", epoch, err)
	}
	t.ckpt = path
	if !math.IsNaN(val) && (math.IsNaN(t.bestVal) || val > t.bestVal) {
		t.bestVal = val
		if err := t.saveCheckpoint(filepath.Join(t.runDir, BestFile)); err != nil {
			fmt.Fprintf(t.out, "warning: %v\n", err)
		}
	}
	return nil
}

// stop writes a checkpoint of the current iteration, to resume from, and says so.
func (t *trainer) stop(what string, cause error) error {
	var err error
	if t.runDir != "" {
		saved := t.ep
		t.ep.Sec += time.Since(t.epochStart).Seconds()
		path := filepath.Join(t.runDir, CheckpointFile)
		err = t.saveCheckpoint(path)
		t.ep = saved
		if err == nil {
			t.ckpt = path
			what += "; resume with --resume " + path
		}
	}
	fmt.Fprintln(t.out, what)
	switch {
	case cause != nil && err != nil:
		return fmt.Errorf("train: %s: %w (and %v)", what, cause, err)
	case cause != nil:
		return fmt.Errorf("train: %s: %w", what, cause)
	case err != nil:
		return fmt.Errorf("train: %s: %w", what, err)
	}
	return nil
}

// finish evaluates the test set with its per-class results, draws the first
// convolution's filters (the charts of the metrics are package charts', drawn by netc
// train after the program) and checks that the run learned (on the test accuracy, else
// the last validation or training accuracy); the test accuracy is the last line printed.
func (t *trainer) finish(valSet, testSet *data.Dataset, res *Result) {
	if t.runDir != "" {
		if err := t.metrics.Close(); err != nil {
			fmt.Fprintf(t.out, "warning: %v\n", err)
		}
		t.metrics = nil
		for _, l := range t.info.Layers {
			if l.Kind == "conv" {
				if err := monitor.FilterGrid(t.info, t.net.Params(), filepath.Join(t.runDir, "filters.png")); err != nil {
					fmt.Fprintf(t.out, "warning: filters: %v\n", err)
				}
				break
			}
		}
	}
	m := t.accuracyToCheck(res.TrainAcc, res.ValAcc, valSet, nil)
	if testSet != nil && testSet.Len() > 0 {
		res.Confusion = monitor.NewConfusion(t.outputs, testSet.ClassNames)
		res.TestAcc = t.evaluate(testSet, res.Confusion)
		m = measured{res.TestAcc, chanceOf(testSet), "test", res.Confusion}
		t.printConfusion(res.Confusion)
	}
	loss := math.NaN()
	if len(res.Epochs) > 0 {
		loss = res.Epochs[len(res.Epochs)-1].Loss
	}
	if res.NotLearning = t.diagnose(t.iter/t.ipe, loss, m); res.NotLearning != nil {
		fmt.Fprintf(t.out, "warning: %v\n", res.NotLearning)
	}
	if !math.IsNaN(res.TestAcc) {
		fmt.Fprintf(t.out, "test accuracy %.4f\n", res.TestAcc)
	}
}

// printConfusion prints the test set's per-class accuracy and confusion matrix and
// draws it as confusion.png in the run folder.
func (t *trainer) printConfusion(c *monitor.Confusion) {
	fmt.Fprintf(t.out, "test set: %s images, accuracy %.4f; per class (rows: true class, columns: predicted):\n",
		commas(c.Total()), c.Accuracy())
	if err := c.WriteTable(t.out); err != nil {
		fmt.Fprintf(t.out, "warning: %v\n", err)
	}
	if t.runDir == "" {
		return
	}
	title := fmt.Sprintf("%s on the test set: accuracy %.4f (%s images)", t.info.Name, c.Accuracy(), commas(c.Total()))
	if err := c.WritePNG(filepath.Join(t.runDir, monitor.ConfusionPNG), title); err != nil {
		fmt.Fprintf(t.out, "warning: %v\n", err)
	}
}

// overfit is the overfit sanity check: the first cfg.Overfit training images, no
// regularization, no augmentation, a constant rate, until 100% training accuracy.
func (t *trainer) overfit(trainSet *data.Dataset, res *Result) error {
	cfg := &t.cfg
	n := min(cfg.Overfit, trainSet.Len())
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	small := trainSet.Subset(idx)
	cfg.Optimizer.WeightDecay, cfg.Optimizer.L1, cfg.Optimizer.MaxNorm = 0, 0, 0
	cfg.Augment = data.Augment{}
	cfg.Schedule, cfg.Warmup = nil, nil
	cfg.Resume = ""
	budget := cfg.MaxIters
	if budget <= 0 {
		budget = DefaultOverfitIters
	}
	cfg.Epochs = budget // an upper bound; the loop below counts iterations
	if err := t.prepare(small, nil, nil, nil); err != nil {
		return err
	}
	res.Preprocess = t.pre
	if err := t.setup(small, nil); err != nil {
		return err
	}
	if err := t.openRun(nil); err != nil {
		return err
	}
	res.RunDir = t.runDir
	fmt.Fprintf(t.out, "%s: overfit check on %d training images, no regularization or augmentation, lr %g constant, up to %d iterations\n",
		t.info.Name, n, cfg.LR, budget)
	acc, loss := 0.0, math.NaN()
	const every = 50
	for t.iter < budget {
		if t.iter%t.ipe == 0 {
			t.ep = epochState{}
		}
		err := t.step()
		if t.iter == 1 && finite(t.initialLoss) {
			t.printInitialLoss()
		}
		if err != nil {
			res.Iters, res.InitialLoss = t.iter, t.initialLoss
			return err
		}
		if t.iter%t.ipe != 0 {
			continue
		}
		prev := acc
		acc, loss = t.evaluate(small, nil), t.ep.LossSum/float64(t.ep.Seen)
		done := acc == 1 && loss < OverfitLoss
		if t.iter%every < t.ipe || (acc == 1 && prev < 1) || done {
			fmt.Fprintf(t.out, "iteration %d  loss %.4f  train %.4f\n", t.iter, loss, acc)
		}
		if done {
			break
		}
	}
	res.Iters, res.InitialLoss, res.TrainAcc = t.iter, t.initialLoss, acc
	if acc < 1 {
		return &OverfitError{N: n, Iters: t.iter, Acc: acc, Loss: loss, LR: cfg.LR}
	}
	fmt.Fprintf(t.out, "overfit accuracy %.4f on %d images after %d iterations (loss %.4f)\n", acc, n, t.iter, loss)
	return nil
}

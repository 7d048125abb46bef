// Package train trains netc-generated networks: the training loop with the lecture's
// sanity checks, checkpoints and exact resume, the configuration (a spec's [train]
// section and command-line flags, whose schema is package settings), the optimizer (SGD, momentum, Nesterov), its
// regularizers (L2, L1, elastic net, max-norm) and the learning-rate schedules with
// warm-up.
//
// # Training a generated network
//
// Main is the train subcommand of the program netc builds from a spec. With the package
// made by `netc compile` or go generate, a downstream program with every subcommand
// (train, bench, tune, predict) is
//
//	package main
//
//	import (
//		"os"
//
//		"example.com/me/mynet"
//		"github.com/netc-dev/netc/runtime/cli"
//	)
//
//	func main() { os.Exit(cli.Main(mynet.New, os.Args[1:])) }
//
// and `go run . train --data mnist --epochs 3` trains it (`train -h` lists the flags with
// the spec's values as defaults); `netc train SPEC [flags]` builds and runs such a program.
// The same loop is a Go API:
//
//	net := mynet.New(1)
//	cfg, err := train.ConfigFromInfo(net.Info())  // the spec's [train] over the defaults
//	cfg.Epochs, cfg.RunDir = 5, "runs/try1"
//	trainSet, test, err := data.Load("mnist", "")
//	nVal, err := cfg.ValCount(trainSet.Len())
//	trainSet, val, err := trainSet.Split(nVal)
//	res, err := train.Train(net, trainSet, val, test, cfg, os.Stdout)
//
// Train preprocesses the three sets in place (statistics of the training split only),
// initializes the parameters from cfg.Seed, and then, each epoch, visits the training
// images in a new random order in mini-batches (augmented if cfg.Augment says so),
// running Forward, Backward and an optimizer Step per batch at the rate of the schedule,
// reusing one workspace so that a step allocates nothing. It prints
//
//	initial loss 2.3051 (ln 10 = 2.3026)
//	epoch 1/3  loss 0.4123  train 0.8812  val 0.8640  lr 0.01  1234 img/s  12.3s
//	...
//	test set: 10,000 images, accuracy 0.9912; per class (rows: true class, columns: predicted):
//	class     acc     n     0    1    2 ...
//	0      0.9959   980   976    0    0 ...
//	...
//	test accuracy 0.9912
//
// where loss and train are the mean loss and the running accuracy over the epoch's
// batches (as the training pass computed them, dropout on), val the accuracy on the
// validation split in test mode after the epoch, img/s the training throughput; at the
// end, the test set's per-class accuracy and confusion matrix (Result.Confusion), and
// the test accuracy, in test mode, always the last line.
//
// # Run folder
//
// With cfg.RunDir set (Main's default is a new folder runs/<spec>-<yyyymmdd-hhmmss>,
// with -2, -3, ... added when a run started in the same second has it; see NewRunDir) the
// run writes iters.csv and epochs.csv (package monitor), checkpoint.safetensors at the end
// of each epoch, best.safetensors at each new best validation accuracy, and at the end the
// first convolution's filters.png and the test set's confusion.png (failing to draw them is a
// warning, not an error). The
// charts loss.png, accuracy.png and lr.png are package charts' WriteAll, which netc train
// calls when the program has finished (and netc plot on demand), so that a training
// program does not link the plotting library. While it writes, the run holds the folder's
// lock (LockFile): a second run in the same folder is refused, naming the process. On
// opening the folder it removes the temporary files of writes that a killed run left
// behind and, when resuming, cuts the metrics files back to the checkpoint's iteration,
// so that no row is written twice.
//
// # Sanity checks
//
// The lecture's checks are built in. The initial loss, on the first batch before any
// update, is printed beside ln(classes), which a softmax classifier with small random
// weights should give. Config.Overfit (--overfit N) trains on the first N training
// images without regularization or augmentation until the training accuracy is 100%,
// and fails with an *OverfitError if it is not. Every batch's loss is checked: NaN, Inf
// or more than 3× the initial loss (Config.Divergence) stops the run at once with a
// *DivergedError naming the likely cause, "loss 7.9 exceeds 3× the initial 2.30 at
// iteration 12 (epoch 1): the learning rate (10) is probably too high", without
// touching the last checkpoint.
//
// A run that goes on without learning is flagged too. After the first epoch and at the
// end, if the epoch's loss has not fallen below the initial loss (not checked when
// fine-tuning from Config.Weights) or the accuracy (validation after an epoch, test at
// the end) is at chance — within 5% of the way from the most frequent class's share to
// 1 — a warning names the likely cause and the flag to change: the learning rate too
// high when a batch loss reached 2× the initial, the network gives 90% of the images
// one class (dead units), or the loss rose by 10% or more, or fell but the accuracy
// stayed at chance; too much regularization when its term (wd/2·‖w‖² + l1·‖w‖₁) was 20%
// or more of the loss at the start; the learning rate too low when the loss moved by less
// than 10%. Runs of fewer than 20 iterations are too short to tell and are not checked.
// At the end the diagnosis is Result.NotLearning, and Main exits with ExitNotLearning (3).
//
// # Checkpoints and resuming
//
// A checkpoint is a safetensors file holding every parameter tensor under its name, the
// momentum of each (VelocityPrefix + name), and as metadata the spec's name and hash,
// the iteration, the loader's state (seed, epoch, position), the dropout generator's
// state, the initial loss, the running sums of a partly done epoch, the preprocessing
// and the configuration. It is written atomically (a temporary file, synced, renamed
// over the old one), so a crash mid-write leaves the previous checkpoint whole.
// Config.Resume (--resume FILE) continues exactly: N steps, a stop, and N more give the
// same weights, bit for bit, as 2N steps straight, and the same metrics. A checkpoint of
// another spec (another hash) is refused, naming both. LoadWeights loads the tensors of
// matching names and shapes alone, for prediction or fine-tuning (Config.Weights).
//
// # Determinism
//
// Config.Seed fixes the initialization, the order of the images, the augmentation and
// the dropout masks (ws.RNG), so two runs with the same seed and configuration give the
// same metrics and weights, bit for bit. Generated code splits a batch over
// kernels.Workers() goroutines, each summing its images' gradients before the per-worker
// sums are added in a fixed order; the result does not depend on the timing of the
// goroutines, but the split, and so the order of the float32 additions, depends on the
// number of workers: runs with different GOMAXPROCS (Config.Threads, --threads) may
// differ in the last bits, and from there drift apart. Resume with the same setting.
//
// # Optimizer
//
// An Optimizer is built from an OptimizerConfig and the network's nn.Info, and
// updates all parameters in place with one Step per mini-batch:
//
//	opt, err := train.NewOptimizer(train.OptimizerConfig{
//		Method: "momentum", Momentum: 0.9, WeightDecay: 5e-4,
//	}, net.Info())
//	...
//	loss := net.Backward(ws, labels)
//	opt.Step(net.Params(), net.Grads(), sched.LR(iter))
//
// Weight decay and L1 apply to weights only unless DecayBiases is set; each tensor's
// learning rate is multiplied by its LRMult, and LRMult 0 freezes the tensor. The
// momentum buffer (Optimizer.Velocity) is part of a checkpoint.
//
// # Settings
//
// The settings of a [train] section and the flags of Main are the rows of
// settings.Table, the schema the compiler checks specs with; the grammar of schedules
// and warm-up, with examples, is in the documentation of package settings. A Schedule is
// a pure function of the iteration, so resuming from a checkpoint only needs the
// iteration count (and the same settings).
package train

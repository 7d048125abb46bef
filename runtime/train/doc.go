// Package train trains netc-generated networks: the optimizer (SGD, momentum, Nesterov),
// its regularizers (L2, L1, elastic net, max-norm) and the learning-rate schedules with
// warm-up.
//
// # Optimizer
//
// An Optimizer is built from an OptimizerConfig and the network's runtime.Info, and
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
// # Schedule settings
//
// A learning-rate schedule is one setting line whose words ParseSchedule reads; warm-up is
// a separate line read by ParseWarmup. Keywords are case-insensitive. UNIT is "epochs" or
// "iterations" (also "epoch", "iteration", "iter", "iters"); epoch counts may be
// fractional and are rounded to whole iterations, iteration counts must be whole. t is the
// number of updates done so far (0 for the first), T the run's total number of
// iterations, lr the base learning rate.
//
//	schedule constant                        lr
//	schedule step G every N UNIT             lr·G^⌊t/N⌋             (Caffe "step", PyTorch StepLR)
//	schedule multistep G at M1 M2 … UNIT     lr·G^(milestones ≤ t)  (PyTorch MultiStepLR)
//	schedule exp G [per UNIT]                lr·G^⌊t/u⌋, u = 1 epoch by default (PyTorch ExponentialLR)
//	schedule natexp K [per UNIT]             lr·exp(−K·t/u), continuous, u = 1 epoch by default
//	schedule inv G [P] [per UNIT]            lr·(1 + G·t/u)^(−P), P = 1 and u = 1 iteration by default (Caffe "inv")
//	schedule 1/t K [per UNIT]                lr/(1 + K·t/u), the same as inv K 1
//	schedule sqrt [over N UNIT]              lr·sqrt(1 − t/T), 0 from T on
//	schedule poly P [over N UNIT]            lr·(1 − t/T)^P, 0 from T on (Caffe "poly")
//	warmup N [UNIT] [from F]                 see below; UNIT defaults to iterations, F to 0
//
// "over N UNIT" replaces the run's length T as the horizon of sqrt and poly. Warm-up
// multiplies the scheduled rate by F + (1−F)·t/W for t < W, W = N in iterations: the rate
// climbs linearly from F times the scheduled value at the first update to the scheduled
// value at iteration W (F = 0 makes the first update a no-op on the weights).
//
// Examples:
//
//	schedule step 0.1 every 10 epochs        divide by 10 every 10 epochs
//	schedule step 0.5 every 5000 iterations
//	schedule multistep 0.1 at 20 30 epochs   lr until epoch 20, lr/10 until 30, lr/100 after
//	schedule exp 0.95                        ×0.95 after each epoch
//	schedule natexp 0.05                     lr·e^(−0.05·epochs), smoothly
//	schedule inv 1e-4 0.75                   Caffe's LeNet solver
//	schedule 1/t 0.5 per epoch               lr/(1 + 0.5·epochs)
//	schedule sqrt                            lr·sqrt(1 − t/T) over the whole run
//	schedule poly 2 over 30 epochs
//	warmup 500                               linear from 0 over the first 500 iterations
//	warmup 2 epochs from 0.1
//
// A Schedule is a pure function of the iteration, so resuming from a checkpoint only
// needs the iteration count (and the same settings).
package train

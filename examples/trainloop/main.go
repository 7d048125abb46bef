// Command trainloop trains LeNet on MNIST with netc's Go API instead of netc train: the
// data, its preprocessing, the optimizer, the schedule and the loop written out.
package main

import (
	"errors"
	"fmt"
	"log"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/monitor"
	"github.com/netc-dev/netc/runtime/predict"
	"github.com/netc-dev/netc/runtime/train"
	lenet "github.com/netc-dev/netc/testdata/golden/lenetmnist" // netc compile specs/lenet-mnist.net
)

func main() {
	acc, err := run(60000, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("test accuracy %.4f\n", acc)
}

// run trains on the first n training images for the given epochs; it returns the test accuracy.
func run(n, epochs int) (float64, error) {
	trainSet, testSet, err := data.Load(data.MNIST, "") // pixels in [0, 1]
	if err != nil {
		return 0, err
	}
	trainSet, _, _ = trainSet.Split(trainSet.Len() - n) // keep the first n
	// Forward expects preprocessed input: the training images' mean, subtracted from both sets.
	var pre data.Preprocess
	if err := pre.Fit(trainSet, data.MeanChannel, false); err != nil {
		return 0, err
	}
	if err := errors.Join(pre.Apply(trainSet), pre.Apply(testSet)); err != nil {
		return 0, err
	}
	net := lenet.New(1) // weights initialized from the seed, He's scheme
	opt, err := train.NewOptimizer(train.OptimizerConfig{Method: "momentum", Momentum: 0.9, WeightDecay: 5e-4}, net.Info())
	if err != nil {
		return 0, err
	}
	const batch = 64
	loader := data.NewLoader(trainSet, batch, 1) // shuffled each epoch
	loader.DropLast = true                       // every batch full, so one workspace does
	iters := epochs * loader.BatchesPerEpoch()
	sched, err := train.ParseSchedule([]string{"poly", "1"}, 0.03, loader.BatchesPerEpoch(), iters)
	if err != nil {
		return 0, err
	}
	ws := net.NewWorkspace(batch) // every buffer of a batch: a step allocates nothing
	ws.InputGrad = nil            // nothing needs the input's gradient: Backward skips it
	x, y := make([]float32, batch*lenet.InputSize), make([]int32, batch)
	for it := range iters {
		loader.Next(x, y)
		net.Forward(ws, x, true)
		loss := net.Backward(ws, y) // fills net.Grads()
		opt.Step(net.Params(), net.Grads(), sched.LR(it))
		if (it+1)%loader.BatchesPerEpoch() == 0 {
			fmt.Printf("epoch %d  loss %.4f\n", (it+1)/loader.BatchesPerEpoch(), loss)
		}
	}
	conf := monitor.NewConfusion(lenet.Outputs, testSet.ClassNames)
	conf.AddScores(predict.Forward(net, testSet.X, 100), testSet.Labels) // test mode: dropout off
	return conf.Accuracy(), nil
}

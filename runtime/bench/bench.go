// Package bench measures a generated network's speed: images per second of inference or
// of a whole training step (forward, loss, backward and an SGD-momentum update with weight
// decay — the step of PyTorch's torch_bench.py), and the time each layer takes.
//
// netc bench runs Main as the bench subcommand of the program it builds from a spec (see
// package cli).
package bench

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/netc-dev/netc/internal/limits"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/train"
)

// Options set what is measured.
type Options struct {
	// Train measures training steps; otherwise inference.
	Train bool
	// Batch is the number of images per step.
	Batch int
	// Threads is GOMAXPROCS during the measurement (0 keeps it).
	Threads int
	// Duration is the least time spent measuring, after warm-up.
	Duration time.Duration
}

// Result is a measurement.
type Result struct {
	// ImagesPerSecond is the throughput; StepTime the mean time of one step.
	ImagesPerSecond float64
	StepTime        time.Duration
	// Layers holds the share of the step each layer took, from a separate profiled run.
	Layers []LayerTime
}

// LayerTime is the time one layer takes per step, summed over the workers that ran it.
type LayerTime struct {
	Name, Kind        string
	Forward, Backward time.Duration
	// FLOPs is the layer's floating-point operations per step (2 per multiply-add; a
	// training step does three times the forward's).
	FLOPs float64
}

// Stepper runs one step of a network on fixed random data: inference, or a training step
// (forward, loss, backward, SGD with momentum 0.9 and weight decay 1e-4 at rate 0.01).
type Stepper struct {
	net    nn.Network
	ws     *nn.Workspace
	x      []float32
	labels []int32
	opt    *train.Optimizer
	train  bool
}

// NewStepper prepares steps of net on a batch of random images.
func NewStepper(net nn.Network, training bool, batch int) (*Stepper, error) {
	info := net.Info()
	s := &Stepper{net: net, ws: net.NewWorkspace(batch), train: training,
		x: make([]float32, batch*info.InputSize()), labels: make([]int32, batch)}
	if training {
		s.ws.InputGrad = nil // as in training: nothing needs the input's gradient
	}
	rng := nn.NewRNG(1)
	for i := range s.x {
		s.x[i] = float32(rng.NormFloat64())
	}
	for i := range s.labels {
		s.labels[i] = int32(rng.Intn(info.Outputs))
	}
	if training {
		opt, err := train.NewOptimizer(train.OptimizerConfig{Method: train.MethodMomentum, Momentum: 0.9, WeightDecay: 1e-4}, info)
		if err != nil {
			return nil, err
		}
		s.opt = opt
	}
	return s, nil
}

// Step runs one step.
func (s *Stepper) Step() {
	s.net.Forward(s.ws, s.x, s.train)
	if s.train {
		s.net.Backward(s.ws, s.labels)
		s.opt.Step(s.net.Params(), s.net.Grads(), 0.01)
	}
}

// Run measures net. The batch must fit in the machine's memory and the threads be at
// most limits.MaxThreads; both are checked before anything is allocated.
func Run(net nn.Network, o Options) (*Result, error) {
	if o.Batch < 1 {
		return nil, fmt.Errorf("bench: batch %d, want at least 1", o.Batch)
	}
	if err := limits.CheckThreads(o.Threads); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	info := net.Info()
	what := fmt.Sprintf("bench: batch %d of network %s", o.Batch, info.Name)
	if err := limits.CheckMemory(what, info.BatchBytes(o.Batch)); err != nil {
		return nil, err
	}
	if o.Threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.Threads))
	}
	s, err := NewStepper(net, o.Train, o.Batch)
	if err != nil {
		return nil, err
	}
	for range 3 {
		s.Step()
	}
	steps, start := 0, time.Now()
	for steps < 3 || time.Since(start) < o.Duration {
		s.Step()
		steps++
	}
	elapsed := time.Since(start)
	r := &Result{StepTime: elapsed / time.Duration(steps), ImagesPerSecond: float64(steps*o.Batch) / elapsed.Seconds()}
	r.Layers = profile(s, max(3, steps/4))
	return r, nil
}

// profile runs steps more steps with the workspace's profile on and returns the mean
// time per step of each layer.
func profile(s *Stepper, steps int) []LayerTime {
	info := s.net.Info()
	p := nn.NewProfile(s.ws.Workers, len(info.Layers))
	s.ws.Profile = p
	defer func() { s.ws.Profile = nil }()
	for range steps {
		s.Step()
	}
	var out []LayerTime
	flopsPer := 2.0
	if s.train {
		flopsPer = 6
	}
	for i, l := range info.Layers {
		f, b := p.Layer(i)
		out = append(out, LayerTime{Name: l.Name, Kind: l.Kind,
			Forward: f / time.Duration(steps), Backward: b / time.Duration(steps),
			FLOPs: flopsPer * float64(l.MACs) * float64(s.ws.Batch)})
	}
	return out
}

// Print writes the per-layer table and, as its last line, "img/s N".
func (r *Result) Print(w io.Writer) {
	var total time.Duration
	for _, l := range r.Layers {
		total += l.Forward + l.Backward
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tkind\tforward ms\tbackward ms\tshare\tGFLOP/s\t")
	for _, l := range r.Layers {
		t := l.Forward + l.Backward
		share, gflops := 0.0, ""
		if total > 0 {
			share = 100 * float64(t) / float64(total)
		}
		if l.FLOPs > 0 && t > 0 {
			gflops = fmt.Sprintf("%.1f", l.FLOPs/t.Seconds()/1e9)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%.1f%%\t%s\t\n", l.Name, l.Kind, ms(l.Forward), ms(l.Backward), share, gflops)
	}
	tw.Flush()
	fmt.Fprintf(w, "step %.3f ms (layer times are summed over workers)\n", ms(r.StepTime))
	fmt.Fprintf(w, "img/s %.1f\n", r.ImagesPerSecond)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// Main is the command line of a benchmark program: flags -train, -batch, -threads and
// -duration; it prints the table and returns the exit status.
func Main(newNet func(seed uint64) nn.Network, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.BoolVar(&o.Train, "train", false, "measure training steps (default: inference)")
	fs.IntVar(&o.Batch, "batch", 1, "images per step")
	fs.IntVar(&o.Threads, "threads", 0, "GOMAXPROCS while measuring (0: leave it)")
	fs.DurationVar(&o.Duration, "duration", 2*time.Second, "least measuring time")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	r, err := Run(newNet(1), o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	r.Print(stdout)
	return 0
}

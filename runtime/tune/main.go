package tune

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/train"
)

// Main is the command line of a search program (netc tune): it loads the data set,
// samples the training images, runs Search, prints the table sorted by validation
// accuracy and the best settings as a spec's [train] section (also written to -o).
func Main(newNet func(seed uint64) nn.Network, args []string, stdout, stderr io.Writer) int {
	info := newNet(1).Info()
	base, err := train.ConfigFromInfo(info)
	if err != nil {
		fmt.Fprintf(stderr, "tune: %v\n", err)
		return 1
	}
	o := DefaultOptions()
	fs := flag.NewFlagSet("tune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.Trials, "trials", o.Trials, "trials of the coarse stage")
	fs.IntVar(&o.Fine, "fine", o.Fine, "trials of the fine stage, around the best three")
	fs.Float64Var(&o.LR[0], "lr-min", o.LR[0], "log10 of the smallest learning rate")
	fs.Float64Var(&o.LR[1], "lr-max", o.LR[1], "log10 of the largest learning rate")
	fs.Float64Var(&o.Reg[0], "reg-min", o.Reg[0], "log10 of the smallest L2 strength")
	fs.Float64Var(&o.Reg[1], "reg-max", o.Reg[1], "log10 of the largest L2 strength")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the search")
	fs.IntVar(&o.Parallel, "parallel", o.Parallel, "trials run at once")
	fs.IntVar(&base.Epochs, "epochs", 1, "epochs of each trial")
	images := fs.Int("images", 10000, "training images per trial (a sample from the start of the training split; 0: all)")
	val := fs.Int("val", 2000, "validation images, from the end of the training set")
	dataName := fs.String("data", "", "data set: mnist, fashion-mnist or cifar10 (default: from the input shape)")
	dataDir := fs.String("data-dir", "", "folder of the data set (default: its usual place)")
	out := fs.String("o", "", "also write the best [train] section to this `file`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usage := func(err error) int {
		fmt.Fprintf(stderr, "tune: %v\n", err)
		fs.Usage()
		return 2
	}
	switch {
	case base.Validate() != nil:
		return usage(base.Validate())
	case *images < 0:
		return usage(fmt.Errorf("-images %d: must be ≥ 0 (0: all)", *images))
	case *val < 0:
		return usage(fmt.Errorf("-val %d: must be ≥ 0", *val))
	case o.Trials < 1 || o.Fine < 0 || o.Parallel < 1:
		return usage(fmt.Errorf("-trials %d, -fine %d, -parallel %d: want at least 1, 0 and 1",
			o.Trials, o.Fine, o.Parallel))
	}
	name := *dataName
	if name == "" {
		if name, err = data.ForShape(info.InC, info.InH, info.InW); err != nil {
			fmt.Fprintf(stderr, "tune: %v\n", err)
			return 2
		}
	}
	all, _, err := data.Load(name, *dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "tune: %v\n", err)
		return 1
	}
	if *val >= all.Len() {
		return usage(fmt.Errorf("-val %d: the training set has %d images; leave some to train on", *val, all.Len()))
	}
	trainSet, valSet, err := all.Split(*val)
	if err != nil {
		fmt.Fprintf(stderr, "tune: %v\n", err)
		return 1
	}
	if *images > 0 && *images < trainSet.Len() {
		idx := make([]int, *images)
		for i := range idx {
			idx[i] = i
		}
		trainSet = trainSet.Subset(idx)
	}
	fmt.Fprintf(stdout, "tune %s on %s: %d+%d trials of %d epoch(s) on %d images, validation %d\n",
		info.Name, name, o.Trials, o.Fine, base.Epochs, trainSet.Len(), valSet.Len())
	trials, err := Search(newNet, trainSet, valSet, base, o)
	if err != nil {
		fmt.Fprintf(stderr, "tune: %v\n", err)
		return 1
	}
	PrintTable(stdout, trials)
	top, err := Best(trials)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	section := Section(info, top)
	fmt.Fprintf(stdout, "\nbest settings:\n%s", section)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(section), 0o644); err != nil {
			fmt.Fprintf(stderr, "tune: %v\n", err)
			return 1
		}
	}
	return 0
}

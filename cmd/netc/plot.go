package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/netc-dev/netc/internal/flagargs"
	"github.com/netc-dev/netc/runtime/charts"
)

func init() {
	register(command{"plot", "redraw a training run's loss, accuracy and learning-rate charts", runPlot})
}

func runPlot(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logScale := fs.Bool("log", false, "draw the loss on a log scale")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: netc plot [-log] RUNDIR\n\nRedraws loss.png, accuracy.png and lr.png in RUNDIR from its iters.csv and epochs.csv.")
		fs.PrintDefaults()
	}
	dirs, err := flagargs.Parse(fs, args)
	if err != nil {
		return 2
	}
	if len(dirs) != 1 {
		fs.Usage()
		return 2
	}
	err = charts.WriteAll(dirs[0], *logScale)
	switch {
	case errors.Is(err, charts.ErrNoEpochs):
		fmt.Fprintf(stderr, "netc: %v (drew the loss and learning rate only)\n", err)
	case err != nil:
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s/{loss,accuracy,lr}.png\n", dirs[0])
	return 0
}

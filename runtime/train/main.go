package train

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
)

// Main is the whole command-line training program of a generated network: it reads the
// spec's [train] section (ConfigFromInfo), lets the flags of args override it
// (RegisterFlags; -h lists them with the spec's values), loads the data set (--data,
// default from the input shape: mnist for 1x28x28, cifar10 for 3x32x32), holds out the
// validation split (--val), trains (TrainContext; Ctrl-C stops after the current
// iteration with a checkpoint to resume from) and returns the exit status: 0 on
// success, 1 on failure (including divergence and a failed overfit check), 2 on bad
// usage, ExitNotLearning (3) when the run finished but did not learn (Result.NotLearning),
// 130 when interrupted.
//
// newNet makes the network from a seed (a generated package's New, wrapped); the program
// netc builds calls Main through package cli as its train subcommand.
func Main(newNet func(seed uint64) nn.Network, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	return mainRun(ctx, newNet, args, stdout, stderr)
}

// mainRun is Main with its context and writers given.
func mainRun(ctx context.Context, newNet func(seed uint64) nn.Network, args []string, stdout, stderr io.Writer) int {
	net := newNet(DefaultSeed)
	info := net.Info()
	cfg, err := ConfigFromInfo(info)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", info.Name, err)
		return 1
	}
	fs := flag.NewFlagSet(info.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [flags]\n\nTrains network %s; the defaults are the spec's [train] section.\n\nflags:\n", info.Name, info.Name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", info.Name, fs.Arg(0))
		fs.Usage()
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", info.Name, err)
		return 2
	}
	name := cfg.Data
	if name == "" {
		if name, err = data.ForShape(info.InC, info.InH, info.InW); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", info.Name, err)
			return 2
		}
	}
	trainAll, test, err := data.Load(name, cfg.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", info.Name, err)
		return 1
	}
	var trainSet, valSet *data.Dataset
	if cfg.Overfit > 0 {
		trainSet, test = trainAll, nil
	} else {
		nVal, err := cfg.ValCount(trainAll.Len())
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", info.Name, err)
			return 2
		}
		if trainSet, valSet, err = trainAll.Split(nVal); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", info.Name, err)
			return 1
		}
		if cfg.RunDir == "" && cfg.Resume == "" {
			if cfg.RunDir, err = NewRunDir(info.Name, time.Now()); err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", info.Name, err)
				return 1
			}
			// If the run fails before writing anything, the empty folder goes (and runs/
			// with it if that leaves it empty); os.Remove leaves folders with files alone.
			defer func(dir string) { os.Remove(dir); os.Remove(filepath.Dir(dir)) }(cfg.RunDir)
		}
	}
	fmt.Fprintf(stdout, "data %s: %s training images, %s test\n", name, commas(trainAll.Len()), commas(lenOf(test)))
	res, err := TrainContext(ctx, net, trainSet, valSet, test, cfg, stdout)
	switch {
	case err == nil && res.NotLearning != nil:
		fmt.Fprintf(stderr, "%s: the run did not learn (see the warning above)\n", info.Name)
		return ExitNotLearning
	case err == nil:
		return 0
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintf(stderr, "%s: interrupted\n", info.Name)
		return 130
	}
	fmt.Fprintf(stderr, "%s: %v\n", info.Name, err)
	return 1
}

// lenOf returns the number of images of ds, 0 for nil.
func lenOf(ds *data.Dataset) int {
	if ds == nil {
		return 0
	}
	return ds.Len()
}

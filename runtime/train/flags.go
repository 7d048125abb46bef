package train

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/netc-dev/netc/runtime/train/settings"
)

// settingFlag is the flag of one setting of settings.Table, bound to a Config: its value
// is the setting's words, as one argument.
type settingFlag struct {
	c *Config
	s *settings.Setting
}

func (f *settingFlag) String() string {
	if f == nil || f.c == nil {
		return ""
	}
	return f.s.Format(&f.c.Recipe)
}

func (f *settingFlag) Set(s string) error {
	words := strings.Fields(s)
	if len(words) == 0 {
		return fmt.Errorf("empty value")
	}
	return f.s.Apply(&f.c.Recipe, words, f.c.input)
}

// intFlag binds a non-negative int field.
type intFlag struct{ p *int }

func (f intFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.Itoa(*f.p)
}

func (f intFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number ≥ 0", s)
	}
	*f.p = n
	return nil
}

// RegisterFlags defines on fs a flag per setting of settings.Table, named by its key
// (--batch 128, --lr 0.05), bound to c, so that parsing the command line overrides what
// c holds (the spec's values, after ConfigFromInfo); the defaults shown by -h are c's
// current values. Settings of several words take them as one argument:
// --schedule "step 0.1 every 10 epochs". Then come the flags of the run:
//
//	--overfit N --run DIR --resume FILE --weights FILE --max-iters N
//	--data mnist|fashion-mnist|cifar10 --data-dir DIR
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	for i := range settings.Table {
		s := &settings.Table[i]
		fs.Var(&settingFlag{c: c, s: s}, s.Key, s.Doc+": "+s.Args)
	}
	fs.Var(intFlag{&c.Overfit}, "overfit",
		"sanity check: train on the first `N` training images without regularization until 100% training accuracy")
	fs.StringVar(&c.RunDir, "run", c.RunDir, "run `folder` for metrics, checkpoints and charts (default runs/SPEC-TIME)")
	fs.StringVar(&c.Resume, "resume", c.Resume, "continue exactly from this checkpoint `file`")
	fs.StringVar(&c.Weights, "weights", c.Weights,
		"start from the matching tensors of this checkpoint `file` (fine-tuning)")
	fs.Var(intFlag{&c.MaxIters}, "max-iters", "stop after `N` iterations in all, writing a checkpoint (0 = no limit)")
	fs.StringVar(&c.Data, "data", c.Data, "data `set`: mnist, fashion-mnist or cifar10 (default from the input shape)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "`folder` of the data set (default: its standard location)")
}

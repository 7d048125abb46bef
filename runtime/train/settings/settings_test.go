package settings

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
)

var mnist = Input{C: 1, H: 28, W: 28}

// set applies a setting line ("batch 64") to r.
func set(r *Recipe, line string, in Input) error {
	w := strings.Fields(line)
	return r.Set(w[0], w[1:], in)
}

// TestTable checks every row: a documented key given once, an example of its own key
// that reads, and values (the default and the example's) that Format writes and Apply
// reads back unchanged.
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for i := range Table {
		s := &Table[i]
		if s.Key == "" || seen[s.Key] || s.Args == "" || s.Doc == "" || s.Min < 1 || s.Max < s.Min {
			t.Errorf("row %d %q: key repeated or missing args, doc or arity: %+v", i, s.Key, s)
		}
		seen[s.Key] = true
		if strings.Contains(s.Doc, "`") {
			t.Errorf("%s: a backquote in the doc would name the flag's value in -h", s.Key)
		}
		if !strings.HasPrefix(s.Example, s.Key+" ") {
			t.Errorf("%s: example %q is not a line of its key", s.Key, s.Example)
		}
		r := DefaultRecipe()
		if err := set(&r, s.Example, mnist); err != nil {
			t.Errorf("%s: example %q: %v", s.Key, s.Example, err)
		}
		for _, base := range []Recipe{DefaultRecipe(), r} {
			back := DefaultRecipe()
			if err := s.Apply(&back, strings.Fields(s.Format(&base)), Input{}); err != nil {
				t.Errorf("%s: Format gave %q, which does not read back: %v", s.Key, s.Format(&base), err)
			}
			if s.Format(&back) != s.Format(&base) {
				t.Errorf("%s: %q read back as %q", s.Key, s.Format(&base), s.Format(&back))
			}
		}
	}
}

// equal compares recipes, which hold slices and so are not comparable with ==.
func equal(a, b Recipe) bool { return reflect.DeepEqual(a, b) }

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		line string
		want func(r *Recipe)
	}{
		{"batch 32", func(r *Recipe) { r.Batch = 32 }},
		{"epochs 3", func(r *Recipe) { r.Epochs = 3 }},
		{"lr 0.1", func(r *Recipe) { r.LR = 0.1 }},
		{"optimizer sgd", func(r *Recipe) { r.Optimizer.Method, r.Optimizer.Momentum = "sgd", 0 }},
		{"optimizer nesterov", func(r *Recipe) { r.Optimizer.Method = "nesterov" }},
		{"optimizer adam", func(r *Recipe) { r.Optimizer.Method, r.Optimizer.Momentum = "adam", 0 }},
		{"optimizer AdamW", func(r *Recipe) { r.Optimizer.Method, r.Optimizer.Momentum = "adamw", 0 }},
		{"schedule cosine to 1e-4", func(r *Recipe) { r.Schedule = strings.Fields("cosine to 1e-4") }},
		{"schedule cosine to 5", func(r *Recipe) { r.Schedule = strings.Fields("cosine to 5") }}, // lr may follow
		{"optimizer Momentum 0.5", func(r *Recipe) { r.Optimizer.Momentum = 0.5 }},
		{"l2 0", func(r *Recipe) { r.Optimizer.WeightDecay = 0 }},
		{"l1 1e-5", func(r *Recipe) { r.Optimizer.L1 = 1e-5 }},
		{"maxnorm 3", func(r *Recipe) { r.Optimizer.MaxNorm = 3 }},
		{"decay biases", func(r *Recipe) { r.Optimizer.DecayBiases = true }},
		{"decay all", func(r *Recipe) { r.Optimizer.DecayBiases = true }},
		{"schedule exp 0.9 per epoch", func(r *Recipe) { r.Schedule = strings.Fields("exp 0.9 per epoch") }},
		{"schedule constant", func(r *Recipe) {}},
		{"schedule 1/t 0.5 per epoch", func(r *Recipe) { r.Schedule = strings.Fields("1/t 0.5 per epoch") }},
		{"warmup 2 epochs from 0.1", func(r *Recipe) { r.Warmup = strings.Fields("2 epochs from 0.1") }},
		{"augment crop 27", func(r *Recipe) { r.Augment = data.Augment{CropPad: 27} }},
		{"augment crop 4 flip", func(r *Recipe) { r.Augment = data.Augment{Flip: true, CropPad: 4} }},
		{"augment none", func(r *Recipe) {}},
		{"init gaussian 0.01", func(r *Recipe) { r.Init, r.InitStd = nn.InitGaussian, 0.01 }},
		{"init xavier", func(r *Recipe) { r.Init = nn.InitXavier }},
		{"seed 18446744073709551615", func(r *Recipe) { r.Seed = 1<<64 - 1 }},
		{"val 0", func(r *Recipe) { r.Val = 0 }},
		{"val 0.2", func(r *Recipe) { r.Val = 0.2 }},
		{"val 5000", func(r *Recipe) { r.Val = 5000 }},
		{"val auto", func(r *Recipe) {}},
		{"preprocess image std", func(r *Recipe) { r.Preprocess, r.PreprocessStd = data.MeanImage, true }},
		{"preprocess std", func(r *Recipe) { r.Preprocess, r.PreprocessStd = data.MeanNone, true }},
		{"threads 0", func(r *Recipe) {}},
		{"threads 256", func(r *Recipe) { r.Threads = 256 }},
	} {
		got, want := DefaultRecipe(), DefaultRecipe()
		tc.want(&want)
		if err := set(&got, tc.line, mnist); err != nil {
			t.Errorf("%s: %v", tc.line, err)
		} else if !equal(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.line, got, want)
		}
	}
}

// TestApplyKeepsMomentum checks that momentum and nesterov without MU keep the momentum
// given before (a flag overriding the spec's method) and that sgd clears it.
func TestApplyKeepsMomentum(t *testing.T) {
	r := DefaultRecipe()
	for _, line := range []string{"optimizer nesterov 0.95", "optimizer momentum"} {
		if err := set(&r, line, Input{}); err != nil {
			t.Fatal(err)
		}
	}
	if r.Optimizer.Method != "momentum" || r.Optimizer.Momentum != 0.95 {
		t.Errorf("optimizer %+v, want momentum 0.95", r.Optimizer)
	}
	if err := set(&r, "optimizer sgd", Input{}); err != nil || r.Optimizer.Momentum != 0 {
		t.Errorf("sgd: %+v, %v", r.Optimizer, err)
	}
	if err := set(&r, "optimizer nesterov", Input{}); err != nil || r.Optimizer.Momentum != DefaultMomentum {
		t.Errorf("nesterov after sgd: %+v, %v", r.Optimizer, err)
	}
}

// TestErrors checks that each bad value is refused, unchanged in the recipe, with an
// error naming the word at fault, saying what is wrong and giving the row's example.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		line string
		in   Input
		word int
		msg  string
	}{
		{"batch 0", mnist, 0, `batch: "0" is not a whole number ≥ 1`},
		{"batch 2.5", mnist, 0, `batch: "2.5" is not a whole number ≥ 1`},
		{"batch 3000000000", mnist, 0, `batch: 3000000000 is more than 2147483647`},
		{"batch", mnist, 0, `batch takes one value`},
		{"batch 1 2", mnist, 1, `batch takes one value, not 2`},
		{"epochs 0", mnist, 0, `epochs: "0" is not a whole number ≥ 1`},
		{"lr -1", mnist, 0, `lr: "-1" must be a number > 0`},
		{"lr 0", mnist, 0, `lr: "0" must be a number > 0`},
		{"lr NaN", mnist, 0, `lr: "NaN" is not a finite number`},
		{"lr 1e39", mnist, 0, `lr: "1e39" is not a finite number`},
		{"optimizer adagrad", mnist, 0,
			`optimizer: "adagrad" is not an optimizer netc has; they are sgd, momentum [MU], nesterov [MU], adam and adamw`},
		{"optimizer adamw 0.9", mnist, 1, `optimizer: adamw takes no momentum`},
		{"optimizer sgd 0.9", mnist, 1, `optimizer: sgd takes no momentum`},
		{"optimizer momentum 1", mnist, 1, `optimizer: momentum "1" is not a number in (0, 1)`},
		{"l1 -0.1", mnist, 0, `l1: "-0.1" is negative; it must be ≥ 0`},
		{"maxnorm x", mnist, 0, `maxnorm: "x" is not a finite number`},
		{"decay some", mnist, 0, `decay: "some" is not one of weights, biases`},
		{"schedule linear", mnist, 0, `schedule: "linear" is not a kind of schedule; the kinds are constant, step,`},
		{"schedule step 0.1 every 10 fortnights", mnist, 4, `schedule step: "fortnights" is not a unit`},
		{"schedule step 0.1 every", mnist, 3, `schedule step: missing period`},
		{"schedule multistep 0.1 at 30 20 epochs", mnist, 4, `schedule multistep: milestone "20" is not after`},
		{"schedule poly -2", mnist, 1, `schedule poly: power "-2" must be positive`},
		{"warmup -5", mnist, 0, `warmup: length "-5" is negative`},
		{"warmup 5 from 2", mnist, 2, `warmup: start factor "2" is not in [0, 1]`},
		{"augment crop 28", mnist, 1, `augment: crop padding 28 does not fit the 28x28 input`},
		{"augment flip crop 99", Input{C: 3, H: 32, W: 20}, 2, `augment: crop padding 99 does not fit the 32x20 input`},
		{"augment crop", mnist, 1, `augment: crop needs its padding in pixels`},
		{"augment crop 0", mnist, 1, `augment: crop padding "0" is not a whole number ≥ 1`},
		{"augment rotate", mnist, 0, `augment: "rotate" is not an augmentation; they are flip, crop PAD and none`},
		{"init orthogonal", mnist, 0, `init: "orthogonal" is not an initialization`},
		{"init he 0.1", mnist, 1, `init he: unexpected "0.1"`},
		{"init gaussian -1", mnist, 1, `init gaussian: std "-1" is not a positive number`},
		{"seed -3", mnist, 0, `seed: "-3" is not a whole number ≥ 0`},
		{"val -5", mnist, 0, `val: "-5" is neither a count of images ≥ 0, a fraction in [0, 1) nor auto`},
		{"val 12.5", mnist, 0, `val: "12.5" is neither`},
		{"preprocess median", mnist, 0, `preprocess: "median" is not a mean; they are channel, image and none`},
		{"preprocess channel norm", mnist, 1, `preprocess: unexpected "norm": only std may follow the mean`},
		{"threads -1", mnist, 0, `threads: "-1" is not a whole number in [0, 256]`},
		{"threads 100000", mnist, 0, `threads: 100000 is more than 256`},
	} {
		r := DefaultRecipe()
		err := set(&r, tc.line, tc.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: error %v, want an *Error", tc.line, err)
			continue
		}
		s, _ := Lookup(e.Key)
		if e.Word != tc.word || !strings.HasPrefix(e.Msg, tc.msg) || s == nil || e.Example != s.Example ||
			!strings.HasSuffix(err.Error(), " (e.g. "+s.Example+")") {
			t.Errorf("%s: word %d, error %q\nwant word %d, %q… (e.g. its example)", tc.line, e.Word, err, tc.word, tc.msg)
		}
		if !equal(r, DefaultRecipe()) {
			t.Errorf("%s: the recipe changed: %+v", tc.line, r)
		}
	}
	r := DefaultRecipe()
	err := set(&r, "momentum 0.9", mnist)
	if err == nil || !strings.Contains(err.Error(), "momentum: unknown setting (known: batch,") {
		t.Errorf("unknown key: %v", err)
	}
}

// TestValidate checks that Validate refuses what Apply would not have written.
func TestValidate(t *testing.T) {
	if r := DefaultRecipe(); r.Validate(mnist) != nil {
		t.Errorf("default recipe: %v", r.Validate(mnist))
	}
	for _, tc := range []struct {
		mod  func(r *Recipe)
		want string
	}{
		{func(r *Recipe) { r.Batch = 0 }, `batch: "0"`},
		{func(r *Recipe) { r.LR = float32(-1) }, `lr: "-1"`},
		{func(r *Recipe) { r.Optimizer = Optimizer{Method: "adagrad"} }, `optimizer: "adagrad"`},
		{func(r *Recipe) { r.Schedule = strings.Fields("cosine to 0.1") }, `schedule cosine: minimum "0.1" must be`},
		{func(r *Recipe) { r.Optimizer.Method = "nesterov"; r.Optimizer.Momentum = 0 }, `optimizer: momentum "0"`},
		{func(r *Recipe) { r.Schedule = []string{"poly"} }, `schedule poly: missing power`},
		{func(r *Recipe) { r.Augment.CropPad = -2 }, `augment: crop padding "-2"`},
		{func(r *Recipe) { r.Init = nn.InitScheme(9) }, `init: "InitScheme(9)"`},
		{func(r *Recipe) { r.Preprocess = "median" }, `preprocess: "median"`},
		{func(r *Recipe) { r.Threads = 1000 }, `threads: 1000 is more than 256`},
		{func(r *Recipe) { r.Augment.CropPad = 28 }, `augment: crop padding 28 does not fit the 28x28 input`},
	} {
		r := DefaultRecipe()
		tc.mod(&r)
		before := r
		err := r.Validate(mnist)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("error %v, want %q…", err, tc.want)
		}
		if !equal(r, before) {
			t.Errorf("Validate changed the recipe: %+v", r)
		}
	}
}

func TestString(t *testing.T) {
	r := DefaultRecipe()
	want := "batch 64, epochs 10, lr 0.01, optimizer momentum 0.9, l2 0.0005, l1 0, maxnorm 0, labelsmooth 0, decay weights, " +
		"schedule constant, warmup 0, augment none, init he, seed 1, val auto, preprocess channel, threads 0"
	if got := r.String(); got != want {
		t.Errorf("String:\n got %s\nwant %s", got, want)
	}
	for _, line := range []string{"augment flip crop 2", "schedule exp 0.9", "init gaussian 0.02", "val 0.1", "labelsmooth 0.1"} {
		if err := set(&r, line, Input{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.String(), ", "+line+",") {
			t.Errorf("String lacks %q: %s", line, r.String())
		}
	}
}

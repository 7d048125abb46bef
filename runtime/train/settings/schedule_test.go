package settings

import (
	"math"
	"strings"
	"testing"
)

// All schedule tests use base lr 0.1, 100 iterations per epoch and 1000 iterations in all.
const (
	testBase  = 0.1
	testIPE   = 100
	testTotal = 1000
)

// at is one expected learning rate.
type at struct {
	iter int
	lr   float64
}

// TestSchedules checks every kind against hand-computed rates.
func TestSchedules(t *testing.T) {
	tests := []struct {
		spec   string
		warmup string
		want   []at
	}{
		{spec: "", want: []at{{0, 0.1}, {999, 0.1}, {5000, 0.1}}},
		{spec: "schedule constant", want: []at{{0, 0.1}, {999, 0.1}}},
		// ×0.1 every 2 epochs = 200 iterations.
		{spec: "schedule step 0.1 every 2 epochs", want: []at{
			{0, 0.1}, {199, 0.1}, {200, 0.01}, {399, 0.01}, {400, 0.001}, {999, 0.00001}}},
		{spec: "step 0.5 every 30 iterations", want: []at{
			{0, 0.1}, {29, 0.1}, {30, 0.05}, {59, 0.05}, {60, 0.025}, {90, 0.0125}}},
		// 0.5 epochs = 50 iterations.
		{spec: "step 0.5 every 0.5 epochs", want: []at{{49, 0.1}, {50, 0.05}, {100, 0.025}}},
		// 0.337 epochs = 33.7 iterations, rounded to 34.
		{spec: "step 0.5 every 0.337 epochs", want: []at{{33, 0.1}, {34, 0.05}, {68, 0.025}}},
		// Milestones at epochs 2 and 5 = iterations 200 and 500.
		{spec: "schedule multistep 0.1 at 2 5 epochs", want: []at{
			{0, 0.1}, {199, 0.1}, {200, 0.01}, {499, 0.01}, {500, 0.001}, {999, 0.001}}},
		{spec: "multistep 0.5 at 10 20 25 iterations", want: []at{
			{9, 0.1}, {10, 0.05}, {19, 0.05}, {20, 0.025}, {25, 0.0125}, {1000, 0.0125}}},
		// ×0.5 after each epoch: 0.1·0.5^⌊t/100⌋.
		{spec: "schedule exp 0.5", want: []at{
			{0, 0.1}, {99, 0.1}, {100, 0.05}, {250, 0.025}, {300, 0.0125}}},
		{spec: "exp 0.5 per iteration", want: []at{{0, 0.1}, {1, 0.05}, {3, 0.0125}}},
		{spec: "exp 0.5 per epochs", want: []at{{150, 0.05}}},
		// 0.1·exp(−0.5·t/100): e^−0.25 = 0.7788007831, e^−1 = 0.3678794412.
		{spec: "schedule natexp 0.5", want: []at{
			{0, 0.1}, {50, 0.07788007831}, {200, 0.03678794412}}},
		{spec: "natexp 0.01 per iteration", want: []at{{100, 0.03678794412}, {25, 0.07788007831}}},
		// 0.1·(1 + 0.01·t)^−2: t = 100 → 0.1/4; t = 300 → 0.1/16.
		{spec: "schedule inv 0.01 2", want: []at{{0, 0.1}, {100, 0.025}, {300, 0.00625}}},
		// Caffe's LeNet: 0.1·(1 + 1e-4·10000)^−0.75 = 0.1·2^−0.75 = 0.05946035575.
		{spec: "inv 1e-4 0.75", want: []at{{10000, 0.05946035575}}},
		// Power defaults to 1: 0.1/(1 + 0.01·t).
		{spec: "inv 0.01", want: []at{{100, 0.05}, {300, 0.025}}},
		// 0.1/(1 + 1·epochs): t = 50 is half an epoch → 0.1/1.5.
		{spec: "inv 1 1 per epoch", want: []at{{50, 0.06666666667}, {100, 0.05}, {300, 0.025}}},
		{spec: "schedule 1/t 0.01", want: []at{{0, 0.1}, {100, 0.05}, {300, 0.025}}},
		{spec: "1/t 0.5 per epoch", want: []at{{200, 0.05}, {600, 0.025}}},
		// 0.1·sqrt(1 − t/1000): t = 750 → 0.05; t = 960 → 0.02.
		{spec: "schedule sqrt", want: []at{
			{0, 0.1}, {750, 0.05}, {960, 0.02}, {1000, 0}, {1200, 0}}},
		// Over 5 epochs = 500 iterations: t = 375 → 0.1·sqrt(0.25).
		{spec: "sqrt over 5 epochs", want: []at{{375, 0.05}, {480, 0.02}, {500, 0}}},
		{spec: "sqrt over 400 iterations", want: []at{{300, 0.05}}},
		// 0.1·(1 − t/1000)²: t = 500 → 0.025; t = 900 → 0.001.
		{spec: "schedule poly 2", want: []at{{0, 0.1}, {500, 0.025}, {900, 0.001}, {1000, 0}, {1100, 0}}},
		{spec: "poly 1 over 2 epochs", want: []at{{100, 0.05}, {150, 0.025}}},
		// 0.1·(1 + cos(π·t/1000))/2: t = 250 → 0.1·(1 + √½)/2; t = 500 → 0.05; then 0.
		{spec: "schedule cosine", want: []at{
			{0, 0.1}, {250, 0.08535533906}, {500, 0.05}, {750, 0.01464466094}, {1000, 0}, {1500, 0}}},
		// To 0.02 over 2 epochs = 200 iterations: 0.02 + 0.08·(1 + cos(π·t/200))/2.
		{spec: "cosine to 0.02 over 2 epochs", want: []at{{0, 0.1}, {100, 0.06}, {200, 0.02}, {900, 0.02}}},
		// Warm-up from 0 over 100 iterations: factor t/100.
		{spec: "constant", warmup: "warmup 100", want: []at{
			{0, 0}, {25, 0.025}, {50, 0.05}, {99, 0.099}, {100, 0.1}, {150, 0.1}}},
		// Warm-up of 1 epoch from 0.5: factor 0.5 + 0.5·t/100, on top of ×0.1 every 50:
		// t = 0 → 0.1·0.5; t = 50 → 0.01·0.75; t = 100 → 0.001.
		{spec: "step 0.1 every 50 iterations", warmup: "1 epoch from 0.5", want: []at{
			{0, 0.05}, {50, 0.0075}, {100, 0.001}}},
		// Warm-up into a decaying schedule: 0.1·sqrt(1 − t/1000)·t/200 at t = 100 →
		// 0.1·sqrt(0.9)·0.5 = 0.04743416490.
		{spec: "sqrt", warmup: "2 epochs", want: []at{{100, 0.0474341649}, {200, 0.08944271910}}},
		{spec: "constant", warmup: "0", want: []at{{0, 0.1}}},
	}
	for _, tc := range tests {
		s, err := ParseSchedule(strings.Fields(tc.spec), testBase, testIPE, testTotal)
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tc.spec, err)
			continue
		}
		if tc.warmup != "" {
			w, err := ParseWarmup(strings.Fields(tc.warmup), testIPE)
			if err != nil {
				t.Errorf("ParseWarmup(%q): %v", tc.warmup, err)
				continue
			}
			s = s.WithWarmup(w)
		}
		for _, a := range tc.want {
			got := s.LR(a.iter)
			if math.Abs(float64(got)-a.lr) > 1e-6*a.lr+1e-12 {
				t.Errorf("%q + %q: LR(%d) = %.9g, want %.9g", tc.spec, tc.warmup, a.iter, got, a.lr)
			}
		}
		if s.Base() != testBase {
			t.Errorf("%q: Base() = %g", tc.spec, s.Base())
		}
	}
}

func TestScheduleString(t *testing.T) {
	s, err := ParseSchedule(strings.Fields("schedule Step 0.1 every 10 Epochs"), 0.01, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "step 0.1 every 10 epochs"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	w, err := ParseWarmup([]string{"warmup", "5", "epochs", "from", "0.1"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if w != (Warmup{Iters: 500, Start: 0.1}) {
		t.Errorf("warmup = %+v", w)
	}
	if got, want := s.WithWarmup(w).String(), "step 0.1 every 10 epochs; warmup 500 iterations from 0.1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if s.Warmup() != (Warmup{}) {
		t.Error("WithWarmup changed the original")
	}
	c := ConstantSchedule(0.03)
	if c.LR(0) != 0.03 || c.LR(1e6) != 0.03 || c.String() != "constant" {
		t.Errorf("ConstantSchedule(0.03) = %v: %g", c, c.LR(0))
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct {
		spec       string
		ipe, total int
		want       string // the error must contain this
	}{
		{spec: "schedule bogus", want: `"bogus"`},
		{spec: "step", want: "missing gamma"},
		{spec: "step x every 10 epochs", want: `"x"`},
		{spec: "step -0.1 every 10 epochs", want: `"-0.1"`},
		{spec: "step 0.1 each 10 epochs", want: `"each"`},
		{spec: "step 0.1 every ten epochs", want: `"ten"`},
		{spec: "step 0.1 every 10", want: "missing unit"},
		{spec: "step 0.1 every 10 fortnights", want: `"fortnights"`},
		{spec: "step 0.1 every 2.5 iterations", want: `"2.5"`},
		{spec: "step 0.1 every 0 iterations", want: `"0"`},
		{spec: "step 0.1 every 10 epochs", ipe: -1, want: "iterations per epoch"},
		{spec: "step 0.1 every 10 epochs please", want: `"please"`},
		{spec: "multistep 0.1 30 60 epochs", want: `"30"`},
		{spec: "multistep 0.1 at epochs", want: "no milestones"},
		{spec: "multistep 0.1 at 30 20 epochs", want: `"20"`},
		{spec: "multistep 0.1 at 30 30 epochs", want: `"30"`},
		{spec: "multistep 0.1 at 0 10 epochs", want: `"0"`},
		{spec: "multistep 0.1 at 10 x epochs", want: `"x"`},
		{spec: "multistep 0.1 at 10 20", want: "missing unit"},
		{spec: "exp", want: "missing gamma"},
		{spec: "exp 0", want: `"0"`},
		{spec: "exp 0.9 per", want: "missing unit"},
		{spec: "exp 0.9 per week", want: `"week"`},
		{spec: "exp 0.9 each epoch", want: `"each"`},
		{spec: "exp 0.9", ipe: -1, want: "iterations per epoch"},
		{spec: "natexp k", want: `"k"`},
		{spec: "inv 1e-4 x", want: `"x"`},
		{spec: "inv 1e-4 0.75 0.5", want: `"0.5"`},
		{spec: "1/t 0.1 2", want: `"2"`},
		{spec: "sqrt", total: -1, want: "total number of iterations"},
		{spec: "sqrt over", want: "missing horizon"},
		{spec: "sqrt over 10", want: "missing unit"},
		{spec: "sqrt over 0.001 epochs", want: `"0.001"`},
		{spec: "sqrt 2", want: `"2"`},
		{spec: "poly", want: "missing power"},
		{spec: "poly nan", want: `"nan"`},
		{spec: "poly 2", total: -1, want: "total number of iterations"},
		{spec: "cosine to 0.5", want: "between 0 and the base"},
		{spec: "cosine to", want: "minimum"},
		{spec: "cosine over", want: "horizon"},
		{spec: "constant 0.1", want: `"0.1"`},
	}
	for _, tc := range tests {
		ipe, total := testIPE, testTotal
		if tc.ipe != 0 {
			ipe = 0
		}
		if tc.total != 0 {
			total = 0
		}
		_, err := ParseSchedule(strings.Fields(tc.spec), testBase, ipe, total)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSchedule(%q) error = %v, want one containing %s", tc.spec, err, tc.want)
		}
	}
	if _, err := ParseSchedule(nil, -1, testIPE, testTotal); err == nil {
		t.Error("negative base learning rate accepted")
	}
}

func TestParseWarmupErrors(t *testing.T) {
	tests := []struct {
		spec string
		ipe  int
		want string
	}{
		{spec: "warmup", want: "missing length"},
		{spec: "warmup abc", want: `"abc"`},
		{spec: "warmup -5", want: `"-5"`},
		{spec: "warmup 2.5", want: `"2.5"`},
		{spec: "warmup 10 fortnights", want: `"fortnights"`},
		{spec: "warmup 10 from", want: "missing start factor"},
		{spec: "warmup 10 from 2", want: `"2"`},
		{spec: "warmup 10 from x", want: `"x"`},
		{spec: "warmup 1 epoch", ipe: -1, want: "iterations per epoch"},
	}
	for _, tc := range tests {
		ipe := testIPE
		if tc.ipe != 0 {
			ipe = 0
		}
		_, err := ParseWarmup(strings.Fields(tc.spec), ipe)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseWarmup(%q) error = %v, want one containing %s", tc.spec, err, tc.want)
		}
	}
}

package tune

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/train"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

func newLenet(seed uint64) nn.Network { return lenetmnist.New(seed) }

// smallMNIST returns 2,000 training and 500 validation images of MNIST.
func smallMNIST(t *testing.T) (trainSet, valSet *data.Dataset) {
	t.Helper()
	all, _, err := data.Load(data.MNIST, "")
	if err != nil {
		t.Fatal(err)
	}
	first := func(n, from int) *data.Dataset {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = from + i
		}
		return all.Subset(idx)
	}
	return first(2000, 0), first(500, 50000)
}

// TestSearchBeatsBadRate: a tiny search finds a learning rate whose validation accuracy
// clearly beats a deliberately bad one (1e-6, far too small to learn in one epoch).
func TestSearchBeatsBadRate(t *testing.T) {
	trainSet, valSet := smallMNIST(t)
	base, err := train.ConfigFromInfo(newLenet(1).Info())
	if err != nil {
		t.Fatal(err)
	}
	base.Epochs = 1
	o := Options{Trials: 4, Fine: 2, LR: [2]float64{-3, -0.5}, Reg: [2]float64{-6, -3}, Seed: 7, Parallel: 2}
	trials, err := Search(newLenet, trainSet, valSet, base, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != 7 || !slices.ContainsFunc(trials, func(t Trial) bool { return t.N == 0 && float32(t.LR) == 0.03 }) {
		t.Fatalf("%d trials, want 6 and the spec's own (lr 0.03)", len(trials))
	}
	bad := []Trial{{N: 99, Stage: 1, LR: 1e-6, Reg: 1e-4}}
	run(newLenet, trainSet, valSet, base, bad, o)
	var table strings.Builder
	PrintTable(&table, append(trials, bad...))
	t.Logf("\n%s", table.String())
	if trials[0].ValAcc < bad[0].ValAcc+0.2 {
		t.Errorf("best trial reached %.3f, the bad rate %.3f", trials[0].ValAcc, bad[0].ValAcc)
	}
	for i := 1; i < len(trials); i++ {
		if trials[i].ValAcc > trials[i-1].ValAcc {
			t.Errorf("table not sorted at %d", i)
		}
	}
	// Reproducible from the seed.
	again, err := Search(newLenet, trainSet, valSet, base, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range trials {
		if again[i].LR != trials[i].LR || again[i].ValAcc != trials[i].ValAcc {
			t.Fatalf("trial %d differs between two searches with the same seed", i)
		}
	}
}

// TestDivergedTrialIsAbandoned: a huge learning rate stops early as diverged.
func TestDivergedTrialIsAbandoned(t *testing.T) {
	trainSet, valSet := smallMNIST(t)
	base, err := train.ConfigFromInfo(newLenet(1).Info())
	if err != nil {
		t.Fatal(err)
	}
	base.Epochs = 1
	trials := []Trial{{N: 1, LR: 50, Reg: 1e-4}}
	run(newLenet, trainSet, valSet, base, trials, Options{Seed: 1, Parallel: 1})
	if !trials[0].Diverged || trials[0].ValAcc != 0 {
		t.Errorf("lr 50: diverged %v, val acc %g; want an abandoned trial", trials[0].Diverged, trials[0].ValAcc)
	}
}

func TestSection(t *testing.T) {
	info := &nn.Info{Train: []nn.Setting{{Key: "batch", Values: []string{"64"}}, {Key: "lr", Values: []string{"0.01"}}}}
	got := Section(info, Trial{LR: 0.0123456, Reg: 0.000321})
	want := "[train]\nbatch 64\nlr 0.0123\nl2 0.000321\n"
	if got != want {
		t.Errorf("Section = %q, want %q", got, want)
	}
}

// TestBest: with every trial diverged or failed there is no best (netc tune used to exit
// 0 and print the failed trial 0 as "best settings"); otherwise the best is the first
// trial that ran to its end, even at a lower accuracy than a failed one's 0.
func TestBest(t *testing.T) {
	boom := errors.New("out of data")
	for _, tc := range []struct {
		name   string
		trials []Trial
		want   int    // the best trial's N, or -1
		err    string // in the error when want is -1
	}{
		{"all diverged", []Trial{{N: 0, Diverged: true}, {N: 1, Diverged: true}}, -1, "every one of the 2 trials diverged"},
		{"all failed", []Trial{{N: 0, Diverged: true}, {N: 2, Err: boom}}, -1, "trial 2: out of data"},
		{"one ran", []Trial{{N: 3, ValAcc: 0}, {N: 0, Err: boom}, {N: 1, Diverged: true}}, 3, ""},
		{"none", nil, -1, "every one of the 0 trials"},
	} {
		got, err := Best(best(tc.trials))
		switch {
		case tc.want < 0 && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.err)
		case tc.want >= 0 && (err != nil || got.N != tc.want):
			t.Errorf("%s: trial %d, %v; want trial %d", tc.name, got.N, err, tc.want)
		}
	}
}

// TestMainRefusesBadFlags: flags that make every trial fail are usage errors, before any
// trial runs.
func TestMainRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-epochs", "0"}, `epochs: "0" is not a whole number ≥ 1`},
		{[]string{"-images", "-1"}, "-images -1"},
		{[]string{"-val", "-5"}, "-val -5"},
		{[]string{"-val", "60000"}, "-val 60000: the training set has 60000 images"},
		{[]string{"-trials", "0"}, "-trials 0"},
	} {
		var stdout, stderr strings.Builder
		if status := Main(newLenet, tc.args, &stdout, &stderr); status != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: status %d, stderr %q; want 2 and %q", tc.args, status, stderr.String(), tc.want)
		}
		if strings.Contains(stdout.String(), "best settings") {
			t.Errorf("%q: printed best settings:\n%s", tc.args, stdout.String())
		}
	}
}

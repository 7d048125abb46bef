package tune

import (
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

package pytorch

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/internal/goldenspecs"
	"github.com/netc-dev/netc/runtime/train/settings"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden-pytorch")

// python3 is Debian's Python, which has python3-torch (a python3 earlier on PATH may not).
const python3 = "/usr/bin/python3"

// goldenDir holds the exported model.py and train.py of every golden spec, one folder a
// spec, relative to the module root.
const goldenDir = "testdata/golden-pytorch"

// specs returns the specs with golden exports: those of gen's golden packages.
func specs(t *testing.T) []string {
	t.Helper()
	paths, err := goldenspecs.List("..")
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// compile compiles the spec at path, relative to the module root.
func compile(t *testing.T, path string) *compiler.Net {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	net, err := compiler.Compile(path, src)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// TestGolden exports every golden spec and compares model.py and train.py with
// testdata/golden-pytorch byte for byte; with -update it rewrites them. Exporting twice
// must give the same bytes.
func TestGolden(t *testing.T) {
	var names []string
	for _, path := range specs(t) {
		net := compile(t, path)
		files, err := Files(net)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		again, err := Files(compile(t, path))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, net.Name)
		for _, f := range []string{ModelFile, TrainFile} {
			if string(files[f]) != string(again[f]) {
				t.Errorf("%s: two exports give different %s", path, f)
			}
			checkGolden(t, filepath.Join("..", goldenDir, net.Name, f), files[f])
		}
	}
	entries, err := os.ReadDir(filepath.Join("..", goldenDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(names, e.Name()) {
			t.Errorf("%s/%s is exported from none of the specs; delete it", goldenDir, e.Name())
		}
	}
}

// checkGolden compares got with the file at path, or with -update writes it there.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenspecs.Check(t, path, path, got, *update, "go test ./pytorch -update")
}

// TestEverySetting: train.py's recipe says something of every training setting netc
// has, and nothing of others, so that a new setting fails here until train.py follows it.
func TestEverySetting(t *testing.T) {
	keys := map[string]bool{}
	for _, s := range settings.Table {
		keys[s.Key] = true
		if recipeEntries[s.Key] == nil {
			t.Errorf("train.py does not follow the setting %q: give it an entry in recipeEntries and netc_support.py", s.Key)
		}
	}
	for k := range recipeEntries {
		if !keys[k] {
			t.Errorf("recipeEntries has %q, which is not a setting of settings.Table", k)
		}
	}
}

// TestNames: layer names that cannot name a PyTorch submodule are refused, naming the
// layer; others pass.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"first", true}, {"conv_a", true}, {"B2", true},
		{"forward", false}, {"in", false}, {"training", false}, {"a.b", false}, {"a-b", false}, {"_x", false}, {"input", false},
	} {
		src := "input 1x4x4\n" + tc.name + ": conv 2 3x3 | full 2 | softmax\n"
		net, err := compiler.Compile("names.net", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, err = Model(net)
		if ok := err == nil; ok != tc.ok || err != nil && !strings.Contains(err.Error(), `"`+tc.name+`"`) {
			t.Errorf("layer %q: error %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestSchedules compares netc_support.py's learning rates with netc's Schedule.LR, for
// every kind of schedule and warm-up, over the iterations of a run.
func TestSchedules(t *testing.T) {
	if err := exec.Command(python3, "-c", "import torch").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 with torch is needed (apt-get install python3-torch): %v", err)
		}
		t.Skip("python3 with torch is not installed (apt-get install python3-torch)")
	}
	const ipe, total, base = 7, 70, 0.1
	cases := [][2]string{
		{"", ""}, {"constant", "5"}, {"step 0.1 every 2 epochs", ""}, {"step 0.5 every 9 iterations", "3 iterations from 0.2"},
		{"multistep 0.1 at 2 5.5 epochs", "1 epoch"}, {"multistep 0.3 at 10 40 iters", ""},
		{"exp 0.9", ""}, {"exp 0.95 per iteration", ""}, {"natexp 0.05", ""}, {"natexp 0.01 per iter", ""},
		{"inv 1e-2 0.75", ""}, {"inv 0.1 per epoch", ""}, {"1/t 0.5 per epoch", ""}, {"1/t 0.01", ""},
		{"sqrt", ""}, {"sqrt over 5 epochs", ""}, {"poly 2", "0.5 epochs"}, {"poly 1 over 30 iterations", ""},
		{"cosine", ""}, {"cosine to 1e-3", "10 from 0.1"}, {"cosine over 4 epochs", ""}, {"COSINE TO 0.01 OVER 50 ITERS", ""},
	}
	type result struct {
		Schedule string    `json:"schedule"`
		Warmup   string    `json:"warmup"`
		LR       []float64 `json:"lr"`
	}
	var want []result
	for _, c := range cases {
		s, err := settings.ParseSchedule(strings.Fields(c[0]), base, ipe, total)
		if err != nil {
			t.Fatalf("%q: %v", c[0], err)
		}
		if c[1] != "" {
			w, err := settings.ParseWarmup(strings.Fields(c[1]), ipe)
			if err != nil {
				t.Fatalf("%q: %v", c[1], err)
			}
			s = s.WithWarmup(w)
		}
		r := result{Schedule: c[0], Warmup: c[1]}
		for it := range total + 5 {
			r.LR = append(r.LR, float64(s.LR(it)))
		}
		want = append(want, r)
	}
	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys
import netc_support
out = []
for c in json.loads(sys.stdin.read()):
    s = netc_support.Schedule(c["schedule"], c["warmup"], 0.1, 7, 70)
    out.append([s.lr(i) for i in range(len(c["lr"]))])
print(json.dumps(out))
`
	cmd := exec.Command(python3, "-c", script)
	cmd.Dir = "."
	cmd.Stdin = strings.NewReader(string(js))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var got [][]float64
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for i, r := range want {
		for it, lr := range r.LR {
			if g := got[i][it]; g != lr {
				t.Errorf("schedule %q warmup %q, iteration %d: netc_support.py gives %g, netc %g", r.Schedule, r.Warmup, it, g, lr)
				break
			}
		}
	}
}

// TestGlobalBatch: one step of train.py's optimizer on an exported network with batch
// norms, a residual block and a concat (testdata/layers/graph.net), data-parallel under
// torchrun with 2 processes, each on half the batch, equals the step of one process on
// the whole batch: the spec's batch stays the global batch, batch norms included
// (testdata/ddp_step.py). With each process's batch norms on its own half, as PyTorch
// does by default, it would not.
func TestGlobalBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts torchrun")
	}
	if err := exec.Command(python3, "-c", "import torch.distributed.run").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 with torch is needed (apt-get install python3-torch): %v", err)
		}
		t.Skip("python3 with torch is not installed (apt-get install python3-torch)")
	}
	dir := t.TempDir()
	pkg, out := filepath.Join(dir, "graph"), filepath.Join(dir, "out.json")
	if err := Write(pkg, compile(t, "testdata/layers/graph.net")); err != nil {
		t.Fatal(err)
	}
	// --redirects 1 --tee 1: see the README (Debian's torch 1.13 under Python 3.12).
	cmd := exec.Command(python3, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
		"--redirects", "1", "--tee", "1", "testdata/ddp_step.py", pkg, out)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("torchrun ddp_step.py: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		LossAlone  float64 `json:"loss_alone"`
		LossGlobal float64 `json:"loss_global"`
		LossOwn    float64 `json:"loss_own"`
		DiffGlobal float64 `json:"diff_global"`
		DiffOwn    float64 `json:"diff_own"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("loss alone %.6f, data-parallel %.6f (batch norms per process: %.6f); state after the step differs by %.3g (per process: %.3g)",
		r.LossAlone, r.LossGlobal, r.LossOwn, r.DiffGlobal, r.DiffOwn)
	if math.Abs(r.LossGlobal-r.LossAlone) > 1e-5*math.Abs(r.LossAlone) || r.DiffGlobal > 1e-5 {
		t.Errorf("the data-parallel step differs from the step on the whole batch: loss %g against %g, state by %.3g",
			r.LossGlobal, r.LossAlone, r.DiffGlobal)
	}
	if r.DiffOwn < 100*r.DiffGlobal {
		t.Errorf("batch norms per process differ by %.3g only, against %.3g over the global batch: the test does not tell them apart",
			r.DiffOwn, r.DiffGlobal)
	}
}

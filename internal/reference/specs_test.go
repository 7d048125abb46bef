package reference

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netc-dev/netc/runtime/nn"
)

// TestSpecs runs the reference specs at batch 1 in train mode (drawing AlexNet's dropout
// masks) and checks the sizes and finiteness of everything Run returns. AlexNet (about
// 0.7 GMAC forward) takes a few seconds and is skipped under -short.
func TestSpecs(t *testing.T) {
	paths, err := filepath.Glob("../../specs/*.net")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no specs found: %v", err)
	}
	wantParams := map[string]int{ // as the specs' comments say
		"alexnet":     60965224,
		"cifar-small": 22466,
		"lenet-mnist": 5994,
		"vgg-style":   6440,
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".net")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			net := compile(t, string(src))
			if net.MACs > 100_000_000 && testing.Short() {
				t.Skipf("%d MACs: skipped under -short", net.MACs)
			}
			if want, ok := wantParams[name]; ok && net.Params != want {
				t.Errorf("%d parameters, want %d", net.Params, want)
			}
			r := nn.NewRNG(1)
			prob := RandomProblem(net, 1, false, &r)
			rng := nn.NewRNG(2)
			start := time.Now()
			res, err := Run(net, prob.Params, prob.X, 1, prob.Labels, nil, true, &rng)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d parameters, %d MACs: forward and backward in %v, loss %.4g", net.Params, net.MACs, time.Since(start), res.Loss)
			if len(res.DParams) != net.Params+net.Buffers {
				t.Errorf("len(DParams) = %d, want %d", len(res.DParams), net.Params+net.Buffers)
			}
			if len(res.DInput) != net.Input.Size() || len(res.Scores) != net.Outputs() {
				t.Errorf("len(DInput) = %d, len(Scores) = %d; want %d, %d", len(res.DInput), len(res.Scores), net.Input.Size(), net.Outputs())
			}
			if !(res.Loss > 0) || math.IsInf(res.Loss, 0) {
				t.Errorf("loss %v", res.Loss)
			}
			for _, v := range [][]float64{res.Scores, res.DParams, res.DInput} {
				for i, f := range v {
					if math.IsNaN(f) || math.IsInf(f, 0) {
						t.Fatalf("value %d is %v", i, f)
					}
				}
			}
		})
	}
}

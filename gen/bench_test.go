package gen

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/bench"
	"github.com/netc-dev/netc/runtime/nn"
)

// BenchmarkNetworks measures a training step (batch 64, AlexNet 8) and batch-1 inference
// of the reference networks, reporting images per second.
func BenchmarkNetworks(b *testing.B) {
	for _, gn := range goldenNets {
		if !strings.HasPrefix(gn.spec, "specs/") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(gn.spec), ".net")
		batch := 64
		if name == "alexnet" {
			batch = 8
		}
		for _, mode := range []struct {
			name  string
			train bool
			batch int
		}{{"train", true, batch}, {"infer", false, 1}} {
			b.Run(name+"/"+mode.name, func(b *testing.B) {
				s, err := bench.NewStepper(gn.new(1), mode.train, mode.batch)
				if err != nil {
					b.Fatal(err)
				}
				s.Step()
				b.ResetTimer()
				for range b.N {
					s.Step()
				}
				b.ReportMetric(float64(b.N*mode.batch)/b.Elapsed().Seconds(), "img/s")
			})
		}
	}
}

var _ nn.Network // the golden networks implement it

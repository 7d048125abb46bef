package gen

import (
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/bench"
)

// TestNoAllocations: in steady state a training step (forward, loss, backward, optimizer
// step) and an inference call allocate nothing, for every reference network.
func TestNoAllocations(t *testing.T) {
	for _, gn := range goldenNets {
		if !strings.HasPrefix(gn.spec, "specs/") {
			continue
		}
		for _, mode := range []struct {
			train bool
			batch int
		}{{true, 2}, {true, 17}, {false, 1}, {false, 5}} {
			// Batch 17 takes the GEMM path of full layers; AlexNet's is left to the
			// kernels' own allocation test, as its workspace at that batch is large.
			if gn.spec == "specs/alexnet.net" && (mode.batch > 16 || mode.batch > 2 && testing.Short()) {
				continue
			}
			if testing.Short() && mode.batch > 2 && (gn.spec == "specs/resnet20.net" || gn.spec == "specs/mobile-cifar.net") {
				continue // make test's second pass (-short -tags purego): the first ran these
			}
			s, err := bench.NewStepper(gn.new(1), mode.train, mode.batch)
			if err != nil {
				t.Fatal(err)
			}
			// Warm up: the kernels' workers size their scratch buffers on first use.
			for range 4 {
				s.Step()
			}
			// Over 20 steps, as the kernels' own tests count: when a loaded machine keeps a
			// pool worker off the CPU long enough that it parks, the Go runtime may allocate
			// the record of a parked goroutine once, which over 3 steps counted as one per
			// step (seen in make test, with other packages testing alongside).
			if n := testing.AllocsPerRun(20, s.Step); n != 0 {
				t.Errorf("%s train=%v batch %d: %v allocations per step", gn.spec, mode.train, mode.batch, n)
			}
		}
	}
}

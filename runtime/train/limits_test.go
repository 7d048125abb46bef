package train

import (
	"strings"
	"testing"

	"github.com/netc-dev/netc/internal/limits"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

// Settings that cannot fit in memory or make sense are errors naming the limit, before
// anything is allocated or trained: no out-of-memory crash, no hang, no panic per step.
func TestTrainRefusesAbsurdSettings(t *testing.T) {
	huge := func() nn.Network { // a network whose layer outputs cannot fit in any memory
		n := lenetmnist.New(1)
		o := &otherVersion{Network: n, info: *n.Info()}
		o.info.Layers = append([]nn.LayerInfo(nil), o.info.Layers...)
		o.info.Layers[0].Out = [3]int{1 << 20, 1 << 10, 1 << 10}
		return o
	}
	for _, tc := range []struct {
		name string
		net  func() nn.Network
		edit func(*Config)
		want string
	}{
		{"threads", nil, func(c *Config) { c.Threads = 100000 }, "threads: 100000 is more than 256"},
		{"negative val", nil, func(c *Config) { c.Val = -5 }, "val -5: must be a count of images, a fraction in [0, 1), or auto"},
		{"crop wider than the image", nil, func(c *Config) { c.Augment.CropPad = 29 }, "crop padding 29 does not fit the 28x28 input"},
		{"memory", huge, func(*Config) {}, "more than the limit of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "memory" && limits.Memory() == 0 {
				t.Skip("the system does not say how much memory it has")
			}
			cfg := mnistConfig(t, 1)
			tc.edit(&cfg)
			var net nn.Network = lenetmnist.New(1)
			if tc.net != nil {
				net = tc.net()
			}
			tr, _ := mnist(t, 100, 0)
			_, err := Train(net, tr, nil, nil, cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Train: %v, want %q", err, tc.want)
			}
		})
	}
}

// --val that leaves nothing to train on is a usage error of the program.
func TestMainRefusesVal(t *testing.T) {
	for _, val := range []string{"60000", "-5"} {
		var stdout, stderr strings.Builder
		status := mainRun(t.Context(), newLenet, []string{"--val", val, "--max-iters", "1", "--run", t.TempDir()}, &stdout, &stderr)
		if status != 2 || !strings.Contains(stderr.String(), val) {
			t.Errorf("--val %s: status %d, stderr %q", val, status, stderr.String())
		}
	}
}

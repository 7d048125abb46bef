package cli

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

func newLenet(seed uint64) nn.Network { return lenetmnist.New(seed) }

// Main takes a generated package's New as it is.
var _ func(func(uint64) *lenetmnist.Net, []string) int = Main[*lenetmnist.Net]

// TestRun dispatches each subcommand of a generated network's program: every one is
// reached (its own usage or output shows), and a missing or unknown one is a usage error.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		stdout string // substring
		stderr string // substring
	}{
		{"no command", nil, 2, "", "The program of network lenet-mnist (input 1x28x28, 10 outputs"},
		{"help", []string{"help"}, 2, "", "predict   run trained weights"},
		{"unknown", []string{"fit"}, 2, "", `unknown command "fit"`},
		{"train", []string{"train", "-h"}, 0, "", "Trains network lenet-mnist"},
		{"bench", []string{"bench", "-batch", "2", "-duration", "1ms"}, 0, "img/s", ""},
		{"tune", []string{"tune", "-trials", "x"}, 2, "", `invalid value "x" for flag -trials`},
		{"predict", []string{"predict"}, 2, "", "--weights FILE is required"},
		{"gradients", []string{"gradients"}, 2, "", "usage: gradients -in FILE -out FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := Run(newLenet, tc.args, &stdout, &stderr)
			if status != tc.status || !strings.Contains(stdout.String(), tc.stdout) ||
				!strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("status %d (want %d)\nstdout:\n%s\nstderr:\n%s", status, tc.status, stdout.String(), stderr.String())
			}
		})
	}
}

// TestNoPlotting: the program does not link the plotting library (7.4 MB of a 15.7 MB
// program when it did); netc draws the charts.
func TestNoPlotting(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "gonum.org/v1/plot") {
			t.Errorf("the program links %s", pkg)
		}
	}
}

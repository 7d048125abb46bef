package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/netc-dev/netc/internal/limits"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

// Batches and thread counts that cannot fit or make sense are errors naming the limit, not
// an out-of-memory crash or a hang; sensible ones are measured.
func TestRunLimits(t *testing.T) {
	newNet := func(seed uint64) nn.Network { return lenetmnist.New(seed) }
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"-threads", "100000"}, 1, "(limits.MaxThreads)"},
		{[]string{"-threads", "-1"}, 1, "(limits.MaxThreads)"},
		{[]string{"-batch", "0"}, 1, "batch 0, want at least 1"},
		{[]string{"-batch", "1000000000000"}, 1, "(the machine's memory)"},
		{[]string{"-batch", "2", "-train", "-duration", "1ms"}, 0, "img/s "},
	} {
		if tc.want == "(the machine's memory)" && limits.Memory() == 0 {
			continue
		}
		var stdout, stderr strings.Builder
		start := time.Now()
		status := Main(newNet, tc.args, &stdout, &stderr)
		if status != tc.status || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
			t.Errorf("%q: status %d, output %q %q; want %d and %q", tc.args, status, stdout.String(), stderr.String(), tc.status, tc.want)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%q took %v", tc.args, d)
		}
	}
}

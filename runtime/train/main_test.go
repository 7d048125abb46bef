package train

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
	"github.com/netc-dev/netc/testdata/golden/vggstyle"
)

func newLenet(seed uint64) nn.Network { return lenetmnist.New(seed) }

func newVGG(seed uint64) nn.Network { return vggstyle.New(seed) }

func TestMainProgram(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		net    func(seed uint64) nn.Network // nil: lenet-mnist
		args   []string
		cancel bool
		status int
		stdout []string // substrings
		stderr []string
		last   string // prefix of the last line of stdout
	}{
		{name: "help", args: []string{"-h"}, status: 0, stderr: []string{"usage: lenet-mnist [flags]", "-epochs", "(default 3)", "-data set"}},
		{name: "unknown flag", args: []string{"--bogus"}, status: 2, stderr: []string{"flag provided but not defined: -bogus"}},
		{name: "bad value", args: []string{"--lr", "fast"}, status: 2, stderr: []string{`invalid value "fast" for flag -lr: lr: "fast" is not a finite number (e.g. lr 0.01)`}},
		{name: "argument", args: []string{"extra"}, status: 2, stderr: []string{`unexpected argument "extra"`}},
		{name: "bad data", args: []string{"--data", "imagenet"}, status: 1, stderr: []string{`unknown data set "imagenet"`}},
		{name: "wrong shape", args: []string{"--data", "cifar10"}, status: 1, stderr: []string{"train: the training images are 3x32x32, network lenet-mnist takes 1x28x28"}},
		{name: "overfit", args: []string{"--overfit", "20"}, status: 0,
			stdout: []string{"data mnist: 60,000 training images, 0 test", "initial loss", "(ln 10 = 2.3026)"}, last: "overfit accuracy 1.0000 on 20 images"},
		{name: "max-iters", args: []string{"--max-iters", "3", "--run", filepath.Join(dir, "run")}, status: 0,
			stdout: []string{"data mnist: 60,000 training images, 10,000 test", "55,000 training images (860 iterations of 64 per epoch), 5,000 validation, 10,000 test"},
			last:   "stopped after 3 iterations (max-iters); resume with --resume " + filepath.Join(dir, "run", CheckpointFile)},
		// vgg-style on 1,300 CIFAR-10 images (21 iterations, cheap under purego) at lr 1.
		{name: "did not learn", net: newVGG, status: ExitNotLearning,
			args: []string{"--lr", "1", "--epochs", "1", "--val", "2700", "--run", filepath.Join(dir, "dead")},
			stdout: []string{"warning: the network is not learning after epoch 1",
				"the learning rate is too high; try --lr 0.1 (now 1)"},
			stderr: []string{"vgg-style: the run did not learn"}, last: "test accuracy 0.1"},
		{name: "interrupted", args: []string{"--run", filepath.Join(dir, "int")}, cancel: true, status: 130,
			last: "interrupted after 0 iterations; resume with --resume", stderr: []string{"lenet-mnist: interrupted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancel {
				cancel()
			}
			defer cancel()
			var stdout, stderr bytes.Buffer
			newNet := tc.net
			if newNet == nil {
				newNet = newLenet
			}
			status := mainRun(ctx, newNet, tc.args, &stdout, &stderr)
			if status != tc.status {
				t.Errorf("status %d, want %d\nstdout:\n%s\nstderr:\n%s", status, tc.status, stdout.String(), stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			if tc.last != "" {
				lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
				if !strings.HasPrefix(lines[len(lines)-1], tc.last) {
					t.Errorf("last line %q, want %q…", lines[len(lines)-1], tc.last)
				}
			}
		})
	}
	// The stopped run resumes from its checkpoint.
	var stdout, stderr bytes.Buffer
	ck := filepath.Join(dir, "run", CheckpointFile)
	if status := mainRun(context.Background(), newLenet, []string{"--resume", ck, "--max-iters", "5"}, &stdout, &stderr); status != 0 {
		t.Fatalf("resume: status %d\n%s\n%s", status, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "resuming from "+ck+" at iteration 3 (epoch 1, 3/860)") {
		t.Errorf("resume output:\n%s", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "iters.csv")); err != nil {
		t.Error(err)
	}
}

func TestDefaultRunDir(t *testing.T) {
	got := DefaultRunDir("cifar-small", time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	if got != filepath.Join("runs", "cifar-small-20250304-050607") {
		t.Errorf("DefaultRunDir = %q", got)
	}
}

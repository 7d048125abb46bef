package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTrainUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if status := run([]string{"train"}, &stdout, &stderr); status != 2 {
		t.Errorf("status %d", status)
	}
	for _, want := range []string{"usage: netc train SPEC [flags]", "-overfit N", "-resume file", "test accuracy"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, stderr.String())
		}
	}
	stderr.Reset()
	if status := run([]string{"train", "../../specs/missing.net"}, &stdout, &stderr); status != 1 || !strings.Contains(stderr.String(), "missing.net") {
		t.Errorf("missing spec: status %d, %s", status, stderr.String())
	}
}

// TestTrainOverfit builds and runs the training program of lenet-mnist for the overfit
// check, with the flags before and after the spec.
func TestTrainOverfit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	var stdout, stderr bytes.Buffer
	status := run([]string{"train", "--overfit", "20", "../../specs/lenet-mnist.net", "--seed", "3"}, &stdout, &stderr)
	if status != 0 {
		t.Fatalf("status %d\n%s\n%s", status, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "overfit accuracy 1.0000 on 20 images") {
		t.Errorf("output:\n%s", stdout.String())
	}
	// A bad flag is the program's usage error.
	stdout.Reset()
	stderr.Reset()
	if status := run([]string{"train", "../../specs/lenet-mnist.net", "--lr", "fast"}, &stdout, &stderr); status == 0 || !strings.Contains(stderr.String(), `invalid value "fast" for flag -lr`) {
		t.Errorf("bad flag: status %d\n%s", status, stderr.String())
	}
}

// TestRunFolder: netc knows the run folder the program writes, to draw its charts after it.
func TestRunFolder(t *testing.T) {
	now := time.Date(2026, 12, 2, 17, 4, 5, 0, time.UTC)
	def := filepath.Join("runs", "lenet-20261202-170405")
	for _, tc := range []struct {
		args, wantArgs []string
		dir            string
	}{
		{nil, []string{"--run", def}, def},
		{[]string{"--epochs", "2"}, []string{"--epochs", "2", "--run", def}, def},
		{[]string{"--run", "r1"}, []string{"--run", "r1"}, "r1"},
		{[]string{"--resume", "r2/checkpoint.safetensors"}, []string{"--resume", "r2/checkpoint.safetensors"}, "r2"},
		{[]string{"--overfit", "20"}, []string{"--overfit", "20"}, ""},
		{[]string{"--lr", "fast"}, []string{"--lr", "fast"}, ""},
		{[]string{"-h"}, []string{"-h"}, ""},
	} {
		dir, args := runFolder("lenet", tc.args, now)
		if dir != tc.dir || !slices.Equal(args, tc.wantArgs) {
			t.Errorf("runFolder(%q) = %q, %q; want %q, %q", tc.args, dir, args, tc.dir, tc.wantArgs)
		}
	}
}

// TestTrainCharts: netc train draws the loss and learning-rate charts of the run when the
// program has stopped (no accuracy chart: no epoch finished).
func TestTrainCharts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	dir := filepath.Join(t.TempDir(), "run")
	status, stdout, stderr := runNetc("train", "lenet-mnist", "--max-iters", "3", "--run", dir)
	if status != 0 {
		t.Fatalf("status %d\n%s\n%s", status, stdout, stderr)
	}
	for name, want := range map[string]bool{"loss.png": true, "lr.png": true, "accuracy.png": false} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s: %v, want it there: %v", name, err, want)
		}
	}
}

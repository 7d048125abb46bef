package main

import (
	"bytes"
	"strings"
	"testing"
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

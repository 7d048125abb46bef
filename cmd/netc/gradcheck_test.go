package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGradcheck runs netc gradcheck on a reference spec by name and on a graph of most
// kinds of layer, through their generated programs: every tensor gets a row and none is
// wrong.
func TestGradcheck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	graph := filepath.Join(t.TempDir(), "graph.net")
	err := os.WriteFile(graph, []byte("input 3x8x8\n"+
		"conv 6 3x3 p1 | a: relu | norm size3 | conv 6 3x3 p1 nobias | bn | add a | leaky\n"+
		"b: pool max 2x2 | conv 4 1x1 | tanh | concat b | dropout 0.2 | pool avg global\n"+
		"full 8 | sigmoid | full 5 | softmax\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		spec    string
		tensors []string
	}{
		{"lenet-mnist", []string{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "full1.weight", "full1.bias", "input"}},
		{graph, []string{"conv1.weight", "conv2.weight", "bn1.weight", "bn1.bias", "conv3.bias", "full2.weight", "input"}},
	} {
		t.Run(filepath.Base(c.spec), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run([]string{"gradcheck", c.spec, "-samples", "6", "-batch", "3"}, &stdout, &stderr)
			out := stdout.String()
			if status != 0 || !strings.Contains(out, "ok: no gradient above 0.01") {
				t.Fatalf("status %d\n%s\n%s", status, out, stderr.String())
			}
			for _, name := range c.tensors {
				if !strings.Contains(out, " "+name+" ") {
					t.Errorf("no row for %s:\n%s", name, out)
				}
			}
			if strings.Contains(out, "WRONG") {
				t.Errorf("a wrong gradient:\n%s", out)
			}
		})
	}
}

// TestGradcheckUsage: usage errors exit with 2, a bad spec with 1.
func TestGradcheckUsage(t *testing.T) {
	for _, c := range []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"gradcheck"}, 2, "usage: netc gradcheck SPEC"},
		{[]string{"gradcheck", "lenet-mnist", "-samples", "0"}, 2, "-batch and -samples must be positive"},
		{[]string{"gradcheck", "lenet-mnist", "-batch", "x"}, 2, `invalid value "x" for flag -batch`},
		{[]string{"gradcheck", "../../specs/missing.net"}, 1, "missing.net"},
	} {
		var stdout, stderr bytes.Buffer
		if status := run(c.args, &stdout, &stderr); status != c.status || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("%v: status %d, stderr %q; want %d and %q", c.args, status, stderr.String(), c.status, c.stderr)
		}
	}
}

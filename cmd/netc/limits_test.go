package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/runtime/weights"
)

// Every command that reads a spec reads it through limits.MaxSpecSize: an endless device
// or a huge file is an error naming the limit, not an exhausted memory.
func TestSpecSizeLimit(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.net")
	src := "input 1x28x28 | full 10 | softmax\n" + strings.Repeat("# padding\n", 120_000)
	if err := os.WriteFile(big, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"check", "/dev/zero"},
		{"check", big},
		{"compile", "-o", t.TempDir(), big},
		{"export", big, "--weights", "w.safetensors"},
	} {
		status, _, errOut := runNetc(args...)
		if status != 1 || !strings.Contains(errOut, "limits.MaxSpecSize") {
			t.Errorf("netc %s: status %d, stderr %q; want 1 and the limit named", strings.Join(args, " "), status, errOut)
		}
	}
}

// Export to a folder and predict with a folder as the spec say so; the same spec source
// under another file name reads the weights recorded for the first name.
func TestExportAndPredictPaths(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../specs/lenet-mnist.net")
	if err != nil {
		t.Fatal(err)
	}
	net, err := compiler.Compile("lenet-mnist.net", src)
	if err != nil {
		t.Fatal(err)
	}
	w := filepath.Join(dir, "w.safetensors")
	meta := weights.Meta{Network: net.Name, SpecHash: net.Hash}
	if err := weights.Write(w, specTensors(net), make([]float32, net.Params+net.Buffers), meta); err != nil {
		t.Fatal(err)
	}
	renamed := filepath.Join(dir, "renamed.net")
	if err := os.WriteFile(renamed, src, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"export", "../../specs/lenet-mnist.net", "--weights", w, "-o", dir}, 1, dir + " is a directory"},
		{[]string{"export", renamed, "--weights", w, "-o", filepath.Join(dir, "out.safetensors")}, 0, ""},
		{[]string{"predict", dir, "--weights", w, "x.png"}, 1, dir + ": not a regular file: it is a directory"},
		{[]string{"check", dir}, 1, "it is a directory"},
	} {
		status, _, errOut := runNetc(tc.args...)
		if status != tc.status || !strings.Contains(errOut, tc.want) {
			t.Errorf("netc %s: status %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), status, errOut, tc.status, tc.want)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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

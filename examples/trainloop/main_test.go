package main

import (
	"os"
	"strings"
	"testing"
)

// TestRun trains on 5,000 images for one epoch: the network must have learned.
func TestRun(t *testing.T) {
	acc, err := run(5000, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test accuracy %.4f", acc)
	if acc < 0.85 {
		t.Errorf("test accuracy %.4f after one epoch on 5,000 images", acc)
	}
}

// TestREADME fails when the README's copy of this program differs from main.go.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	const open = "```go\n// Command trainloop "
	_, block, ok := strings.Cut(string(readme), open)
	if !ok {
		t.Fatalf("README.md has no go block starting %q", open[6:])
	}
	block, _, ok = strings.Cut(block, "\n```\n")
	if !ok {
		t.Fatal("the README's block of main.go does not end")
	}
	if got := open[6:] + block + "\n"; got != string(src) {
		t.Errorf("the README's copy of examples/trainloop/main.go differs from it; copy the file into the README")
	}
}

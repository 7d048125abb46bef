package netc

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSourceHoldsTheProgram: every file that the packages of a netc-built program
// (runtime/cli and what it imports from this module) are made of is in Source, the same,
// so that an installed netc can build programs outside this repository.
func TestSourceHoldsTheProgram(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}} {{.Dir}}{{end}}",
		"./runtime/cli").Output()
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	packages := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, dir, _ := strings.Cut(line, " ")
		if !strings.HasPrefix(path, "github.com/netc-dev/netc/") {
			continue
		}
		packages++
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			source := strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") ||
				strings.HasSuffix(name, ".s")
			if e.IsDir() || !source {
				continue
			}
			rel, err := filepath.Rel(root, filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := fs.ReadFile(Source, filepath.ToSlash(rel)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("Source lacks %s (%v)", rel, err)
			}
		}
	}
	if packages < 5 {
		t.Errorf("only %d packages of this module in the program:\n%s", packages, out)
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		if _, err := fs.ReadFile(Source, name); err != nil {
			t.Error(err)
		}
	}
}

// TestSpecs: every reference spec is in Specs.
func TestSpecs(t *testing.T) {
	files, err := filepath.Glob("specs/*.net")
	if err != nil || len(files) == 0 {
		t.Fatalf("%v %v", files, err)
	}
	for _, f := range files {
		if _, err := fs.ReadFile(Specs, f); err != nil {
			t.Error(err)
		}
	}
}

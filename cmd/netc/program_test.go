package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain points netc's cache at a folder of the test run, so that the programs the
// tests build go neither to the user's cache nor stay after them.
func TestMain(m *testing.M) {
	cache, err := os.MkdirTemp("", "netc-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("NETC_CACHE", cache)
	status := m.Run()
	os.RemoveAll(cache)
	os.Exit(status)
}

func TestSafeName(t *testing.T) {
	for name, want := range map[string]string{
		"lenet-mnist":           "lenet-mnist",
		"my net":                "my_net",
		"réseau":                "r_seau",
		"net@2":                 "net_2",
		"-lead":                 "lead",
		".hidden":               "hidden",
		"日本":                    "__",
		"":                      "spec",
		"---":                   "spec",
		"a/b\\c":                "a_b_c",
		strings.Repeat("x", 80): strings.Repeat("x", 64),
	} {
		if got := safeName(name); got != want {
			t.Errorf("safeName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestSpecFileNames builds and runs the program of specs whose file names are no Go
// import path (before, Go said "malformed import path"): a space, a non-ASCII letter, '@'
// and a leading '-'.
func TestSpecFileNames(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	src, err := os.ReadFile("../../specs/lenet-mnist.net")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"my net.net", "réseau.net", "net@2.net", "-lead.net"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, src, 0o644); err != nil {
				t.Fatal(err)
			}
			status, stdout, stderr := runNetc("bench", path, "-duration", "1ms")
			if status != 0 || !strings.Contains(stdout, "img/s") {
				t.Errorf("status %d\n%s\n%s", status, stdout, stderr)
			}
		})
	}
}

// TestProgramCache: a spec's program is built once; a run with the same spec and netc
// reuses it, and a changed spec builds its own.
func TestProgramCache(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	spec := filepath.Join(t.TempDir(), "tiny.net")
	bench := func(src string) (built bool) {
		t.Helper()
		if err := os.WriteFile(spec, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		status, stdout, stderr := runNetc("bench", spec, "-duration", "1ms")
		if status != 0 || !strings.Contains(stdout, "img/s") {
			t.Fatalf("status %d\n%s\n%s", status, stdout, stderr)
		}
		return strings.Contains(stderr, "netc: building the program of")
	}
	const src = "input 1x8x8\nconv 2 3x3 | relu\nfull 3 | softmax\n"
	bench(src) // built unless an earlier run of this test left it in the cache
	if bench(src) {
		t.Error("the same spec built its program again")
	}
	if !bench(src + "# changed\n") {
		t.Error("a changed spec did not build its program")
	}
}

// TestProgramGoMod: the program's go.mod is netc's with the module renamed, requiring
// netc's module from the folder given, quoted (a cache folder may hold spaces).
func TestProgramGoMod(t *testing.T) {
	netcMod := "module github.com/netc-dev/netc\n\ngo 1.26.0\n\nrequire x.org/y v1.0.0\n"
	mod, err := programGoMod([]byte(netcMod), "/c/my cache")
	if err != nil {
		t.Fatal(err)
	}
	want := "module netcprogram\n\ngo 1.26.0\n\nrequire x.org/y v1.0.0\n\n" +
		"require github.com/netc-dev/netc v0.0.0\n\nreplace github.com/netc-dev/netc => \"/c/my cache\"\n"
	if string(mod) != want {
		t.Errorf("go.mod:\n%s\nwant:\n%s", mod, want)
	}
	if _, err := programGoMod([]byte("go 1.26.0\n"), "/c"); err == nil {
		t.Error("a go.mod without a module line was accepted")
	}
}

// TestReferenceSpecs: the reference specs are reachable by name or by their path in
// the repository, from a folder that does not hold them; a file of that name wins.
func TestReferenceSpecs(t *testing.T) {
	for _, arg := range []string{"lenet-mnist", "lenet-mnist.net", "specs/lenet-mnist.net", "cifar-small"} {
		status, stdout, stderr := runNetc("check", arg)
		if status != 0 || !strings.Contains(stdout, "mult-adds") {
			t.Errorf("netc check %s: status %d\n%s\n%s", arg, status, stdout, stderr)
		}
	}
	status, _, stderr := runNetc("check", "no-such-net")
	if status != 1 || !strings.Contains(stderr, "no-such-net") {
		t.Errorf("unknown name: status %d, %s", status, stderr)
	}
	// A file named like a reference spec is the file.
	dir := t.TempDir()
	local := filepath.Join(dir, "lenet-mnist.net")
	if err := os.WriteFile(local, []byte("input 1x4x4\nfull 2 | softmax\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, stdout, _ := runNetc("check", local); status != 0 || !strings.Contains(stdout, "1x4x4") {
		t.Errorf("local file: status %d\n%s", status, stdout)
	}
}

func TestVersion(t *testing.T) {
	status, stdout, _ := runNetc("version")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if status != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "netc ") ||
		!strings.HasPrefix(lines[1], "runtime SupportPackageIsVersion1, source sha256 ") {
		t.Errorf("status %d\n%s", status, stdout)
	}
	if status, _, _ := runNetc("version", "extra"); status != 2 {
		t.Errorf("netc version extra: status %d", status)
	}
}

// TestCompilePackageNames: a bad -pkg is refused before anything is generated, with what
// would work; spec names that are keywords or main give a package that builds.
func TestCompilePackageNames(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "s.net")
	if err := os.WriteFile(spec, []byte("input 1x4x4\nfull 2 | softmax\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for pkg, want := range map[string]string{
		"1abc": `try "net1abc"`,
		"func": `func is a Go keyword; try "netfunc"`,
		"a-b":  `try "ab"`,
		"_":    `Go ignores a file of package _`,
		"main": `a package main needs a func main`,
	} {
		out := t.TempDir()
		status, _, stderr := runNetc("compile", "-o", out, "-pkg", pkg, spec)
		if status != 2 || !strings.Contains(stderr, `netc: invalid package name "`+pkg+`"`) ||
			!strings.Contains(stderr, want) || strings.Count(stderr, "\n") > 1 {
			t.Errorf("-pkg %s: status %d\n%s", pkg, status, stderr)
		}
		if entries, _ := os.ReadDir(out); len(entries) > 0 {
			t.Errorf("-pkg %s wrote %s", pkg, entries[0].Name())
		}
	}
	for name, pkg := range map[string]string{"func": "netfunc", "go": "netgo", "main": "netmain"} {
		dir := t.TempDir()
		spec := filepath.Join(dir, name+".net")
		if err := os.WriteFile(spec, []byte("input 1x4x4\nfull 2 | softmax\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		status, _, stderr := runNetc("compile", "-o", dir, spec)
		src, err := os.ReadFile(filepath.Join(dir, pkg+"_netc.go"))
		if status != 0 || err != nil || !bytes.Contains(src, []byte("\npackage "+pkg+"\n")) {
			t.Errorf("%s.net: status %d, %v\n%s", name, status, err, stderr)
		}
	}
}

// TestSpecIndex finds the spec among flags whose values may be any word.
func TestSpecIndex(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"a.net", "--epochs", "1"}, 0},
		{[]string{"--epochs", "1", "a.net"}, 2},
		{[]string{"--weights", "w.safetensors", "lenet-mnist", "img.png"}, 2},
		{[]string{"--data", "mnist", "lenet-mnist"}, 2},
		{[]string{"myspec", "--epochs", "1"}, 0},
		{[]string{"--epochs", "1", "myspec"}, -1},
		{[]string{"--weights", "w.safetensors", "img.png"}, -1},
		{nil, -1},
	} {
		if got := specIndex(tc.args); got != tc.want {
			t.Errorf("specIndex(%q) = %d, want %d", tc.args, got, tc.want)
		}
	}
}

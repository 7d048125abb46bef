package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// offlineEnv returns the environment of a go command run as a user with no network and
// this module's dependencies in the module cache: home is HOME (and so where netc
// caches), GOCACHE and GOMODCACHE are this process's (the build cache only memoizes, and
// sharing it saves rebuilding everything), GOPROXY=off, and GOSUMDB=off, as sums of
// modules already in the module cache were checked when they were downloaded.
func offlineEnv(t *testing.T, home string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "XDG_CACHE_HOME", "NETC_CACHE", "GOFLAGS", "GOPROXY", "GOSUMDB", "GOWORK", "GOBIN":
			continue
		}
		env = append(env, kv)
	}
	for _, v := range []string{"GOCACHE", "GOMODCACHE"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, v+"="+strings.TrimSpace(string(out)))
	}
	return append(env, "HOME="+home, "GOPROXY=off", "GOSUMDB=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
}

// runIn runs name with args in dir with env, and returns its output; a failure ends the
// test.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// repoRoot returns the root of netc's checkout.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestInstalledNetc installs netc and uses it from an empty folder outside this
// repository, offline, with a HOME of its own: it trains a reference spec found by name
// (the overfit check), and benchmarks it with the program it built, which it does not
// build again.
func TestInstalledNetc(t *testing.T) {
	if testing.Short() {
		t.Skip("installs netc and builds a program")
	}
	tmp := t.TempDir()
	home, bin, work := filepath.Join(tmp, "home"), filepath.Join(tmp, "bin"), filepath.Join(tmp, "work")
	for _, d := range []string{home, bin, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := offlineEnv(t, home)
	runIn(t, repoRoot(t), append(env, "GOBIN="+bin), "go", "install", "./cmd/netc")
	netc := filepath.Join(bin, "netc")

	if out := runIn(t, work, env, netc, "version"); !strings.Contains(out, "runtime SupportPackageIsVersion1") {
		t.Errorf("netc version:\n%s", out)
	}
	out := runIn(t, work, env, netc, "train", "lenet-mnist", "--overfit", "20", "--seed", "3")
	if !strings.Contains(out, "overfit accuracy 1.0000 on 20 images") {
		t.Errorf("netc train:\n%s", out)
	}
	mods, err := filepath.Glob(filepath.Join(home, ".cache", "netc", "*", "module", "go.mod"))
	if err != nil || len(mods) != 1 {
		t.Errorf("netc's module in the user cache: %v, %v", mods, err)
	}
	out = runIn(t, work, env, netc, "bench", "lenet-mnist", "-duration", "1ms")
	if !strings.Contains(out, "img/s") || strings.Contains(out, "netc: building") {
		t.Errorf("netc bench:\n%s", out)
	}
	if entries, err := os.ReadDir(work); err != nil || len(entries) > 0 {
		t.Errorf("netc left files in the working folder: %v, %v", entries, err)
	}
}

// TestDownstreamModule follows the README's route for a module that uses a local
// checkout of netc, offline: go mod edit (require, replace, tool), go mod tidy, go
// generate running "go tool netc compile", go build, and a run whose loss falls.
func TestDownstreamModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	dir := t.TempDir()
	env := offlineEnv(t, t.TempDir())
	if err := os.CopyFS(dir, os.DirFS("testdata/downstream")); err != nil {
		t.Fatal(err)
	}
	runIn(t, dir, env, "go", "mod", "init", "example.com/down")
	runIn(t, dir, env, "go", "mod", "edit", "-require", "github.com/netc-dev/netc@v0.0.0",
		"-replace", "github.com/netc-dev/netc="+repoRoot(t), "-tool", "github.com/netc-dev/netc/cmd/netc")
	runIn(t, dir, env, "go", "mod", "tidy")
	runIn(t, dir, env, "go", "generate", "./...")
	if _, err := os.Stat(filepath.Join(dir, "tiny", "tiny_netc.go")); err != nil {
		t.Fatal(err)
	}
	runIn(t, dir, env, "go", "build", "-o", "down", ".")
	out := strings.Fields(runIn(t, dir, env, filepath.Join(dir, "down")))
	if len(out) != 2 {
		t.Fatalf("output %q", out)
	}
	first, err1 := strconv.ParseFloat(out[0], 64)
	last, err2 := strconv.ParseFloat(out[1], 64)
	if err1 != nil || err2 != nil || !(last < first/2) {
		t.Errorf("loss %s → %s: it did not fall by half", out[0], out[1])
	}
	t.Logf("loss %s → %s", out[0], out[1])
}

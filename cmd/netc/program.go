package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/netc-dev/netc"
	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/gen"
)

// programMain is the main.go of every program netc builds: it hands the generated New to
// package cli, which dispatches the subcommands.
//
//go:embed _program/main.go
var programMain []byte

const (
	// programModule is the module path of the programs netc builds; nothing imports them.
	programModule = "netcprogram"
	// netcModule is netc's own module path, which a program's go.mod replaces with the
	// source netc carries.
	netcModule = "github.com/netc-dev/netc"
	// programBinary is the name of the built program in its folder.
	programBinary = "program"
)

// runProgram builds the program of net unless it is already built, and runs it with
// the subcommand and args; it returns the program's exit status.
func runProgram(net *compiler.Net, subcommand string, args []string, stdout, stderr io.Writer) int {
	bin, err := buildProgram(net, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return 1
	}
	// Ctrl-C reaches the program too (the terminal signals the whole process group): it
	// stops cleanly (train writes a checkpoint) and netc waits for it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	cmd := exec.Command(bin, append([]string{subcommand}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return 1
	}
	return 0
}

// buildProgram returns the path of net's program, building it first unless the program
// built last in its folder came from the same files: the folder is named by the spec's
// name and hash, under the folder of netc's runtime source version (versionDir), so one
// spec with one netc builds once.
func buildProgram(net *compiler.Net, stderr io.Writer) (string, error) {
	version, err := versionDir()
	if err != nil {
		return "", err
	}
	modDir, err := writeModule(version)
	if err != nil {
		return "", err
	}
	files, err := programFiles(net, modDir)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(version, "programs", safeName(net.Name)+"-"+net.Hash[:12])
	bin := filepath.Join(dir, programBinary)
	if !stale(dir, bin, files) {
		return bin, nil
	}
	// The old binary goes first, so that a crash below leaves no binary that looks
	// current beside the new files.
	if err := os.Remove(bin); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(stderr, "netc: building the program of %s in %s\n", net.Path, dir)
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	build := exec.Command("go", "build", "-trimpath", "-mod=readonly", "-o", tmp, ".")
	build.Dir, build.Stdout, build.Stderr = dir, stderr, stderr
	// The program is a module of its own: a go.work around the current folder must not
	// take it in.
	build.Env = append(os.Environ(), "GOWORK=off")
	if err := build.Run(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("building %s: %v", dir, err)
	}
	return bin, os.Rename(tmp, bin)
}

// stale reports whether the program in dir must be built: its binary is missing, or a
// file differs from what files holds.
func stale(dir, bin string, files map[string][]byte) bool {
	if _, err := os.Stat(bin); err != nil {
		return true
	}
	for name, src := range files {
		if old, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(old, src) {
			return true
		}
	}
	return false
}

// programFiles returns the files of net's program by name: the generated network as
// package main, the fixed main.go, and a go.mod (with netc's go.sum) that requires netc's
// module from modDir.
func programFiles(net *compiler.Net, modDir string) (map[string][]byte, error) {
	code, err := gen.Generate(net, gen.Options{Package: "main"})
	if err != nil {
		return nil, err
	}
	netcMod, err := fs.ReadFile(netc.Source, "go.mod")
	if err != nil {
		return nil, err
	}
	sum, err := fs.ReadFile(netc.Source, "go.sum")
	if err != nil {
		return nil, err
	}
	mod, err := programGoMod(netcMod, modDir)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{gen.FileName("net"): code, "main.go": programMain, "go.mod": mod, "go.sum": sum}, nil
}

// programGoMod returns the go.mod of a program: netc's own, whose requirements are
// exactly what the program needs, renamed, requiring netc's module and replacing it with
// modDir.
func programGoMod(netcMod []byte, modDir string) ([]byte, error) {
	lines := strings.Split(string(netcMod), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "module ") {
			lines[i] = "module " + programModule
			mod := strings.Join(lines, "\n")
			return fmt.Appendf(nil, "%s\nrequire %s v0.0.0\n\nreplace %s => %s\n",
				mod, netcModule, netcModule, strconv.Quote(modDir)), nil
		}
	}
	return nil, errors.New("netc's go.mod has no module line")
}

// writeModule writes the netc module netc carries (netc.Source without its tests) into
// version/module unless it is there, and returns that folder. The files go to a
// temporary folder that is renamed into place, so a module folder is always whole.
func writeModule(version string) (string, error) {
	dir := filepath.Join(version, "module")
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(version, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(version, ".module-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // nothing left after a successful rename
	files, err := sourceFiles()
	if err != nil {
		return "", err
	}
	for _, name := range files {
		src, err := fs.ReadFile(netc.Source, name)
		if err != nil {
			return "", err
		}
		path := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(path, src, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return dir, nil // another netc wrote it meanwhile
		}
		return "", err
	}
	return dir, nil
}

// sourceFiles lists the files of the module netc writes out: netc.Source but its tests.
func sourceFiles() ([]string, error) {
	var files []string
	err := fs.WalkDir(netc.Source, ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(name, "_test.go") {
			files = append(files, name)
		}
		return err
	})
	return files, err
}

// sourceHash is the hex SHA-256 of the module netc carries, its file names and contents:
// the version of the runtime programs are built against.
var sourceHash = sync.OnceValues(func() (string, error) {
	files, err := sourceFiles()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, name := range files {
		src, err := fs.ReadFile(netc.Source, name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(src))
		h.Write(src)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
})

// versionDir returns the cache folder of this netc's runtime source:
// <cache>/<netc version>-<source hash>, the cache being $NETC_CACHE or netc/ in the
// user's cache folder.
func versionDir() (string, error) {
	cache := os.Getenv("NETC_CACHE")
	if cache == "" {
		user, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("finding a cache folder (or set NETC_CACHE): %w", err)
		}
		cache = filepath.Join(user, "netc")
	}
	cache, err := filepath.Abs(cache)
	if err != nil {
		return "", err
	}
	hash, err := sourceHash()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, safeName(netcVersion())+"-"+hash[:12]), nil
}

// netcVersion returns the version of netc's module this binary was built from: a
// release or pseudo-version when it was built from a module or a VCS checkout, else
// "devel".
func netcVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}

// safeName turns s (a spec's file name, say) into a file name any file system and Go
// take: ASCII letters, digits, '.', '-' and '_', every other character becoming '_',
// starting with neither '-' nor '.', at most 64 bytes, and never empty.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '-' || r == '_'):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), "-.")
	if len(name) > 64 {
		name = name[:64]
	}
	if name == "" {
		name = "spec"
	}
	return name
}

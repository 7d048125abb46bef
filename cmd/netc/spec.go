package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/netc-dev/netc"
	"github.com/netc-dev/netc/compiler"
)

// loadSpec loads the spec that arg names: a file, or when no such file exists, one of
// the reference specs netc carries, by name ("lenet-mnist") or path
// ("specs/lenet-mnist.net"), so that they work from any folder.
func loadSpec(arg string, stderr io.Writer) (*compiler.Net, bool) {
	if _, err := os.Stat(arg); errors.Is(err, fs.ErrNotExist) {
		if name, src, ok := referenceSpec(arg); ok {
			return compileSource(name, src, stderr)
		}
	}
	return load(arg, stderr)
}

// referenceSpec returns the path in netc.Specs and the source of the reference spec
// that arg names, if there is one.
func referenceSpec(arg string) (string, []byte, bool) {
	name := strings.TrimSuffix(strings.TrimPrefix(arg, "specs/"), ".net")
	if name == "" || strings.ContainsAny(name, `/\`) {
		return "", nil, false
	}
	p := path.Join("specs", name+".net")
	src, err := fs.ReadFile(netc.Specs, p)
	return p, src, err == nil
}

// referenceSpecs returns the names of the reference specs netc carries.
func referenceSpecs() []string {
	files, _ := fs.Glob(netc.Specs, "specs/*.net") // the pattern is valid
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(path.Base(f), ".net")
	}
	return names
}

// specIndex returns the index in args of the spec argument of train, predict and the
// like, whose flags may come before it: the first argument naming a .net file, else the
// first naming a reference spec, else the first argument if it is no flag; -1 if none.
// Only these are sure not to be the value of a flag.
func specIndex(args []string) int {
	for i, a := range args {
		if strings.HasSuffix(a, ".net") {
			return i
		}
	}
	for i, a := range args {
		if _, _, ok := referenceSpec(a); ok {
			return i
		}
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return 0
	}
	return -1
}

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/netc-dev/netc/gen"
	"github.com/netc-dev/netc/internal/flagargs"
)

func init() {
	register(command{"compile", "generate a Go package from a spec", runCompile})
}

func runCompile(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output `directory` (default: ./NAME, NAME the package name)")
	pkg := fs.String("pkg", "", "package `name` (default: the spec's file name, letters and digits only, with \"net\" "+
		"before a leading digit, a keyword or main)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: netc compile [-o DIR] [-pkg NAME] FILE")
		fs.PrintDefaults()
	}
	files, err := flagargs.Parse(fs, args)
	if err != nil {
		return 2
	}
	if len(files) != 1 {
		fs.Usage()
		return 2
	}
	if *pkg != "" {
		if err := gen.CheckPackageName(*pkg); err != nil {
			fmt.Fprintf(stderr, "netc: %v\n", err)
			return 2
		}
	}
	net, ok := loadSpec(files[0], stderr)
	if !ok {
		return 1
	}
	name := *pkg
	if name == "" {
		name = gen.PackageName(net.Name)
	}
	src, err := gen.Generate(net, gen.Options{Package: name})
	if err != nil {
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return 1
	}
	dir := *out
	if dir == "" {
		dir = name
	}
	file := filepath.Join(dir, gen.FileName(name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return 1
	}
	if err := os.WriteFile(file, src, 0o644); err != nil {
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return 1
	}
	return 0
}

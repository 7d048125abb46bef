package data

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cifarRecords returns n CIFAR-10 records with the given first label (then +1 mod 10); byte
// k of the image of record i is (i*7 + k) mod 256 plus base.
func cifarRecords(n int, label, base byte) []byte {
	b := make([]byte, n*cifarRecordSize)
	for i := range n {
		rec := b[i*cifarRecordSize : (i+1)*cifarRecordSize]
		rec[0] = (label + byte(i)) % 10
		for k := range rec[1:] {
			rec[1+k] = byte(i*7+k) + base
		}
	}
	return b
}

func TestReadCIFAR10Written(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sub   string   // folder holding the batches, below the one passed
		meta  string   // batches.meta.txt, "" for none
		names []string // expected class names
	}{
		{"standard names", "", "", CIFAR10ClassNames},
		{"meta file", "", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n", strings.Fields("a b c d e f g h i j")},
		{"cifar-10-batches-bin below", "cifar-10-batches-bin", "", CIFAR10ClassNames},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			dir := filepath.Join(top, tc.sub)
			os.MkdirAll(dir, 0o755)
			writeFile(t, dir, "data_batch_1.bin", cifarRecords(3, 4, 0))
			writeFile(t, dir, "data_batch_2.bin", cifarRecords(2, 9, 100))
			writeFile(t, dir, "test_batch.bin", cifarRecords(1, 2, 50))
			if tc.meta != "" {
				writeFile(t, dir, "batches.meta.txt", []byte(tc.meta))
			}
			train, test, err := ReadCIFAR10(top)
			if err != nil {
				t.Fatal(err)
			}
			if train.Len() != 5 || test.Len() != 1 {
				t.Fatalf("got %d train, %d test images; want 5, 1", train.Len(), test.Len())
			}
			if want := []int32{4, 5, 6, 9, 0}; !slices.Equal(train.Labels, want) {
				t.Fatalf("train labels %v, want %v", train.Labels, want)
			}
			if !slices.Equal(train.ClassNames, tc.names) || train.Classes != 10 {
				t.Fatalf("classes %d %v, want %v", train.Classes, train.ClassNames, tc.names)
			}
			for _, d := range []*Dataset{train, test} {
				if err := d.Validate(); err != nil || d.C != 3 || d.H != 32 || d.W != 32 {
					t.Fatalf("shape %dx%dx%d, %v", d.C, d.H, d.W, err)
				}
			}
			// Image 3 is record 0 of batch 2: byte k is k+100; C,H,W order is the file's.
			img := train.Image(3)
			for _, k := range []int{0, 1, 31, 32, 1023, 1024, 2047, 2048, 3071} {
				if want := float32(byte(k)+100) / 255; img[k] != want {
					t.Fatalf("image 3 value %d = %v, want %v", k, img[k], want)
				}
			}
		})
	}
}

func TestReadCIFAR10Malformed(t *testing.T) {
	long := cifarRecords(2, 0, 0)
	badLabel := cifarRecords(2, 0, 0)
	badLabel[cifarRecordSize] = 10
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		file  string // named by the error
		want  string
	}{
		{"truncated record", map[string][]byte{"data_batch_1.bin": long[:len(long)-5], "test_batch.bin": long},
			"data_batch_1.bin", "truncated"},
		{"label outside classes", map[string][]byte{"data_batch_1.bin": long, "test_batch.bin": badLabel},
			"test_batch.bin", "record 2 has label 10"},
		{"meta with fewer classes", map[string][]byte{"data_batch_1.bin": long, "test_batch.bin": long,
			"batches.meta.txt": []byte("cat\n")}, "data_batch_1.bin", "label 1, but there are 1 classes"},
		{"empty batch", map[string][]byte{"data_batch_1.bin": {}, "test_batch.bin": long},
			"data_batch_1.bin", "empty"},
		{"no test batch", map[string][]byte{"data_batch_1.bin": long}, "test_batch.bin", "not found"},
		{"no training batch", map[string][]byte{"test_batch.bin": long}, "data_batch_1.bin", "no training batch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tc.files {
				writeFile(t, dir, name, b)
			}
			_, _, err := ReadCIFAR10(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file) {
				t.Fatalf("error %v, want one saying %q about %s", err, tc.want, tc.file)
			}
		})
	}
}

func TestCIFAR10Shared(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "cifar10")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("CIFAR-10 subset not at %s (the project keeps it in ../shared/data/cifar10): %v", dir, err)
	}
	train, test, err := Load(CIFAR10, "") // default location: found from the working directory
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 4000 || test.Len() != 1000 {
		t.Fatalf("got %d train, %d test images; want 4000, 1000", train.Len(), test.Len())
	}
	if want := []int32{3, 8, 8, 0, 6, 6, 1, 6, 3, 1}; !slices.Equal(test.Labels[:10], want) {
		t.Fatalf("first test labels %v, want %v", test.Labels[:10], want)
	}
	if test.ClassNames[test.Labels[0]] != "cat" {
		t.Fatalf("class names %v", test.ClassNames)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "test_batch.bin"))
	if err != nil {
		t.Fatal(err)
	}
	img := test.Image(1)
	for _, k := range []int{0, 1, 1024, 2048, 3071} {
		if want := float32(raw[cifarRecordSize+1+k]) / 255; img[k] != want {
			t.Fatalf("test image 1 value %d = %v, want %v", k, img[k], want)
		}
	}
	// An explicit path gives the same.
	train2, _, err := Load(CIFAR10, dir)
	if err != nil || !slices.Equal(train2.Labels, train.Labels) || !slices.Equal(train2.X, train.X) {
		t.Fatalf("explicit path: %v", err)
	}
}

func TestLoadCIFAR10NotFound(t *testing.T) {
	t.Chdir(t.TempDir())
	_, _, err := Load(CIFAR10, "")
	if moduleRoot() != "" {
		t.Skip("temporary folder is inside a module")
	}
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), CIFAR10Dir[3:]) {
		t.Fatalf("error %v, want ErrNotFound naming where it looked", err)
	}
}

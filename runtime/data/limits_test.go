//go:build unix

package data

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netc-dev/netc/internal/limits"
)

// A data file that is a named pipe or a device is refused at once: a pipe used to hang the
// reader, and /dev/zero to fill the memory.
func TestDataFilesMustBeRegular(t *testing.T) {
	for _, tc := range []struct {
		name   string
		read   func(dir string) error
		file   string
		device bool // a link to /dev/zero instead of a named pipe
	}{
		{"IDX", func(dir string) error { _, _, err := ReadIDX(dir); return err }, IDXTrainImages, false},
		{"CIFAR-10 batch", func(dir string) error { _, _, err := ReadCIFAR10(dir); return err }, "data_batch_1.bin", false},
		{"CIFAR-10 batch device", func(dir string) error { _, _, err := ReadCIFAR10(dir); return err }, "test_batch.bin", true},
		{"CIFAR-10 names", func(dir string) error { _, _, err := ReadCIFAR10(dir); return err }, "batches.meta.txt", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ti, tl, si, sl := smallIDX()
			for name, b := range map[string][]byte{IDXTrainImages: ti, IDXTrainLabels: tl, IDXTestImages: si, IDXTestLabels: sl,
				"data_batch_1.bin": cifarRecords(2, 0, 0), "test_batch.bin": cifarRecords(1, 0, 0)} {
				writeFile(t, dir, name, b)
			}
			p := filepath.Join(dir, tc.file)
			os.Remove(p)
			want := "it is a named pipe"
			if tc.device {
				want = "it is a character device"
				if err := os.Symlink("/dev/zero", p); err != nil {
					t.Fatal(err)
				}
			} else if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- tc.read(dir) }()
			select {
			case err := <-done:
				if !errors.Is(err, limits.ErrNotRegular) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
					t.Errorf("error %v, want %q about %s", err, want, p)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the reader hangs")
			}
		})
	}
}

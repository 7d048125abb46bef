//go:build unix

package safetensors

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

func TestFiniteFloat32(t *testing.T) {
	f, err := Read(nonFiniteFile(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{"w", `tensor "w": not finite: value 1 of 3 is NaN`},
		{"h", `tensor "h": not finite: value 0 of 1 is +Inf`},
	} {
		if _, err := f.Float32(tc.name, nil); err != nil {
			t.Errorf("Float32(%q) = %v; it reads any value", tc.name, err)
		}
		_, err := f.FiniteFloat32(tc.name, nil)
		if !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FiniteFloat32(%q) = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// ReadFile refuses a directory and a named pipe at once (a pipe used to hang it forever).
func TestReadFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "w.safetensors")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{dir: "a directory", fifo: "a named pipe"} {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(path); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, limits.ErrNotRegular) || !strings.Contains(err.Error(), want) {
				t.Errorf("ReadFile(%s) = %v, want %q", path, err, want)
			}
		case <-time.After(5 * time.Second):
			os.WriteFile(fifo, nil, 0) // unblock the reader
			t.Fatalf("ReadFile(%s) blocks", path)
		}
	}
}

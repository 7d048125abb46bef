//go:build unix

package limits

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpenFileRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string // want "" for a file that opens
	}{
		{file, ""},
		{link, ""},
		{dir, "a directory"},
		{fifo, "a named pipe"},
		{os.DevNull, "a character device"},
	} {
		done := make(chan error, 1)
		go func() {
			f, err := OpenFile(tc.path)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("OpenFile(%s) = %v, want the file", tc.path, err)
			case tc.want != "" && (!errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("OpenFile(%s) = %v, want ErrNotRegular saying %q", tc.path, err, tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("OpenFile(%s) blocks", tc.path)
		}
	}
}

func TestReadLimits(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(file, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(file, 10, "test"); err != nil || string(b) != "0123456789" {
		t.Errorf("ReadFile at the limit = %q, %v", b, err)
	}
	_, err := ReadFile(file, 9, "limits.Test")
	var se *SizeError
	if !errors.As(err, &se) || !errors.Is(err, ErrTooLarge) || se.Size != 10 || se.Limit != 9 ||
		!strings.Contains(err.Error(), "limits.Test") {
		t.Errorf("ReadFile over the limit = %v, want a *SizeError 10 > 9 naming limits.Test", err)
	}
	// A device that never ends stops at the limit.
	_, err = ReadStream("/dev/zero", 1<<16, "test")
	if !errors.As(err, &se) || se.Size != 1<<16+1 || !se.AtLeast {
		t.Errorf("ReadStream(/dev/zero) = %v, want a *SizeError of at least %d bytes", err, 1<<16+1)
	}
	if b, err := ReadStream(file, 100, "test"); err != nil || len(b) != 10 {
		t.Errorf("ReadStream(file) = %q, %v", b, err)
	}
	if _, err := ReadStream(dir, 100, "test"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadStream(dir) = %v, want ErrNotRegular", err)
	}
}

func TestProductAndMemory(t *testing.T) {
	for _, tc := range []struct {
		xs   []int
		want uint64
	}{
		{[]int{3, 4, 5}, 60},
		{[]int{1 << 40, 1 << 40}, math.MaxUint64},
		{[]int{7, -1}, 0},
		{nil, 1},
	} {
		if got := Product(tc.xs...); got != tc.want {
			t.Errorf("Product(%v) = %d, want %d", tc.xs, got, tc.want)
		}
	}
	if Memory() == 0 {
		t.Skip("the system does not say how much memory it has")
	}
	if err := CheckMemory("small", 1<<20); err != nil {
		t.Errorf("CheckMemory(1 MiB) = %v", err)
	}
	if err := CheckMemory("huge", math.MaxUint64); !errors.Is(err, ErrTooLarge) {
		t.Errorf("CheckMemory(MaxUint64) = %v, want ErrTooLarge", err)
	}
}

func TestCheckThreads(t *testing.T) {
	for n, ok := range map[int]bool{0: true, 1: true, MaxThreads: true, MaxThreads + 1: false, -1: false, 100000: false} {
		if err := CheckThreads(n); (err == nil) != ok {
			t.Errorf("CheckThreads(%d) = %v", n, err)
		}
	}
}

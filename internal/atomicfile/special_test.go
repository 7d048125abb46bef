//go:build unix

package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// A symbolic link is followed: its target gets the new content and the link stays a
// link, also when the target does not exist yet.
func TestWriteFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.bin")
	os.WriteFile(target, []byte("old"), 0o644)
	for _, tc := range []struct{ link, to, target string }{
		{"link", "target.bin", target},
		{"chain", "link", target},
		{"dangling", "new.bin", filepath.Join(dir, "new.bin")},
	} {
		link := filepath.Join(dir, tc.link)
		if err := os.Symlink(tc.to, link); err != nil {
			t.Fatal(err)
		}
		if err := Write(link, writeString("new "+tc.link)); err != nil {
			t.Fatalf("%s: %v", tc.link, err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a link (%v)", tc.link, err)
		}
		if b, _ := os.ReadFile(tc.target); string(b) != "new "+tc.link {
			t.Errorf("%s: target holds %q", tc.link, b)
		}
	}
}

// A directory is refused with a message that says so, and is left alone.
func TestWriteRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	err := Write(dir, writeString("x"))
	if err == nil || !strings.Contains(err.Error(), dir+" is a directory") {
		t.Fatalf("Write(dir) = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the directory holds %d entries, want none", len(entries))
	}
}

// Devices and pipes are written through, never replaced by a regular file.
func TestWriteThroughDevicesAndPipes(t *testing.T) {
	if err := Write(os.DevNull, writeString("discarded")); err != nil {
		t.Errorf("Write(%s) = %v", os.DevNull, err)
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a device: %v %v", os.DevNull, fi.Mode(), err)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- string(b)
	}()
	if err := Write(fifo, writeString("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("the reader got %q", s)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v %v", fi.Mode(), err)
	}
}

func TestCleanTemps(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".best.safetensors.tmp123", ".iters.csv.tmp4", "best.safetensors", ".hidden", "x.tmp5", ".a.tmpx"} {
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, ".d.tmp7"), 0o755)
	removed, err := CleanTemps(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".best.safetensors.tmp123", ".iters.csv.tmp4"}; !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{".a.tmpx", ".d.tmp7", ".hidden", "best.safetensors", "x.tmp5"}; !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
}

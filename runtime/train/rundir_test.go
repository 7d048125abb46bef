package train

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netc-dev/netc/runtime/monitor"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

// Two runs started in the same second get folders of their own.
func TestNewRunDirUnique(t *testing.T) {
	t.Chdir(t.TempDir())
	now := time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)
	var dirs []string
	for range 3 {
		d, err := NewRunDir("lenet", now)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	base := filepath.Join("runs", "lenet-20261202-170000")
	if want := []string{base, base + "-2", base + "-3"}; strings.Join(dirs, " ") != strings.Join(want, " ") {
		t.Errorf("folders %q, want %q", dirs, want)
	}
}

// A run folder in use by another run is refused, naming the process; once free it can
// be used again.
func TestRunDirLocked(t *testing.T) {
	dir := t.TempDir()
	lock, err := lockRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mnistConfig(t, 1)
	cfg.RunDir = dir
	tr, _ := mnist(t, 100, 0)
	_, err = Train(lenetmnist.New(1), tr, nil, nil, cfg, nil)
	if want := fmt.Sprintf("run folder %s is in use by process %d", dir, os.Getpid()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Train in a locked folder: %v, want %q", err, want)
	}
	lock.release()
	tr, _ = mnist(t, 100, 0)
	if _, err := Train(lenetmnist.New(1), tr, nil, nil, cfg, nil); err != nil {
		t.Fatalf("Train after the lock is released: %v", err)
	}
	// Train released its own lock.
	l, err := lockRunDir(dir)
	if err != nil {
		t.Fatalf("the folder is still locked after Train: %v", err)
	}
	l.release()
}

// Resuming after a crash cuts the metrics back to the checkpoint's iteration (the crashed
// run had written rows past it) and removes the temporary files of interrupted writes.
func TestResumeCleansRunDir(t *testing.T) {
	dir := t.TempDir()
	cfg := mnistConfig(t, 2)
	cfg.RunDir, cfg.MaxIters = dir, 6 // 200 images of 64: 4 iterations per epoch
	tr, _ := mnist(t, 200, 0)
	first, err := Train(lenetmnist.New(1), tr, nil, nil, cfg, nil)
	if err != nil || first.Iters != 6 {
		t.Fatalf("first part: %d iterations, %v", first.Iters, err)
	}
	// What a crash after iteration 8, in the middle of a write, leaves behind.
	appendTo := func(name, rows string) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(rows)
		f.Close()
	}
	appendTo(monitor.ItersFile, "7,1.75,2.1,0.01\n8,2,2.0,0.01\n9,2.2")
	appendTo(monitor.EpochsFile, "2,2.05,0.3,NaN,0.01,100,1\ngarbage\n")
	stale := filepath.Join(dir, ".best.safetensors.tmp123")
	os.WriteFile(stale, nil, 0o644)

	cfg.RunDir, cfg.MaxIters, cfg.Resume = "", 0, first.Checkpoint
	tr, _ = mnist(t, 200, 0)
	var out bytes.Buffer
	if _, err := Train(lenetmnist.New(1), tr, nil, nil, cfg, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "removed the temporary files of interrupted writes from "+dir+": .best.safetensors.tmp123") {
		t.Errorf("output:\n%s", out.String())
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there (%v)", err)
	}
	iters, epochs, err := monitor.ReadMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, monitor.ItersFile))
	if rows := strings.Count(string(b), "\n") - 1; rows != 8 || len(iters) != 8 {
		t.Fatalf("iters.csv has %d rows (%d read), want 8:\n%s", rows, len(iters), b)
	}
	for i, r := range iters {
		if r.Iter != i+1 {
			t.Fatalf("row %d is iteration %d", i+1, r.Iter)
		}
	}
	b, _ = os.ReadFile(filepath.Join(dir, monitor.EpochsFile))
	if len(epochs) != 2 || strings.Count(string(b), "\n") != 3 || strings.Contains(string(b), "garbage") {
		t.Errorf("epochs.csv:\n%s", b)
	}
}

func TestKeepRows(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		last     int
	}{
		{"h\n1,a\n2,b\n3,c\n", "h\n1,a\n2,b\n", 2},
		{"h\n1,a\n2,b\n", "h\n1,a\n2,b\n", 2},
		{"h\n1,a\nx,y\n2,b\n3,", "h\n1,a\n2,b\n", 5},
		{"h\n1,a\n2,b\n1,a\n2,b\n", "h\n1,a\n1,a\n", 1},
		{"partial header", "partial header", 1},
	} {
		got, cut := keepRows([]byte(tc.in), tc.last)
		if string(got) != tc.want || cut != (tc.in != tc.want) {
			t.Errorf("keepRows(%q, %d) = %q, %v; want %q", tc.in, tc.last, got, cut, tc.want)
		}
	}
}

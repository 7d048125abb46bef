package train

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/netc-dev/netc/internal/atomicfile"
	"github.com/netc-dev/netc/runtime/monitor"
)

// LockFile is the file of a run folder that a training process holds locked while it
// writes there; it records the process's id.
const LockFile = ".lock"

// DefaultRunDir returns the default run folder of a network trained from now on:
// runs/<name>-<yyyymmdd-hhmmss>. NewRunDir makes it unique.
func DefaultRunDir(name string, now time.Time) string {
	return filepath.Join("runs", name+"-"+now.Format("20060102-150405"))
}

// NewRunDir creates a new, empty run folder for a run of network name started at now
// and returns its path: DefaultRunDir, or, when that exists already (two runs started
// in the same second), the same name followed by -2, -3 and so on. The folder is created
// with an exclusive mkdir, so two processes never get the same one.
func NewRunDir(name string, now time.Time) (string, error) {
	base := DefaultRunDir(name, now)
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return "", fmt.Errorf("train: run folder: %w", err)
	}
	for i := 1; i <= 1000; i++ {
		dir := base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("train: run folder: %w", err)
		}
	}
	return "", fmt.Errorf("train: run folder: %s and 999 others like it exist already", base)
}

// runLock is a run folder held by this process.
type runLock struct{ f *os.File }

// lockRunDir takes the lock of the run folder dir, failing with an error that names the
// process holding it when another one does. The lock goes with the process: one killed
// leaves no stale lock behind.
func lockRunDir(dir string) (*runLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: run folder: %w", err)
	}
	if err := lockFile(f); err != nil {
		b, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		holder := "another process"
		if pid := strings.TrimSpace(string(b)); pid != "" {
			holder = "process " + pid
		}
		return nil, fmt.Errorf("train: run folder %s is in use by %s (%v); give another --run folder", dir, holder, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &runLock{f: f}, nil
}

// release lets another process use the folder.
func (l *runLock) release() {
	if l != nil {
		unlockFile(l.f)
		l.f.Close()
	}
}

// truncateMetrics cuts the metrics files of the run folder dir back to what a checkpoint
// had seen: iters.csv to iterations ≤ iter and epochs.csv to epochs ≤ epochs, dropping
// rows of a crashed run after its last checkpoint (which a resumed run writes again),
// unreadable rows and a partial last row. Files that need no cut are left alone.
func truncateMetrics(dir string, iter, epochs int) error {
	for _, m := range []struct {
		name string
		last int
	}{{monitor.ItersFile, iter}, {monitor.EpochsFile, epochs}} {
		path := filepath.Join(dir, m.name)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		kept, cut := keepRows(b, m.last)
		if !cut {
			continue
		}
		if err := atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(kept); return err }); err != nil {
			return fmt.Errorf("train: cutting %s back to the checkpoint: %w", path, err)
		}
	}
	return nil
}

// keepRows returns the header line of a metrics file followed by its complete rows whose
// first field is a whole number at most last, and whether that drops anything. A file
// without a complete header line is returned as it is.
func keepRows(b []byte, last int) (kept []byte, cut bool) {
	header, rest, ok := bytes.Cut(b, []byte{'\n'})
	if !ok {
		return b, false
	}
	kept = append(append(make([]byte, 0, len(b)), header...), '\n')
	for len(rest) > 0 {
		line, after, complete := bytes.Cut(rest, []byte{'\n'})
		if !complete {
			break
		}
		first, _, _ := bytes.Cut(line, []byte{','})
		if n, err := strconv.Atoi(string(first)); err == nil && n <= last {
			kept = append(append(kept, line...), '\n')
		}
		rest = after
	}
	return kept, len(kept) != len(b)
}

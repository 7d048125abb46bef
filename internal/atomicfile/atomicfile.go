// Package atomicfile writes files all at once: readers see the old content or the new,
// never a partial file, even if the writer fails or the machine stops midway.
//
// What is already at the path decides how: a regular file (or nothing) is replaced
// atomically; a symbolic link is followed and its target replaced, the link kept; a
// directory is refused; a device, named pipe or socket (/dev/null, /dev/stdout on a
// terminal or a pipe) is written through, as a plain write would, which is not atomic.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// maxLinks bounds the chain of symbolic links Write follows, as the kernel does (40).
const maxLinks = 40

// Write creates or replaces the file at path with what write writes: into a temporary
// file in the same directory (buffered), which is then made readable by all (0644),
// synced to disk and renamed over path; the rename is synced too where the system can
// sync a directory. On any error the temporary file is removed and path is untouched.
// See the package documentation for paths that are links, directories or devices.
func Write(path string, write func(io.Writer) error) error {
	target, fi, err := resolve(path)
	if err != nil {
		return err
	}
	switch {
	case fi == nil || fi.Mode().IsRegular():
		return replace(target, write)
	case fi.IsDir():
		return fmt.Errorf("%s is a directory; give the name of a file to write (in it or elsewhere)", path)
	}
	return writeThrough(target, write)
}

// resolve follows the symbolic links at path to what they name and returns its path and
// its information, nil when nothing is there (a dangling link names the file to create).
func resolve(path string) (string, fs.FileInfo, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, fi, nil
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", nil, err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(path), link)
		}
		path = link
	}
	return "", nil, fmt.Errorf("%s: more than %d symbolic links in a chain", path, maxLinks)
}

// writeThrough writes to a device, pipe or socket in place, buffered.
func writeThrough(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replace writes a temporary file beside path and renames it over path.
func replace(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// tempName matches the names of Write's temporary files: "." + the file's name + ".tmp"
// + the digits os.CreateTemp adds.
var tempName = regexp.MustCompile(`^\..+\.tmp[0-9]+$`)

// CleanTemps removes from dir the temporary files that interrupted Writes left behind
// (a process killed between creating and renaming one), and returns their names. Call it
// only when no other process is writing in dir: it cannot tell a stale temporary file
// from one being written.
func CleanTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !tempName.MatchString(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}

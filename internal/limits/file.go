package limits

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// OpenFile opens the file at path for reading and returns it only if it is a regular
// file (a symbolic link is followed). A directory, device, named pipe or socket is
// refused with an error wrapping ErrNotRegular that says what the path is; a named pipe
// is opened without blocking, so that a pipe nobody writes to cannot hang the caller.
func OpenFile(path string) (*os.File, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w: it is %s", path, ErrNotRegular, describeMode(fi.Mode()))
	}
	return f, nil
}

// describeMode names the kind of a file that is not regular, for error messages.
func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// ReadFile reads the whole regular file at path (see OpenFile), refusing, before reading
// it, a file of more than limit bytes with a *SizeError naming the limit as name (a file
// that grows while it is read is cut at limit+1 bytes and refused too).
func ReadFile(path string, limit int64, name string) ([]byte, error) {
	f, err := OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, &SizeError{What: path, Size: uint64(fi.Size()), Limit: uint64(limit), Unit: "bytes", Name: name}
	}
	return readLimited(path, f, limit, name)
}

// ReadStream reads everything from path, which may be a regular file, a named pipe or a
// device such as /dev/stdin, stopping with a *SizeError (naming the limit as name) after
// limit bytes. A directory is refused. Use it where a pipe makes sense (a spec given as
// <(generate-spec)); use ReadFile where only a file does.
func ReadStream(path string, limit int64, name string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s: %w: it is a directory", path, ErrNotRegular)
	}
	return readLimited(path, f, limit, name)
}

// readLimited reads r to its end, failing with a *SizeError when it holds more than
// limit bytes.
func readLimited(path string, r io.Reader, limit int64, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, &SizeError{What: path, Size: uint64(len(b)), Limit: uint64(limit), Unit: "bytes",
			AtLeast: true, Name: name}
	}
	return b, nil
}

// Package limits bounds what netc reads and allocates on behalf of its input, so that a
// hostile or careless input gets an error naming the limit instead of exhausting memory
// or hanging: files are read through a size limit, a path that must be a file is refused
// when it is a directory, a device or a named pipe (without blocking on the pipe), and
// allocations sized by the user are compared with the machine's memory first.
//
// Every limit of netc is a documented constant beside the code that enforces it; the
// README's "Limits" section lists them all.
package limits

import (
	"errors"
	"fmt"
)

// MaxSpecSize is the largest spec file netc reads: 1 MiB, a hundred times the largest
// reference spec, and small enough that parsing it takes well under a second.
const MaxSpecSize = 1 << 20

// MaxTextSize is the largest small text file netc reads: class-name (label) files and
// CIFAR-10's batches.meta.txt.
const MaxTextSize = 1 << 20

// ErrTooLarge is wrapped by the errors of input that exceeds a limit; test it with
// errors.Is.
var ErrTooLarge = errors.New("over the limit")

// ErrNotRegular is wrapped by the errors of paths that name a directory, a device, a
// named pipe or a socket where a regular file is needed.
var ErrNotRegular = errors.New("not a regular file")

// SizeError reports a value over its limit: what it is (a file, a batch), its size and
// the limit, in the given unit ("bytes", "pixels"), and the limit's name, if it has one.
type SizeError struct {
	What        string
	Size, Limit uint64
	Unit        string
	// AtLeast says that Size is a lower bound (reading stopped there).
	AtLeast bool
	// Name is what the limit is, e.g. "limits.MaxSpecSize" or "the machine's memory".
	Name string
}

// Error says what is over which limit, e.g. "spec.net: 31457280 bytes, more than the
// limit of 1048576 bytes (limits.MaxSpecSize)".
func (e *SizeError) Error() string {
	least := ""
	if e.AtLeast {
		least = "at least "
	}
	name := ""
	if e.Name != "" {
		name = " (" + e.Name + ")"
	}
	return fmt.Sprintf("%s: %s%d %s, more than the limit of %d %s%s", e.What, least, e.Size, e.Unit, e.Limit, e.Unit, name)
}

// Unwrap makes a SizeError match ErrTooLarge.
func (e *SizeError) Unwrap() error { return ErrTooLarge }

// MaxThreads is the largest thread count (GOMAXPROCS) that netc train and netc bench
// accept: each thread gets its own buffers and gradient accumulators, so a count far
// above the cores only costs memory and time (100,000 threads did not start in 120 s).
const MaxThreads = 256

// CheckThreads returns an error unless 0 ≤ n ≤ MaxThreads (0 meaning all the cores).
func CheckThreads(n int) error {
	if n < 0 || n > MaxThreads {
		return fmt.Errorf("threads %d: must be between 0 (all cores) and %d (limits.MaxThreads)", n, MaxThreads)
	}
	return nil
}

//go:build unix

package limits

import (
	"os"
	"syscall"
)

// openNonBlocking opens path read-only with O_NONBLOCK, which makes opening a named pipe
// return at once instead of waiting for a writer; it changes nothing for regular files
// (Go's file layer does not poll them).
func openNonBlocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

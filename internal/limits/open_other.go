//go:build !unix

package limits

import "os"

// openNonBlocking opens path read-only; systems other than Unix have no named pipes in
// the file system to block on.
func openNonBlocking(path string) (*os.File, error) { return os.Open(path) }

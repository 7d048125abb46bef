//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package train

import "os"

// lockFile does nothing on systems without flock: run folders are unique (NewRunDir) but
// not locked there.
func lockFile(*os.File) error { return nil }

// unlockFile does nothing, as lockFile.
func unlockFile(*os.File) {}

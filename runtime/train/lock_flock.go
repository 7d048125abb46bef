//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package train

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f without waiting (flock), which the system
// releases when the process ends, however it ends.
func lockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) }

// unlockFile releases the lock of lockFile.
func unlockFile(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

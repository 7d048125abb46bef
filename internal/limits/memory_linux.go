package limits

import "syscall"

// Memory returns the machine's physical memory in bytes (0 if the system does not say).
func Memory() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

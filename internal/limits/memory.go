package limits

import "math"

// Product returns the product of the sizes xs as a uint64, saturating at math.MaxUint64
// instead of overflowing, so that a memory need computed from user input can be compared
// with a limit safely. Negative sizes count as 0.
func Product(xs ...int) uint64 {
	p := uint64(1)
	for _, x := range xs {
		if x <= 0 {
			return 0
		}
		if p > math.MaxUint64/uint64(x) {
			return math.MaxUint64
		}
		p *= uint64(x)
	}
	return p
}

// CheckMemory returns a *SizeError when what needs more bytes than the machine's
// physical memory (when the system says how much there is; otherwise nil). Call it
// before allocating buffers whose size comes from the user.
func CheckMemory(what string, bytes uint64) error {
	total := Memory()
	if total == 0 || bytes <= total {
		return nil
	}
	return &SizeError{What: what, Size: bytes, Limit: total, Unit: "bytes", AtLeast: true, Name: "the machine's memory"}
}

package train

import "github.com/netc-dev/netc/runtime/train/settings"

// Schedule gives the learning rate of every iteration; see settings.Schedule, which
// lives with the grammar of the schedule settings.
type Schedule = settings.Schedule

// Warmup is a linear learning-rate warm-up; see settings.Warmup.
type Warmup = settings.Warmup

// ConstantSchedule returns the schedule that always gives base.
func ConstantSchedule(base float32) Schedule { return settings.ConstantSchedule(base) }

// ParseSchedule parses the words of a schedule setting for a run of itersPerEpoch
// iterations per epoch and totalIters in all; see settings.ParseSchedule.
func ParseSchedule(words []string, base float32, itersPerEpoch, totalIters int) (Schedule, error) {
	return settings.ParseSchedule(words, base, itersPerEpoch, totalIters)
}

// ParseWarmup parses the words of a warm-up setting; see settings.ParseWarmup.
func ParseWarmup(words []string, itersPerEpoch int) (Warmup, error) {
	return settings.ParseWarmup(words, itersPerEpoch)
}

//go:build unix

package loadgen

import (
	"syscall"
	"time"
)

// processCPU returns the user plus system CPU time this process has used so
// far, from getrusage(2); ok is false if it is not available.
func processCPU() (cpu time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

//go:build !unix

package loadgen

import "time"

// processCPU is not implemented on this platform: the report says so instead
// of printing a wrong figure.
func processCPU() (time.Duration, bool) { return 0, false }

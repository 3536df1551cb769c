//go:build !linux

package collect

// statfsPath is not used off Linux: the registry refuses to run collectors.
func statfsPath(string) (FSStats, error) { return FSStats{}, ErrNotSupported }

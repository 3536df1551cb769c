//go:build linux

package collect

import (
	"fmt"
	"syscall"
)

// statfsPath calls statfs(2) on path.
func statfsPath(path string) (FSStats, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(path, &s); err != nil {
		return FSStats{}, fmt.Errorf("statfs: %w", err)
	}
	bs := float64(s.Bsize)
	if s.Frsize > 0 {
		// f_frsize is the unit of the block counts where it is set.
		bs = float64(s.Frsize)
	}
	return FSStats{
		Size:       float64(s.Blocks) * bs,
		Free:       float64(s.Bfree) * bs,
		Available:  float64(s.Bavail) * bs,
		Inodes:     float64(s.Files),
		InodesFree: float64(s.Ffree),
	}, nil
}

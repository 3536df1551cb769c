package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// Mount is one line of /proc/self/mounts.
type Mount struct {
	Device, Point, FSType string
}

// FSStats is what statfs(2) says of a mounted filesystem, in bytes and
// inodes. Available is what an unprivileged user may still use: it excludes
// the blocks reserved for root.
type FSStats struct {
	Size, Free, Available float64
	Inodes, InodesFree    float64
}

// skippedFSTypes are the filesystems the disk collector leaves out: kernel
// pseudo filesystems (their size means nothing), memory-backed ones (tmpfs,
// ramfs: RAM is the memory collector's business, and a host has dozens of
// them under /run), overlay (a container's root, whose usage is the
// underlying disk's, reported there) and read-only images (squashfs snaps are
// always 100% full, which would make the "fullest mount" useless).
var skippedFSTypes = map[string]bool{
	"autofs": true, "binfmt_misc": true, "bpf": true, "cgroup": true, "cgroup2": true,
	"configfs": true, "debugfs": true, "devpts": true, "devtmpfs": true, "efivarfs": true,
	"fusectl": true, "hugetlbfs": true, "mqueue": true, "nsfs": true, "overlay": true,
	"proc": true, "pstore": true, "ramfs": true, "rpc_pipefs": true, "securityfs": true,
	"selinuxfs": true, "squashfs": true, "sysfs": true, "tmpfs": true, "tracefs": true,
	"iso9660": true, "fuse.lxcfs": true, "fuse.gvfsd-fuse": true, "fuse.portal": true,
	"fuse.snapfuse": true, "nfsd": true,
}

// ParseMounts parses /proc/self/mounts (fstab format), decoding the octal
// escapes the kernel writes for space, tab, newline and backslash in paths.
func ParseMounts(b []byte) ([]Mount, error) {
	var out []Mount
	for n := 1; len(b) > 0; n++ {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("parse mounts: line %d has %d fields, want at least 3", n, len(f))
		}
		out = append(out, Mount{Device: unescapeMount(f[0]), Point: unescapeMount(f[1]), FSType: string(f[2])})
	}
	return out, nil
}

func unescapeMount(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	var s strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && isOctal(b[i+1]) && isOctal(b[i+2]) && isOctal(b[i+3]) {
			s.WriteByte((b[i+1]-'0')<<6 | (b[i+2]-'0')<<3 | (b[i+3] - '0'))
			i += 3
			continue
		}
		s.WriteByte(b[i])
	}
	return s.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// diskMounts keeps the mounts worth reporting: real filesystems, each mount
// point once (the last mount on a point hides the earlier ones) and each
// block device once (bind mounts of one disk would report it many times; the
// first, usually shortest, mount point names it).
func diskMounts(all []Mount) []Mount {
	last := make(map[string]int, len(all))
	for i, m := range all {
		last[m.Point] = i
	}
	seenDev := make(map[string]bool)
	var out []Mount
	for i, m := range all {
		if skippedFSTypes[m.FSType] || last[m.Point] != i {
			continue
		}
		if strings.HasPrefix(m.Device, "/dev/") {
			if seenDev[m.Device] {
				continue
			}
			seenDev[m.Device] = true
		}
		out = append(out, m)
	}
	return out
}

// statfsTimeout bounds one statfs call: on a hung NFS server statfs blocks
// forever, and the collector must not.
const statfsTimeout = 5 * time.Second

// errStuck marks a mount whose earlier statfs never returned.
var errStuck = errors.New("statfs still hanging from an earlier run")

// diskCollector reports usage per mounted filesystem; its value is the
// highest used percent, and its message names that mount.
type diskCollector struct {
	env     env
	statfs  func(path string) (FSStats, error)
	timeout time.Duration // statfsTimeout; shorter in tests

	mu    sync.Mutex
	stuck map[string]bool // mount points whose statfs has not returned
}

func newDiskCollector(e env, statfs func(string) (FSStats, error)) *diskCollector {
	return &diskCollector{env: e, statfs: statfs, timeout: statfsTimeout, stuck: make(map[string]bool)}
}

func (*diskCollector) Name() string { return "disk" }

// usedPercent is df's Use%: used over what users can have (used plus
// available), so a disk whose free space is all root-reserved reads 100%.
func (s FSStats) usedPercent() float64 {
	used := s.Size - s.Free
	if used+s.Available <= 0 {
		return 0
	}
	return min(max(100*used/(used+s.Available), 0), 100)
}

func (c *diskCollector) Collect(ctx context.Context) (Collected, error) {
	b, err := c.env.read("proc/self/mounts")
	if err != nil {
		return Collected{}, err
	}
	all, err := ParseMounts(b)
	if err != nil {
		return Collected{}, err
	}
	mounts := diskMounts(all)

	var ms []wire.Metric
	var failed []string
	fullest, fullestPct, n := "", -1.0, 0
	for _, m := range mounts {
		st, err := c.stat(ctx, m.Point)
		if err != nil {
			if ctx.Err() != nil {
				return Collected{}, ctx.Err()
			}
			failed = append(failed, m.Point+": "+err.Error())
			continue
		}
		n++
		pct := st.usedPercent()
		lb := []string{"mount", m.Point, "fstype", m.FSType}
		ms = append(ms,
			gauge("size_bytes", "bytes", st.Size, lb...),
			gauge("used_bytes", "bytes", st.Size-st.Free, lb...),
			gauge("available_bytes", "bytes", st.Available, lb...),
			gauge("used_percent", "percent", pct, lb...),
			gauge("inodes", "", st.Inodes, lb...),
			gauge("inodes_free", "", st.InodesFree, lb...),
		)
		if st.Inodes > 0 {
			ms = append(ms, gauge("inodes_used_percent", "percent", 100*(st.Inodes-st.InodesFree)/st.Inodes, lb...))
		}
		if pct > fullestPct {
			fullest, fullestPct = m.Point, pct
		}
	}
	col := Collected{Metrics: ms}
	if n == 0 {
		col.Message = "no disk filesystem mounted"
	} else {
		col.Value = ptr(fullestPct)
		col.Message = fmt.Sprintf("fullest: %s %.1f%% used, %d filesystems", fullest, fullestPct, n)
	}
	if len(failed) > 0 {
		col.Message += "; cannot stat " + strings.Join(failed, ", ")
	}
	return col, nil
}

// stat runs statfs on a mount point with a time limit. A call that times out
// keeps running in its goroutine (a system call cannot be cancelled); the
// mount is skipped until it returns, so a hung NFS server costs one
// goroutine, not one per run.
func (c *diskCollector) stat(ctx context.Context, point string) (FSStats, error) {
	c.mu.Lock()
	if c.stuck[point] {
		c.mu.Unlock()
		return FSStats{}, errStuck
	}
	c.mu.Unlock()

	type answer struct {
		st  FSStats
		err error
	}
	done := make(chan answer, 1)
	path := filepath.Join(c.env.root, point)
	go func() {
		st, err := c.statfs(path)
		done <- answer{st, err}
		c.mu.Lock()
		delete(c.stuck, point)
		c.mu.Unlock()
	}()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case a := <-done:
		return a.st, a.err
	case <-timer.C:
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.stuck[point] = true
	c.mu.Unlock()
	select {
	case a := <-done: // it returned meanwhile: not stuck after all
		c.mu.Lock()
		delete(c.stuck, point)
		c.mu.Unlock()
		return a.st, a.err
	default:
	}
	if ctx.Err() != nil {
		return FSStats{}, ctx.Err()
	}
	return FSStats{}, fmt.Errorf("statfs timed out after %s", c.timeout)
}

//go:build linux

package collect

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseMounts(t *testing.T) {
	ms, err := ParseMounts([]byte("/dev/sdb1 /mnt/my\\040data\\011tab\\134 xfs rw 0 0\n\n/dev/x /a\\9 ext4 rw 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{{"/dev/sdb1", "/mnt/my data\ttab\\", "xfs"}, {"/dev/x", "/a\\9", "ext4"}}
	if len(ms) != 2 || ms[0] != want[0] || ms[1] != want[1] {
		t.Errorf("ParseMounts = %q", ms)
	}
	if _, err := ParseMounts([]byte("/dev/sda1 /\n")); err == nil {
		t.Error("ParseMounts accepted a line of 2 fields")
	}
}

func TestDiskMounts(t *testing.T) {
	all := []Mount{
		{"proc", "/proc", "proc"},
		{"/dev/sda1", "/", "ext4"},
		{"tmpfs", "/run", "tmpfs"},
		{"/dev/sda1", "/var/lib/docker", "ext4"}, // bind mount of /
		{"/dev/loop0", "/snap/x", "squashfs"},
		{"/dev/sdb1", "/data", "ext4"},
		{"/dev/sdc1", "/data", "xfs"}, // hides /dev/sdb1
		{"srv:/x", "/nfs", "nfs4"},
		{"srv:/x", "/nfs2", "nfs4"},
	}
	got := diskMounts(all)
	want := []Mount{all[1], all[6], all[7], all[8]}
	if len(got) != len(want) {
		t.Fatalf("diskMounts = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("diskMounts[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestFSStatsUsedPercent(t *testing.T) {
	f := func(s FSStats, want float64) {
		t.Helper()
		if got := s.usedPercent(); got != want {
			t.Errorf("%+v: %v%%, want %v%%", s, got, want)
		}
	}
	f(FSStats{Size: 100, Free: 50, Available: 50}, 50)
	f(FSStats{Size: 100, Free: 10, Available: 0}, 100) // only root's reserve left
	f(FSStats{}, 0)
}

// TestDiskHungStatfs checks a statfs that never returns (a dead NFS
// server) costs one timeout, then the mount is skipped until it returns.
func TestDiskHungStatfs(t *testing.T) {
	release := make(chan struct{})
	statfs := func(path string) (FSStats, error) {
		if strings.HasSuffix(path, "/srv/nfs") {
			<-release
		}
		return fixtureStatfs(path)
	}
	d := newDiskCollector(env{root: "testdata/root", now: time.Now}, statfs)
	d.timeout = 20 * time.Millisecond

	col, err := d.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(col.Message, "; cannot stat /srv/nfs: statfs timed out after 20ms") || *col.Value != 97.77777777777777 {
		t.Errorf("first run: %v %q", *col.Value, col.Message)
	}
	start := time.Now()
	col, _ = d.Collect(context.Background())
	if !strings.HasSuffix(col.Message, "/srv/nfs: "+errStuck.Error()) || time.Since(start) > 10*time.Millisecond {
		t.Errorf("second run waited %v or says %q", time.Since(start), col.Message)
	}
	close(release)
	// The goroutine clears the mark when statfs returns.
	deadline := time.Now().Add(2 * time.Second)
	for {
		col, _ = d.Collect(context.Background())
		if !strings.Contains(col.Message, "cannot stat") || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if strings.Contains(col.Message, "cannot stat") || metric(col, "size_bytes", map[string]string{"mount": "/srv/nfs"}) <= 0 {
		t.Errorf("after statfs returned: %q", col.Message)
	}
}

func TestDiskCancelled(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	d := newDiskCollector(env{root: "testdata/root", now: time.Now}, func(string) (FSStats, error) {
		<-block
		return FSStats{}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := d.Collect(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Collect with an expiring context: %v", err)
	}
}

func TestDiskNothingMounted(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "proc/self/mounts", "proc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n")
	col := collect(t, NewRegistry(Options{Root: root}), "disk")
	if col.Value != nil || col.Message != "no disk filesystem mounted" {
		t.Errorf("%+v", col)
	}
}

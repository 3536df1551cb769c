package collect

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fixtureTime is "now" for the fixture tree in testdata/root.
var fixtureTime = time.Date(2026, 11, 21, 0, 0, 10, 0, time.UTC)

// fixtureStatfs answers statfs for the fixture mounts: every filesystem is
// 100 GiB with a tenth reserved for root, and a per-mount free space.
func fixtureStatfs(path string) (FSStats, error) {
	const gib = 1 << 30
	free := map[string]float64{
		"/": 40 * gib, "/boot/efi": 90 * gib, "/mnt/my data": 12 * gib,
		"/srv/nfs": 80 * gib, "/mnt/old": 50 * gib,
	}
	rel, err := filepath.Rel(filepath.Join("testdata", "root"), path)
	if err != nil {
		return FSStats{}, err
	}
	f, ok := free[filepath.Join("/", rel)]
	if !ok {
		return FSStats{}, os.ErrNotExist
	}
	return FSStats{Size: 100 * gib, Free: f, Available: f - 10*gib, Inodes: 6553600, InodesFree: 6000000}, nil
}

func fixtureRegistry(t testing.TB, root string) *Registry {
	t.Helper()
	now := fixtureTime
	return NewRegistry(Options{
		Root:     root,
		Now:      func() time.Time { return now },
		statfs:   fixtureStatfs,
		pageSize: 4096,
	})
}

func collect(t testing.TB, r *Registry, name string) Collected {
	t.Helper()
	c, ok := r.Lookup(name)
	if !ok {
		t.Fatalf("no collector %q", name)
	}
	col, err := c.Collect(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	checkFinite(t, name, col)
	return col
}

func checkFinite(t testing.TB, name string, col Collected) {
	t.Helper()
	if col.Value != nil && !finite(*col.Value) {
		t.Errorf("%s: value %v", name, *col.Value)
	}
	for _, m := range col.Metrics {
		if !finite(m.Value) {
			t.Errorf("%s: metric %s%v = %v", name, m.Name, m.Labels, m.Value)
		}
	}
}

// copyFixture copies testdata/root into a temporary directory, for tests that
// change files between two samples.
func copyFixture(t testing.TB) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", "root"))); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t testing.TB, root, rel, content string) {
	t.Helper()
	path := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// steppedRegistry is a fixture registry on root whose clock advances by step
// at every reading.
func steppedRegistry(t testing.TB, root string, step time.Duration) *Registry {
	t.Helper()
	now := fixtureTime
	return NewRegistry(Options{
		Root:     root,
		Now:      func() time.Time { now = now.Add(step); return now },
		statfs:   fixtureStatfs,
		pageSize: 4096,
	})
}

// metric returns the value of the first metric called name whose labels
// include want; -1 if there is none.
func metric(col Collected, name string, want map[string]string) float64 {
next:
	for _, m := range col.Metrics {
		if m.Name != name {
			continue
		}
		for k, v := range want {
			if m.Labels[k] != v {
				continue next
			}
		}
		return m.Value
	}
	return -1
}

// utmpRecord mirrors glibc's struct utmp on linux/amd64 and arm64
// (bits/utmp.h), written independently of the parser's offsets.
type utmpRecord struct {
	Type    int16
	_       [2]byte
	PID     int32
	Line    [32]byte
	ID      [4]byte
	User    [32]byte
	Host    [256]byte
	Exit    [2]int16
	Session int32
	TvSec   int32
	TvUsec  int32
	AddrV6  [4]int32
	_       [20]byte
}

func utmpBytes(t testing.TB, recs ...utmpRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, r := range recs {
		if err := binary.Write(&buf, binary.LittleEndian, r); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func rec(typ int16, user, line, host string, pid, sec int32) utmpRecord {
	r := utmpRecord{Type: typ, PID: pid, TvSec: sec}
	copy(r.User[:], user)
	copy(r.Line[:], line)
	copy(r.Host[:], host)
	return r
}

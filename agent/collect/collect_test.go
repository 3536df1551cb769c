package collect

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

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

// TestGolden runs every collector once on the fixture tree and compares the
// result with testdata/golden/<name>.json (go test -update rewrites them).
func TestGolden(t *testing.T) {
	r := fixtureRegistry(t, filepath.Join("testdata", "root"))
	for _, name := range r.Names() {
		t.Run(name, func(t *testing.T) {
			col := collect(t, r, name)
			got, err := json.MarshalIndent(col, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from golden file:\n got: %s\nwant: %s", name, got, want)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"cpu", "disk", "load", "memory", "network", "processes", "syslog", "uptime", "users"}
	got := Names()
	if len(got) != len(want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Names() = %v, want %v", got, want)
		}
		c, ok := Lookup(want[i])
		if !ok || c.Name() != want[i] {
			t.Errorf("Lookup(%q) = %v, %v", want[i], c, ok)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error(`Lookup("nope") found something`)
	}
	if Default() != Default() {
		t.Error("Default() is not one registry")
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, _ := Lookup("load")
	if _, err := c.Collect(ctx); err != context.Canceled {
		t.Errorf("Collect on a cancelled context: %v, want context.Canceled", err)
	}
}

func TestMissingFiles(t *testing.T) {
	r := NewRegistry(Options{Root: t.TempDir()})
	for _, name := range []string{"uptime", "load", "memory", "cpu", "network", "disk", "processes"} {
		c, _ := r.Lookup(name)
		if _, err := c.Collect(context.Background()); err == nil {
			t.Errorf("%s on an empty root: no error", name)
		}
	}
	// users and syslog treat a missing file as "nothing to report".
	if col := collect(t, r, "users"); *col.Value != 0 {
		t.Errorf("users without utmp: value %v", *col.Value)
	}
	if col := collect(t, r, "syslog"); col.Value != nil || col.Message == "" {
		t.Errorf("syslog without a file: %+v", col)
	}
}

func TestHumanBytes(t *testing.T) {
	f := func(in float64, want string) {
		t.Helper()
		if got := humanBytes(in); got != want {
			t.Errorf("humanBytes(%v) = %q, want %q", in, got, want)
		}
	}
	f(0, "0 B")
	f(1023, "1023 B")
	f(1024, "1.0 KiB")
	f(1536*1024*1024, "1.5 GiB")
	f(math.MaxFloat64, humanBytes(math.MaxFloat64)) // no panic, no loop
}

func TestTruncate(t *testing.T) {
	if got := truncate("héllo", 2); got != "h…" {
		t.Errorf("truncate cut a rune: %q", got)
	}
	if got := truncate("short", 10); got != "short" {
		t.Errorf("truncate changed a short string: %q", got)
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

//go:build linux

package collect

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

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
	if a, b := Default(), Default(); a != b {
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

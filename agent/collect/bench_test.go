//go:build linux

package collect

import (
	"context"
	"testing"
)

// BenchmarkCollect runs each collector on this machine's /proc: they run
// every minute on every host, so each must stay cheap.
func BenchmarkCollect(b *testing.B) {
	r := NewRegistry(Options{})
	for _, name := range r.Names() {
		c, _ := r.Lookup(name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Collect(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCollectFixture runs the collectors that find nothing to do on this
// machine (no utmp, no syslog file) on the fixture tree instead.
func BenchmarkCollectFixture(b *testing.B) {
	root := copyFixture(b)
	writeFile(b, root, "var/run/utmp", string(utmpBytes(b,
		rec(7, "alice", "pts/0", "h", 1, 1), rec(7, "bob", "tty1", "", 2, 2))))
	r := NewRegistry(Options{Root: root})
	for _, name := range []string{"users", "syslog"} {
		c, _ := r.Lookup(name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Collect(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

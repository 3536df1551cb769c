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

// BenchmarkSyslogFullWindow reads a full 64 KiB window of a busy log.
func BenchmarkSyslogFullWindow(b *testing.B) {
	root := b.TempDir()
	var log []byte
	for i := 0; len(log) < 2*DefaultSyslogTailBytes; i++ {
		line := "2026-11-21T00:00:01.000000+00:00 web1 systemd[1]: Started Session 4 of user alice.\n"
		if i%20 == 0 {
			line = "2026-11-21T00:00:02.000000+00:00 web1 kernel: EXT4-fs error (device sda2): ext4_find_entry\n"
		}
		log = append(log, line...)
	}
	writeFile(b, root, "var/log/syslog", string(log))
	c, _ := NewRegistry(Options{Root: root}).Lookup("syslog")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Collect(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

package collect

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

func seed(f *testing.F, rel string) {
	b, err := os.ReadFile(filepath.Join("testdata", "root", rel))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

func checkFloats(t *testing.T, vs ...float64) {
	t.Helper()
	for i, v := range vs {
		if !finite(v) {
			t.Fatalf("value %d is %v", i, v)
		}
	}
}

func FuzzParseMeminfo(f *testing.F) {
	seed(f, "proc/meminfo")
	f.Add([]byte("MemTotal: 18446744073709551615 kB\nMemFree: 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMeminfo(b)
		if err != nil {
			return
		}
		checkFloats(t, m.Total, m.Free, m.Available, m.Buffers, m.Cached, m.SwapTotal, m.SwapFree, m.Used(), m.UsedPercent())
		if p := m.UsedPercent(); p < 0 || p > 100 {
			t.Fatalf("used %v%%", p)
		}
	})
}

func FuzzParseNetDev(f *testing.F) {
	seed(f, "proc/net/dev")
	f.Fuzz(func(t *testing.T, b []byte) {
		devs, err := ParseNetDev(b)
		if err != nil {
			return
		}
		for _, d := range devs {
			if d.Interface == "" {
				t.Fatal("empty interface name")
			}
			checkFloats(t, d.RxBytes, d.RxPackets, d.RxErrors, d.RxDrops, d.TxBytes, d.TxPackets, d.TxErrors, d.TxDrops)
		}
	})
}

func FuzzParseStat(f *testing.F) {
	seed(f, "proc/stat")
	f.Add([]byte("cpu 1 2 3 4 5 6 7 8 9 10 11 12\nintr\nctxt x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStat(b)
		if err != nil {
			return
		}
		checkFloats(t, s.CPU[:]...)
		checkFloats(t, s.ContextSwitches, s.Interrupts, s.Forks, s.BootTime, s.Running, s.Blocked, s.CPU.total())
	})
}

func FuzzParseUtmp(f *testing.F) {
	f.Add(utmpBytes(f, rec(7, "alice", "pts/0", "192.0.2.7", 1234, 1700000100), rec(2, "reboot", "~", "", 0, 1)))
	f.Add(make([]byte, utmpSize-1))
	f.Fuzz(func(t *testing.T, b []byte) {
		es := ParseUtmp(b)
		if len(es) > len(b)/utmpSize {
			t.Fatalf("%d entries from %d bytes", len(es), len(b))
		}
		for _, e := range es {
			for _, s := range []string{e.User, e.Line, e.Host} {
				for _, r := range s {
					if r < 0x20 || r > 0x7e {
						t.Fatalf("unprintable %q in %+v", r, e)
					}
				}
			}
		}
	})
}

func FuzzParseLoadavg(f *testing.F) {
	seed(f, "proc/loadavg")
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLoadavg(b)
		if err == nil {
			checkFloats(t, l.Load1, l.Load5, l.Load15, l.Runnable, l.Total)
		}
	})
}

func FuzzParseMounts(f *testing.F) {
	seed(f, "proc/self/mounts")
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseMounts(b)
		if err != nil {
			return
		}
		diskMounts(ms)
	})
}

func FuzzParseProcessStat(f *testing.F) {
	seed(f, "proc/42/stat")
	seed(f, "proc/1/stat")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProcessStat(b)
		if err == nil {
			checkFloats(t, p.CPU, p.Start, p.Threads, p.RSSPages)
		}
	})
}

func FuzzErrorLines(f *testing.F) {
	seed(f, "var/log/syslog")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, l := range ErrorLines(b, true) {
			if s := truncate(sanitizeLine(l), syslogLineMax); len(s) > syslogLineMax+len("…") ||
				(utf8.ValidString(l) && !utf8.ValidString(s)) {
				t.Fatalf("truncate(%q) = %q", l, s)
			}
		}
	})
}

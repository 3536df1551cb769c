package collect

import (
	"math"
	"strings"
	"testing"
)

func TestParseUptime(t *testing.T) {
	f := func(in string, want float64, wantErr bool) {
		t.Helper()
		got, err := ParseUptime([]byte(in))
		if (err != nil) != wantErr || got != want {
			t.Errorf("ParseUptime(%q) = %v, %v; want %v, error %v", in, got, err, want, wantErr)
		}
	}
	f("4896.26 3627.30\n", 4896.26, false)
	f("12", 12, false)
	f("", 0, true)
	f("-1 2", 0, true)
	f("NaN 2", 0, true)
	f("Inf 2", 0, true)
	f("x 2", 0, true)
}

func TestFormatUptime(t *testing.T) {
	f := func(s float64, want string) {
		t.Helper()
		if got := formatUptime(s); got != want {
			t.Errorf("formatUptime(%v) = %q, want %q", s, got, want)
		}
	}
	f(59, "0 min")
	f(12*60, "12 min")
	f(3600+5*60, "1:05")
	f(86400+60, "1 day, 1 min")
	f(3*86400+4*3600+5*60, "3 days, 4:05")
}

func TestParseLoadavg(t *testing.T) {
	l, err := ParseLoadavg([]byte("0.52 0.48 0.41 3/512 12345\n"))
	if err != nil || l != (Load{0.52, 0.48, 0.41, 3, 512}) {
		t.Errorf("ParseLoadavg = %+v, %v", l, err)
	}
	for _, bad := range []string{"", "0.5 0.4 0.3", "0.5 0.4 0.3 3-512 1", "a 0.4 0.3 1/2 1", "0.5 -1 0.3 1/2 1", "0.5 0.4 NaN 1/2 1", "0.5 0.4 0.3 x/2 1"} {
		if _, err := ParseLoadavg([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "parse loadavg: ") {
			t.Errorf("ParseLoadavg(%q): error %v", bad, err)
		}
	}
}

func TestParseMeminfo(t *testing.T) {
	m, err := ParseMeminfo([]byte("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\nSwapTotal: 0 kB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Total != 1000*1024 || m.Available != 250*1024 || !m.HasAvailable || m.UsedPercent() != 75 {
		t.Errorf("ParseMeminfo = %+v, used %v%%", m, m.UsedPercent())
	}
	// A kernel older than 3.14 has no MemAvailable: estimate it.
	m, err = ParseMeminfo([]byte("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 200 kB\nSReclaimable: 50 kB\n"))
	if err != nil || m.HasAvailable || m.Available != 400*1024 || m.Used() != 600*1024 {
		t.Errorf("without MemAvailable: %+v, %v", m, err)
	}
	if (Meminfo{}).UsedPercent() != 0 || (Meminfo{Total: 1, Available: 2}).Used() != 0 {
		t.Error("UsedPercent or Used of degenerate Meminfo not 0")
	}
	for _, bad := range []string{"", "MemFree: 1 kB\n", "MemTotal: x kB\n", "MemTotal:\n", "MemTotal: -5 kB\n"} {
		if _, err := ParseMeminfo([]byte(bad)); err == nil {
			t.Errorf("ParseMeminfo(%q): no error", bad)
		}
	}
}

func TestParseStat(t *testing.T) {
	s, err := ParseStat([]byte("cpu 100 0 50 800 50\ncpu0 100 0 50 800 50\nctxt 7\nintr 9 1 2\nbtime 1700000000\n"))
	if err != nil {
		t.Fatal(err)
	}
	// An old kernel's short cpu line: the missing modes are zero.
	if s.CPU != (CPUTimes{1, 0, 0.5, 8, 0.5}) || s.CPUs != 1 || s.ContextSwitches != 7 || s.Interrupts != 9 || s.BootTime != 1.7e9 {
		t.Errorf("ParseStat = %+v", s)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4\n", "cpu 1 2 3\n", "cpu 1 2 x 4\n", "cpu 1 2 -3 4\n"} {
		if _, err := ParseStat([]byte(bad)); err == nil {
			t.Errorf("ParseStat(%q): no error", bad)
		}
	}
}

func TestParseProcessStat(t *testing.T) {
	p, err := ParseProcessStat([]byte("42 (my (weird) proc) R 1 42 42 0 -1 4194304 100 0 0 0 200000 50000 0 0 20 0 4 0 1000000 3133440 250000 18446744073709551615 1 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := ProcessStat{PID: 42, Comm: "my (weird) proc", State: 'R', CPU: 2500, Start: 10000, Threads: 4, RSSPages: 250000}
	if p != want {
		t.Errorf("ParseProcessStat = %+v, want %+v", p, want)
	}
	p, err = ParseProcessStat([]byte("7 (evil\x1b[31m) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0"))
	if err != nil || p.Comm != "evil?[31m" {
		t.Errorf("control characters in comm: %q, %v", p.Comm, err)
	}
	for _, bad := range []string{"", "42 R 1", "x (a) R 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0", "1 (a) R 1 1", "1 (a) RR 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0", "1 (a) R 1 1 1 0 -1 0 0 0 0 0 x 1 0 0 20 0 1 0 5 0 0"} {
		if _, err := ParseProcessStat([]byte(bad)); err == nil {
			t.Errorf("ParseProcessStat(%q): no error", bad)
		}
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

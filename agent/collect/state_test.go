//go:build linux

package collect

import (
	"strings"
	"testing"
	"time"
)

func TestCPUSincePreviousSample(t *testing.T) {
	root := copyFixture(t)
	r := steppedRegistry(t, root, time.Minute)
	first := collect(t, r, "cpu")
	if !strings.Contains(first.Message, "since boot") {
		t.Errorf("first sample: %q", first.Message)
	}
	// 60 s on 2 CPUs = 12000 ticks: 3000 user, 1000 system, 7000 idle, 1000 iowait.
	writeFile(t, root, "proc/stat", "cpu  560028 120 49804 369730 4352 0 4063 3354 0 0\ncpu0 1 1 1 1\ncpu1 1 1 1 1\n")
	second := collect(t, r, "cpu")
	if *second.Value != 100*4000.0/12000 {
		t.Errorf("utilisation %v, want 33.3", *second.Value)
	}
	if !strings.Contains(second.Message, "since the previous sample (iowait 8.3%, steal 0.0%)") {
		t.Errorf("second sample: %q", second.Message)
	}
	if v := metric(second, "seconds_total", map[string]string{"mode": "user"}); v != 5600.28 {
		t.Errorf("user seconds %v", v)
	}
	for _, m := range second.Metrics {
		if m.Name == "seconds_total" && (!m.Counter || m.Unit != "seconds") {
			t.Errorf("%+v is not a counter in seconds", m)
		}
	}
	// Counters that go back (a CPU went offline) fall back to since boot.
	writeFile(t, root, "proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\n")
	third := collect(t, r, "cpu")
	if *third.Value != 20 || !strings.Contains(third.Message, "since boot") {
		t.Errorf("after counters went back: %v %q", *third.Value, third.Message)
	}
}

func TestNetworkRates(t *testing.T) {
	root := copyFixture(t)
	r := steppedRegistry(t, root, 10*time.Second)
	first := collect(t, r, "network")
	if first.Value != nil || !strings.HasPrefix(first.Message, "since boot: eth0 rx 401.3 MiB") {
		t.Errorf("first sample: %+v", first)
	}
	for _, m := range first.Metrics {
		if m.Labels["interface"] == "lo" {
			t.Error("lo reported without IncludeLoopback")
		}
		if !m.Counter {
			t.Errorf("%+v is not a counter", m)
		}
	}
	// eth0 +10240 rx, +2048 tx, 2 new errors in 10 s; wlp3s0 reset to 0.
	writeFile(t, root, "proc/net/dev", "h1\nh2\n    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n  eth0: 420786679 29733 4 1 0 0 0 0 2769947 28549 0 3 0 0 0 0\nwlp3s0: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n")
	second := collect(t, r, "network")
	if second.Value == nil || *second.Value != 1228.8 {
		t.Fatalf("rate: %+v", second)
	}
	if v := metric(second, "receive_bytes_per_second", map[string]string{"interface": "eth0"}); v != 1024 {
		t.Errorf("eth0 rx rate %v", v)
	}
	if v := metric(second, "receive_bytes_per_second", map[string]string{"interface": "wlp3s0"}); v != -1 {
		t.Errorf("wlp3s0 has a rate after a counter reset: %v", v)
	}
	if !strings.Contains(second.Message, "eth0 rx 1.0 KiB/s tx 205 B/s, 2 new errors; wlp3s0 counters reset") {
		t.Errorf("message %q", second.Message)
	}

	withLo := NewRegistry(Options{Root: root, IncludeLoopback: true})
	if v := metric(collect(t, withLo, "network"), "receive_bytes_total", map[string]string{"interface": "lo"}); v != 1 {
		t.Errorf("IncludeLoopback: lo rx %v", v)
	}
}

func TestParseNetDev(t *testing.T) {
	devs, err := ParseNetDev([]byte("h1\nh2\nveth-very-long0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := NetDev{Interface: "veth-very-long0", RxBytes: 1, RxPackets: 2, RxErrors: 3, RxDrops: 4, TxBytes: 9, TxPackets: 10, TxErrors: 11, TxDrops: 12}
	if len(devs) != 1 || devs[0] != want {
		t.Errorf("ParseNetDev = %+v", devs)
	}
	for _, bad := range []string{"h\nh\neth0 1 2 3\n", "h\nh\neth0: 1 2 3\n", "h\nh\n: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", "h\nh\neth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n"} {
		if _, err := ParseNetDev([]byte(bad)); err == nil {
			t.Errorf("ParseNetDev(%q): no error", bad)
		}
	}
}

func TestProcessesCPUSincePreviousSample(t *testing.T) {
	root := copyFixture(t)
	r := steppedRegistry(t, root, 10*time.Second)
	collect(t, r, "processes")
	// pid 42 used 5 s of CPU in 10 s; pid 1 was replaced by a new process
	// with the same pid (another start time) that used 1 s; pid 900 is new.
	writeFile(t, root, "proc/42/stat", "42 (my (weird) proc) R 1 42 42 0 -1 4194304 100 0 0 0 200400 50100 0 0 20 0 4 0 1000000 3133440 250000 1\n")
	writeFile(t, root, "proc/1/stat", "1 (init2) S 0 1 1 0 -1 0 0 0 0 0 50 50 0 0 20 0 1 0 27390000 0 100 1\n")
	writeFile(t, root, "proc/900/stat", "900 (<b>html</b>) D 1 1 1 0 -1 0 0 0 0 0 20 0 0 0 20 0 1 0 27390500 0 10 1\n")
	col := collect(t, r, "processes")
	want := "4 processes (1 running, 1 blocked, 1 zombie); top cpu: my (weird) proc 50.0%, init2 10.0%, <b>html</b> 2.0%; top memory: my (weird) proc 976.6 MiB, init2 400.0 KiB, <b>html</b> 40.0 KiB"
	if col.Message != want {
		t.Errorf("message\n got %q\nwant %q", col.Message, want)
	}
	if *col.Value != 4 || metric(col, "count_by_state", map[string]string{"state": "zombie"}) != 1 || metric(col, "threads", nil) != 7 {
		t.Errorf("counts: %+v", col)
	}
}

//go:build linux

package collect

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// TestRealSystem runs every collector on this machine's /proc and checks the
// values are sane.
func TestRealSystem(t *testing.T) {
	r := NewRegistry(Options{})
	get := func(name string) Collected { return collect(t, r, name) }

	if col := get("uptime"); col.Value == nil || *col.Value <= 0 {
		t.Errorf("uptime: %+v", col)
	}
	if col := get("load"); col.Value == nil || *col.Value < 0 || !strings.HasPrefix(col.Message, "load average: ") {
		t.Errorf("load: %+v", col)
	}
	mem := get("memory")
	if mem.Value == nil || *mem.Value <= 0 || *mem.Value > 100 {
		t.Errorf("memory: %+v", mem)
	}
	if m := metric(mem, "total_bytes", nil); m <= 0 {
		t.Errorf("memory total %v", m)
	}
	cpu := get("cpu")
	if cpu.Value == nil || *cpu.Value < 0 || *cpu.Value > 100 || metric(cpu, "cpus", nil) < 1 {
		t.Errorf("cpu: %+v", cpu)
	}
	cpu = get("cpu") // the second sample compares with the first
	if cpu.Value == nil || *cpu.Value < 0 || *cpu.Value > 100 {
		t.Errorf("cpu again: %+v", cpu)
	}
	disk := get("disk")
	if disk.Value == nil || *disk.Value < 0 || *disk.Value > 100 || len(disk.Metrics) == 0 {
		t.Errorf("disk: want at least one mount, got %+v", disk)
	}
	if metric(disk, "size_bytes", map[string]string{"mount": "/"}) <= 0 {
		t.Errorf("disk: / has no size: %+v", disk.Metrics)
	}
	net := get("network")
	for _, m := range net.Metrics {
		if m.Labels["interface"] == "lo" {
			t.Errorf("network reports lo by default")
		}
	}
	if col := get("network"); col.Value == nil || *col.Value < 0 {
		t.Errorf("network second sample has no rate: %+v", col)
	}
	procs := get("processes")
	if procs.Value == nil || *procs.Value < 1 || !strings.Contains(procs.Message, "top memory: ") {
		t.Errorf("processes: %+v", procs)
	}
	if col := get("users"); col.Value == nil || *col.Value < 0 {
		t.Errorf("users: %+v", col)
	}
	if col := get("syslog"); col.Message == "" {
		t.Errorf("syslog: empty message")
	}
}

// TestConcurrentCollect calls every collector from several goroutines; run
// with -race it checks the collectors' state is guarded.
func TestConcurrentCollect(t *testing.T) {
	r := NewRegistry(Options{})
	var wg sync.WaitGroup
	for range 4 {
		for _, name := range r.Names() {
			c, _ := r.Lookup(name)
			wg.Go(func() {
				for range 3 {
					if _, err := c.Collect(context.Background()); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
			})
		}
	}
	wg.Wait()
}

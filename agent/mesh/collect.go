package mesh

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prophasis/prophasis/agent/collect"
	"github.com/prophasis/prophasis/wire"
)

// CollectStatus returns a StatusFunc that takes this host's status with
// the agent's built-in collectors (reg; collect.Default() for the real
// host) and the check states in checks (may be nil). A collector that
// fails leaves its fields zero.
//
// The top processes and error lines come from the processes and syslog
// collectors' messages ("top cpu: name 1.2%, ..."; "last: line | line"),
// the only place those collectors give them.
func CollectStatus(reg *collect.Registry, checks *CheckStates) StatusFunc {
	return func(ctx context.Context) Status {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var s Status
		get := func(name string) (collect.Collected, bool) {
			c, ok := reg.Lookup(name)
			if !ok {
				return collect.Collected{}, false
			}
			col, err := c.Collect(ctx)
			return col, err == nil
		}
		if c, ok := get("uptime"); ok && c.Value != nil {
			s.Uptime = time.Duration(*c.Value * float64(time.Second))
		}
		if c, ok := get("load"); ok {
			s.Load1, s.Load5, s.Load15 = metric(c, "load1"), metric(c, "load5"), metric(c, "load15")
		}
		if c, ok := get("memory"); ok {
			s.MemUsed, s.MemTotal = uint64(metric(c, "used_bytes")), uint64(metric(c, "total_bytes"))
		}
		if c, ok := get("cpu"); ok {
			s.CPU = metric(c, "utilisation_percent")
		}
		if c, ok := get("network"); ok {
			s.RxBytesPerSec, s.TxBytesPerSec = uint64(metric(c, "receive_bytes_per_second")), uint64(metric(c, "transmit_bytes_per_second"))
		}
		if c, ok := get("users"); ok {
			s.Users = int(metric(c, "sessions"))
		}
		if c, ok := get("processes"); ok {
			s.Processes = parseTopProcesses(c.Message)
		}
		if c, ok := get("syslog"); ok {
			if _, last, found := strings.Cut(c.Message, "; last: "); found {
				s.Errors = strings.Split(last, " | ")
			}
		}
		if checks != nil {
			s.Checks = checks.List()
		}
		return s
	}
}

// metric sums the collector's metrics called name (over interfaces, say).
func metric(c collect.Collected, name string) float64 {
	var sum float64
	for _, m := range c.Metrics {
		if m.Name == name {
			sum += m.Value
		}
	}
	return sum
}

// parseTopProcesses reads the processes collector's message:
// "N processes (...); top cpu: a 12.5%, b 1.0%; top memory: a 1.2 GiB, c 300.0 MiB".
func parseTopProcesses(msg string) []Process {
	var procs []Process
	rss := map[string]uint64{}
	for _, part := range strings.Split(msg, "; ") {
		switch {
		case strings.HasPrefix(part, "top cpu: "):
			for _, item := range strings.Split(strings.TrimPrefix(part, "top cpu: "), ", ") {
				i := strings.LastIndexByte(item, ' ')
				if i <= 0 {
					continue
				}
				cpu, err := strconv.ParseFloat(strings.TrimSuffix(item[i+1:], "%"), 64)
				if err == nil {
					procs = append(procs, Process{Name: item[:i], CPU: cpu})
				}
			}
		case strings.HasPrefix(part, "top memory: "):
			for _, item := range strings.Split(strings.TrimPrefix(part, "top memory: "), ", ") {
				f := strings.Fields(item)
				if len(f) < 3 {
					continue
				}
				if b, ok := parseHumanBytes(f[len(f)-2], f[len(f)-1]); ok {
					rss[strings.Join(f[:len(f)-2], " ")] = b
				}
			}
		}
	}
	for i := range procs {
		procs[i].RSS = rss[procs[i].Name]
	}
	return procs
}

func parseHumanBytes(num, unit string) (uint64, bool) {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	i := strings.Index("BKMGTPE", unit[:1])
	if i < 0 {
		return 0, false
	}
	for range i {
		f *= 1024
	}
	return uint64(f), true
}

// CheckStates holds the latest state of each check the agent runs, for the
// status. Safe for concurrent use.
type CheckStates struct {
	mu     sync.Mutex
	states map[string]State
}

// Set records a result: name is "check/plugin", exit the plugin's exit
// status (0 ok, 1 warning, 2 critical, anything else unknown).
func (c *CheckStates) Set(name string, exit int) {
	st := StateUnknown
	if exit >= 0 && exit <= 2 {
		st = State(exit)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.states == nil {
		c.states = make(map[string]State)
	}
	c.states[name] = st
}

// SetResult records a plugin result.
func (c *CheckStates) SetResult(r wire.Result) {
	name := r.Plugin
	if r.Check != "" {
		name = r.Check + "/" + r.Plugin
	}
	c.Set(name, r.ExitStatus)
}

// List returns the states (in no particular order; Status sorts them).
func (c *CheckStates) List() []Check {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Check, 0, len(c.states))
	for n, s := range c.states {
		out = append(out, Check{Name: n, State: s})
	}
	return out
}

package collect

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/prophasis/prophasis/wire"
)

// userHZ is the unit of the CPU times in /proc/stat: clock ticks of
// 1/USER_HZ seconds. USER_HZ is part of the kernel's user-space ABI and is
// 100 on every architecture Prophasis builds for (x86, arm, arm64, riscv,
// ppc, s390; only alpha and ia64 used 1024), whatever CONFIG_HZ the kernel
// runs with. sysconf(_SC_CLK_TCK) would say the same but needs cgo.
const userHZ = 100

// cpuModes names the fields of a /proc/stat "cpu" line, in order.
var cpuModes = [...]string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice"}

// CPUTimes are the seconds all CPUs together spent in each mode since boot,
// indexed like the fields of /proc/stat's "cpu" line (user, nice, system,
// idle, iowait, irq, softirq, steal, guest, guest_nice).
type CPUTimes [len(cpuModes)]float64

// busy and total are seconds; guest time is already counted in user and
// nice, so it is left out of the total.
func (t CPUTimes) total() float64 {
	var s float64
	for i := 0; i < 8; i++ {
		s += t[i]
	}
	return s
}

func (t CPUTimes) idle() float64 { return t[3] + t[4] }

// Stat is the part of /proc/stat the cpu collector reports.
type Stat struct {
	// CPU is the aggregate "cpu" line in seconds.
	CPU CPUTimes
	// CPUs is the number of "cpuN" lines: the CPUs online.
	CPUs int
	// ContextSwitches, Interrupts and Forks count since boot.
	ContextSwitches, Interrupts, Forks float64
	// BootTime is the boot time in seconds since the Unix epoch.
	BootTime float64
	// Running and Blocked are the tasks runnable and blocked on I/O now.
	Running, Blocked float64
}

// ParseStat parses /proc/stat. The aggregate "cpu" line is required; its
// fields beyond those an old kernel provides are zero.
func ParseStat(b []byte) (Stat, error) {
	var s Stat
	var haveCPU bool
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		key, rest, _ := bytes.Cut(line, []byte{' '})
		switch {
		case string(key) == "cpu":
			fields := bytes.Fields(rest)
			if len(fields) < 4 {
				return Stat{}, fmt.Errorf("parse stat: cpu line has %d fields, want at least 4", len(fields))
			}
			for i := 0; i < len(fields) && i < len(cpuModes); i++ {
				v, err := strconv.ParseUint(string(fields[i]), 10, 64)
				if err != nil {
					return Stat{}, fmt.Errorf("parse stat: cpu %s: %w", cpuModes[i], err)
				}
				s.CPU[i] = float64(v) / userHZ
			}
			haveCPU = true
		case bytes.HasPrefix(key, []byte("cpu")):
			s.CPUs++
		case string(key) == "ctxt":
			s.ContextSwitches = statUint(rest)
		case string(key) == "intr":
			// The first number is the total; the rest are per IRQ.
			first, _, _ := bytes.Cut(bytes.TrimSpace(rest), []byte{' '})
			s.Interrupts = statUint(first)
		case string(key) == "processes":
			s.Forks = statUint(rest)
		case string(key) == "btime":
			s.BootTime = statUint(rest)
		case string(key) == "procs_running":
			s.Running = statUint(rest)
		case string(key) == "procs_blocked":
			s.Blocked = statUint(rest)
		}
	}
	if !haveCPU {
		return Stat{}, fmt.Errorf("parse stat: no cpu line")
	}
	return s, nil
}

// statUint parses an optional counter; garbage reads as 0, since only the
// cpu line is essential.
func statUint(b []byte) float64 {
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0
	}
	return float64(v)
}

// cpuCollector reports CPU times as counters and the utilisation since its
// previous run (since boot on the first run); its value is that utilisation
// in percent of all CPUs.
type cpuCollector struct {
	env env

	mu   sync.Mutex
	prev CPUTimes
	have bool
}

func (*cpuCollector) Name() string { return "cpu" }

func (c *cpuCollector) Collect(context.Context) (Collected, error) {
	b, err := c.env.read("proc/stat")
	if err != nil {
		return Collected{}, err
	}
	s, err := ParseStat(b)
	if err != nil {
		return Collected{}, err
	}

	c.mu.Lock()
	prev, since := c.prev, "since the previous sample"
	if !c.have {
		prev, since = CPUTimes{}, "since boot"
	}
	c.prev, c.have = s.CPU, true
	c.mu.Unlock()

	total := s.CPU.total() - prev.total()
	idle := s.CPU.idle() - prev.idle()
	if total <= 0 || idle < 0 || idle > total {
		// No tick passed, or the counters went back (a CPU went
		// offline): measure since boot rather than report nonsense.
		total, idle, since = s.CPU.total(), s.CPU.idle(), "since boot"
	}
	var util, iowait, steal float64
	if total > 0 {
		util = 100 * (total - idle) / total
		iowait = 100 * (s.CPU[4] - prev[4]) / total
		steal = 100 * (s.CPU[7] - prev[7]) / total
		if since == "since boot" {
			iowait, steal = 100*s.CPU[4]/total, 100*s.CPU[7]/total
		}
	}

	ms := make([]wire.Metric, 0, len(cpuModes)+6)
	for i, mode := range cpuModes {
		ms = append(ms, counter("seconds_total", "seconds", s.CPU[i], "mode", mode))
	}
	ms = append(ms,
		gauge("utilisation_percent", "percent", util),
		gauge("cpus", "", float64(s.CPUs)),
		counter("context_switches_total", "", s.ContextSwitches),
		counter("interrupts_total", "", s.Interrupts),
		counter("forks_total", "", s.Forks),
		gauge("procs_blocked", "", s.Blocked),
	)
	return Collected{
		Value: ptr(util),
		Message: fmt.Sprintf("cpu %.1f%% busy %s (iowait %.1f%%, steal %.1f%%), %d CPUs",
			util, since, iowait, steal, s.CPUs),
		Metrics: ms,
	}, nil
}

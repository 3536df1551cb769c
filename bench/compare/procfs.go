package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// memory is a process's resident memory from /proc/PID/status.
type memory struct {
	// Peak is VmHWM, the high-water mark of the resident set.
	Peak int64
	// Now is VmRSS.
	Now int64
}

// readMemory reads VmHWM and VmRSS of pid, in bytes.
func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmHWM":
			m.Peak = n << 10
		case "VmRSS":
			m.Now = n << 10
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	if m.Peak == 0 {
		return m, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
	}
	return m, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times; it is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// readCPU returns the user+system CPU time pid has used (/proc/PID/stat
// fields 14 and 15).
func readCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU of pid %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; the fields after it
	// start after its closing parenthesis.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state), so utime (14) is fields[11].
	if len(fields) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuMeter measures the CPU a process uses between start and stop.
type cpuMeter struct {
	pid   int
	cpu0  time.Duration
	wall0 time.Time
}

func startCPU(pid int) *cpuMeter {
	c, _ := readCPU(pid)
	return &cpuMeter{pid: pid, cpu0: c, wall0: time.Now()}
}

// cores returns the CPU seconds used per wall second since start (1.0 is
// one core fully busy) and the CPU time used.
func (m *cpuMeter) cores() (float64, time.Duration) {
	c, err := readCPU(m.pid)
	if err != nil {
		return 0, 0
	}
	used := c - m.cpu0
	return used.Seconds() / time.Since(m.wall0).Seconds(), used
}

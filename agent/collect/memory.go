package collect

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/prophasis/prophasis/wire"
)

// Meminfo is the part of /proc/meminfo the memory collector reports, in
// bytes.
type Meminfo struct {
	Total, Free, Available, Buffers, Cached, SReclaimable float64
	SwapTotal, SwapFree                                   float64
	// HasAvailable is false on kernels older than 3.14, which lack
	// MemAvailable; Available is then estimated (see ParseMeminfo).
	HasAvailable bool
}

// Used is memory in use: total minus available, as procps-ng's free(1)
// counts it. Caches the kernel can drop are not "used".
func (m Meminfo) Used() float64 {
	if u := m.Total - m.Available; u > 0 {
		return u
	}
	return 0
}

// UsedPercent is Used as a percentage of Total; 0 when Total is 0.
func (m Meminfo) UsedPercent() float64 {
	if m.Total <= 0 {
		return 0
	}
	// min: 100*x/x is not always exactly 100 in floating point.
	return min(100*m.Used()/m.Total, 100)
}

// ParseMeminfo parses /proc/meminfo. Values are converted from kB (the
// kernel's "kB" means KiB) to bytes. MemTotal is required; when MemAvailable
// is missing, Available is MemFree + Buffers + Cached + SReclaimable, the
// old free(1) estimate.
func ParseMeminfo(b []byte) (Meminfo, error) {
	var m Meminfo
	var haveTotal bool
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		key, rest, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var dst *float64
		switch string(key) {
		case "MemTotal":
			dst, haveTotal = &m.Total, true
		case "MemFree":
			dst = &m.Free
		case "MemAvailable":
			dst, m.HasAvailable = &m.Available, true
		case "Buffers":
			dst = &m.Buffers
		case "Cached":
			dst = &m.Cached
		case "SReclaimable":
			dst = &m.SReclaimable
		case "SwapTotal":
			dst = &m.SwapTotal
		case "SwapFree":
			dst = &m.SwapFree
		default:
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) == 0 {
			return Meminfo{}, fmt.Errorf("parse meminfo: %s has no value", key)
		}
		v, err := strconv.ParseUint(string(fields[0]), 10, 64)
		if err != nil {
			return Meminfo{}, fmt.Errorf("parse meminfo: %s: %w", key, err)
		}
		mul := 1.0
		if len(fields) > 1 && string(fields[1]) == "kB" {
			mul = 1024
		}
		*dst = float64(v) * mul
	}
	if !haveTotal {
		return Meminfo{}, fmt.Errorf("parse meminfo: no MemTotal")
	}
	if !m.HasAvailable {
		m.Available = min(m.Total, m.Free+m.Buffers+m.Cached+m.SReclaimable)
	}
	return m, nil
}

// memoryCollector reports memory and swap; its value is used memory in
// percent.
type memoryCollector struct{ env env }

func (*memoryCollector) Name() string { return "memory" }

func (c *memoryCollector) Collect(context.Context) (Collected, error) {
	b, err := c.env.read("proc/meminfo")
	if err != nil {
		return Collected{}, err
	}
	m, err := ParseMeminfo(b)
	if err != nil {
		return Collected{}, err
	}
	swapUsed := max(0, m.SwapTotal-m.SwapFree)
	msg := fmt.Sprintf("memory %.1f%% used (%s of %s)", m.UsedPercent(), humanBytes(m.Used()), humanBytes(m.Total))
	if m.SwapTotal > 0 {
		msg += fmt.Sprintf(", swap %s of %s used", humanBytes(swapUsed), humanBytes(m.SwapTotal))
	} else {
		msg += ", no swap"
	}
	return Collected{
		Value:   ptr(m.UsedPercent()),
		Message: msg,
		Metrics: []wire.Metric{
			gauge("total_bytes", "bytes", m.Total),
			gauge("available_bytes", "bytes", m.Available),
			gauge("used_bytes", "bytes", m.Used()),
			gauge("free_bytes", "bytes", m.Free),
			gauge("buffers_bytes", "bytes", m.Buffers),
			gauge("cached_bytes", "bytes", m.Cached),
			gauge("used_percent", "percent", m.UsedPercent()),
			gauge("swap_total_bytes", "bytes", m.SwapTotal),
			gauge("swap_free_bytes", "bytes", m.SwapFree),
			gauge("swap_used_bytes", "bytes", swapUsed),
		},
	}, nil
}

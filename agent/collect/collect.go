// Package collect holds prophasis-agent's built-in collectors: uptime, load,
// memory, CPU times, network, disk usage, logged-in users, processes and
// recent syslog errors. They read /proc, utmp and log files directly, never
// starting a process, so they are cheap enough to run every minute on every
// host. Their results are also the status fields the mesh gossips.
//
// Each collector yields a value, a message and metrics, like a plugin run:
//
//	uptime     seconds since boot
//	load       load1; message "load average: 0.52, 0.48, 0.41"
//	memory     used percent (total minus available, as free(1) counts it)
//	cpu        busy percent since the previous run (since boot on the first)
//	network    received plus transmitted bytes per second since the previous
//	           run (none on the first); lo is left out unless asked
//	disk       the highest used percent of any real filesystem; the message
//	           names that mount (pseudo, memory-backed, overlay and squashfs
//	           filesystems are left out: see skippedFSTypes in disk.go)
//	users      login sessions in utmp
//	processes  number of processes; the message names the top five by CPU
//	           and by resident memory
//	syslog     error lines at the end of /var/log/syslog or /var/log/messages
//
// Metric names follow Prometheus conventions (used_bytes, seconds_total) and
// become prophasis_<collector>_<name> on the server; counters are marked as
// such, so graphs show them as rates.
//
// Only the agent (agent and its sub-packages, cmd/prophasis-agent) may import
// this package. It imports nothing but the standard library and wire, so the
// agent binary stays small.
//
// The collectors work on Linux. On other systems every Collect returns an
// error wrapping ErrNotSupported; the parsers (ParseMeminfo, ParseStat...) are
// plain Go and work everywhere.
package collect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/prophasis/prophasis/wire"
)

// ErrNotSupported is returned by every collector on an operating system other
// than Linux.
var ErrNotSupported = errors.New("built-in collectors are not supported on " + runtime.GOOS)

// Collected is the outcome of one collector run: the same three parts a
// plugin run yields (see wire.Result).
type Collected struct {
	// Value is the collector's main value (load1, used memory percent...);
	// nil when there is none this time (no syslog file, say).
	Value *float64
	// Message is a short human-readable summary.
	Message string
	// Metrics are the extra named values, stored as
	// prophasis_<collector>_<name>.
	Metrics []wire.Metric
}

// Collector is one built-in collector.
//
// Collect must be safe for concurrent use: the agent's runner calls one
// collector at a time, but the mesh or a status page may call too. Collectors
// that compare with their previous run (cpu, network, processes) keep that
// state behind a mutex.
type Collector interface {
	// Name is the collector's name in the registry ("load", "memory"...).
	Name() string
	// Collect takes one sample. A returned error means no result at all;
	// partial failures (one unreadable mount) are reported in the message.
	Collect(ctx context.Context) (Collected, error)
}

// Options configure a Registry's collectors.
type Options struct {
	// Root is the directory under which proc, run/utmp, var/run/utmp and
	// var/log are read and mount points are statted; "" means "/". Tests
	// point it at a fixture tree; an agent in a container can point it at
	// the host's root mounted read-only.
	Root string
	// Now returns the current time; nil means time.Now. Rates (network,
	// per-process CPU) and the boot time are computed with it.
	Now func() time.Time
	// IncludeLoopback makes the network collector report lo as well.
	IncludeLoopback bool
	// SyslogTailBytes is how much of the end of the syslog file is read;
	// 0 means DefaultSyslogTailBytes.
	SyslogTailBytes int
	// statfs replaces the statfs system call in tests.
	statfs func(path string) (FSStats, error)
	// pageSize replaces the system's page size in tests.
	pageSize int
}

// env is what every collector shares: where to read and what time it is.
type env struct {
	root string
	now  func() time.Time
}

func (e env) path(rel string) string { return filepath.Join(e.root, rel) }

func (e env) read(rel string) ([]byte, error) {
	b, err := os.ReadFile(e.path(rel))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	return b, nil
}

// gauge and counter build metrics; labels come in name, value pairs.
func gauge(name, unit string, v float64, labels ...string) wire.Metric {
	m := wire.Metric{Name: name, Value: v, Unit: unit}
	if len(labels) > 0 {
		m.Labels = make(map[string]string, len(labels)/2)
		for i := 0; i+1 < len(labels); i += 2 {
			m.Labels[labels[i]] = labels[i+1]
		}
	}
	return m
}

func counter(name, unit string, v float64, labels ...string) wire.Metric {
	m := gauge(name, unit, v, labels...)
	m.Counter = true
	return m
}

func ptr(v float64) *float64 { return &v }

// finite reports whether v can go into a result: the server rejects NaN and
// infinities, and so must the parsers fed garbage.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// parseFloat parses a decimal number from /proc, refusing NaN and infinities.
func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if !finite(v) {
		return 0, fmt.Errorf("not a finite number: %q", s)
	}
	return v, nil
}

// humanBytes formats a byte count with binary prefixes: "1.5 GiB".
func humanBytes(b float64) string {
	const unit = 1024
	if b < unit {
		return strconv.FormatFloat(b, 'f', 0, 64) + " B"
	}
	div, exp := float64(unit), 0
	for n := b / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(b/div, 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}

// truncate shortens s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

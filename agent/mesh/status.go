package mesh

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a Status, enforced by the encoder (which trims) and the
// decoder (which refuses). They keep one status within MaxStatusBytes
// and a page of 500 hosts readable.
const (
	MaxStatusBytes  = 4096 // an encoded status, whatever its content
	MaxHostLen      = 253  // a DNS name
	MaxProcesses    = 5    // top processes by CPU
	MaxProcNameLen  = 64
	MaxErrorLines   = 5   // last error log lines
	MaxErrorLineLen = 200 // bytes, cut at a rune boundary
	MaxChecks       = 64
	MaxCheckNameLen = 128
)

// State is a check's state as the agent last saw it.
type State uint8

// The states of a check, as the plugin conventions (Nagios exit codes) have them.
const (
	StateOK State = iota
	StateWarning
	StateCritical
	StateUnknown
)

var stateNames = [...]string{"ok", "warning", "critical", "unknown"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "invalid"
}

// MarshalText writes the state's name, for status.json.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Process is one of the host's top processes by CPU.
type Process struct {
	Name string  `json:"name"`
	CPU  float64 `json:"cpu_percent"` // of one CPU: a busy two-thread process shows 200
	RSS  uint64  `json:"rss_bytes"`
}

// Check is the state of one check (or plugin) the agent runs.
type Check struct {
	Name  string `json:"name"` // "check/plugin"
	State State  `json:"state"`
}

// Status is what an agent shares about its host. It is small on purpose:
// every peer keeps the last few of every host.
type Status struct {
	Host string `json:"host"`
	// Seq orders the statuses of one host; the agent starts it at its start
	// time in nanoseconds, so it keeps growing across restarts. A status
	// whose Seq is not above the last one seen is a replay (or a late
	// duplicate) and is dropped.
	Seq uint64 `json:"seq"`
	// Time is when the status was taken (millisecond precision on the wire).
	Time          time.Time     `json:"time"`
	Uptime        time.Duration `json:"uptime_ns"`
	Load1         float64       `json:"load1"`
	Load5         float64       `json:"load5"`
	Load15        float64       `json:"load15"`
	MemUsed       uint64        `json:"memory_used_bytes"`
	MemTotal      uint64        `json:"memory_total_bytes"`
	CPU           float64       `json:"cpu_percent"` // busy share of all CPUs, 0-100
	RxBytesPerSec uint64        `json:"rx_bytes_per_second"`
	TxBytesPerSec uint64        `json:"tx_bytes_per_second"`
	Users         int           `json:"users"` // login sessions
	Processes     []Process     `json:"processes,omitempty"`
	Errors        []string      `json:"errors,omitempty"` // last error log lines, oldest first
	Checks        []Check       `json:"checks,omitempty"`
}

// normalize returns s within the limits: strings made printable UTF-8 and
// cut, lists cut, numbers clamped; checks sorted worst first (so trimming
// keeps the interesting ones), then by name.
func (s Status) normalize() Status {
	s.Host = cleanString(s.Host, MaxHostLen)
	s.Uptime = max(s.Uptime, 0).Truncate(time.Second)
	s.Time = s.Time.Truncate(time.Millisecond)
	s.Load1, s.Load5, s.Load15 = clampFloat(s.Load1), clampFloat(s.Load5), clampFloat(s.Load15)
	s.CPU = min(clampFloat(s.CPU), 100)
	// Memory travels in MiB.
	s.MemUsed, s.MemTotal = min(s.MemUsed, s.MemTotal)>>20<<20, s.MemTotal>>20<<20
	s.Users = max(0, min(s.Users, math.MaxUint16))
	procs := make([]Process, 0, min(len(s.Processes), MaxProcesses))
	for _, p := range s.Processes[:min(len(s.Processes), MaxProcesses)] {
		procs = append(procs, Process{Name: cleanString(p.Name, MaxProcNameLen), CPU: clampFloat(p.CPU), RSS: p.RSS})
	}
	s.Processes = procs
	errs := s.Errors[max(0, len(s.Errors)-MaxErrorLines):]
	s.Errors = make([]string, len(errs))
	for i, e := range errs {
		s.Errors[i] = cleanString(e, MaxErrorLineLen)
	}
	checks := make([]Check, 0, len(s.Checks))
	for _, c := range s.Checks {
		if c.State > StateUnknown {
			c.State = StateUnknown
		}
		checks = append(checks, Check{Name: cleanString(c.Name, MaxCheckNameLen), State: c.State})
	}
	slices.SortFunc(checks, func(a, b Check) int {
		return cmp.Or(cmp.Compare(severity(b.State), severity(a.State)), strings.Compare(a.Name, b.Name))
	})
	s.Checks = checks[:min(len(checks), MaxChecks)]
	// Empty lists are nil, as the decoder leaves them.
	if len(s.Processes) == 0 {
		s.Processes = nil
	}
	if len(s.Errors) == 0 {
		s.Errors = nil
	}
	if len(s.Checks) == 0 {
		s.Checks = nil
	}
	return s
}

// severity ranks states for sorting: critical, warning, unknown, ok.
func severity(s State) int {
	return [...]int{0, 2, 3, 1}[s]
}

// clampFloat maps NaN, infinities and negatives to 0 and caps at 1e6, so a
// broken collector cannot put nonsense on the wire.
func clampFloat(f float64) float64 {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return min(f, 1e6)
}

// cleanString replaces invalid UTF-8 and control characters and cuts s to
// at most n bytes at a rune boundary.
func cleanString(s string, n int) string {
	if validString(s, n) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validString reports whether s is valid UTF-8 without control characters
// and at most n bytes: what the decoder accepts.
func validString(s string, n int) bool {
	if len(s) > n || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// UnmarshalText reads a state's name, for the state file.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if string(b) == n {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("unknown check state %q", b)
}

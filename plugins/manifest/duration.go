package manifest

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Defaults of the manifest's durations.
const (
	// DefaultInterval is the schedule period of a plugin that names none:
	// a minute is the grain of most dashboards.
	DefaultInterval = time.Minute
	// DefaultTimeout is the agent's default run time limit (docs/agent.md).
	DefaultTimeout = 10 * time.Second
	// MaxTimeout bounds Timeout, as the store bounds a plugin's timeout.
	MaxTimeout = time.Hour
	// MinInterval and MaxInterval bound Interval.
	MinInterval = time.Second
	MaxInterval = 31 * 24 * time.Hour
)

// ParseDuration parses a Go duration ("90s", "1h30m") that may start with
// a number of days ("1d", "2d12h", "1.5d"). Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("must not be negative")
	}
	rest := s
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || s[:i] == "" || strings.ContainsAny(s[:i], "eEinfINFxXpP_+-") || math.IsNaN(n) {
			return 0, errors.New("not a duration (like 30s, 5m, 1h30m, 2d)")
		}
		if n*24 > float64(math.MaxInt64/int64(time.Hour)) {
			return 0, errors.New("too long")
		}
		days = time.Duration(n * 24 * float64(time.Hour))
		rest = s[i+1:]
		if rest == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil || strings.HasPrefix(rest, "+") || strings.HasPrefix(rest, "-") {
		return 0, errors.New("not a duration (like 30s, 5m, 1h30m, 2d)")
	}
	if d > math.MaxInt64-days {
		return 0, errors.New("too long")
	}
	return days + d, nil
}

// IntervalDuration returns Interval as a duration, or DefaultInterval when
// it is empty or invalid (Validate reports the latter).
func (m Manifest) IntervalDuration() time.Duration {
	if d, err := ParseDuration(m.Interval); err == nil && m.Interval != "" && d > 0 {
		return d
	}
	return DefaultInterval
}

// TimeoutDuration returns Timeout as a duration, or DefaultTimeout when it
// is empty or invalid (Validate reports the latter).
func (m Manifest) TimeoutDuration() time.Duration {
	if d, err := ParseDuration(m.Timeout); err == nil && m.Timeout != "" && d > 0 {
		return d
	}
	return DefaultTimeout
}

// HistoryN returns History, or DefaultHistory when it is 0.
func (m Manifest) HistoryN() int {
	if m.History <= 0 {
		return DefaultHistory
	}
	return m.History
}

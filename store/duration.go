package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a length of time written, in YAML and JSON, as a string of
// numbers with units: "500ms", "30s", "5m", "1h30m", "2d", "1w". Units are ms,
// s, m, h, d (24 h) and w (7 d), largest first, each at most once, as in
// Prometheus. It is written back in the shortest such form ("90s" is "1m30s").
type Duration time.Duration

// durationUnits are the units in the order they must appear.
var durationUnits = []struct {
	name string
	d    time.Duration
}{
	{"w", 7 * 24 * time.Hour},
	{"d", 24 * time.Hour},
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
}

// maxDuration bounds every duration in the configuration (about 100 years), so
// arithmetic on them never overflows.
const maxDuration = 100 * 365 * 24 * time.Hour

// ParseDuration parses a Duration ("0" and "0s" are zero).
func ParseDuration(s string) (Duration, error) {
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	rest := s
	next := 0 // index into durationUnits of the smallest unit still allowed
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("duration %q: expected a number at %q", s, rest)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64(maxDuration/time.Millisecond) {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		unit := rest[:j]
		rest = rest[j:]
		found := false
		for k := next; k < len(durationUnits); k++ {
			if durationUnits[k].name == unit {
				found, next = true, k+1
				total += time.Duration(n) * durationUnits[k].d
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("duration %q: unknown or misplaced unit %q (use w, d, h, m, s, ms, largest first, e.g. \"1h30m\")", s, unit)
		}
		if total > maxDuration || total < 0 {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
	}
	return Duration(total), nil
}

// String writes the duration in the form ParseDuration reads, "0s" for zero.
func (d Duration) String() string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	v := time.Duration(d)
	if v < 0 {
		b.WriteByte('-')
		v = -v
	}
	for _, u := range durationUnits {
		if n := v / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			v -= n * u.d
		}
	}
	if v > 0 { // sub-millisecond rest: not produced by ParseDuration
		b.WriteString(v.String())
	}
	return b.String()
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"30s\" or \"5m\", not %s", b)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int") {
		return fmt.Errorf("line %d: a duration must be a string such as \"30s\" or \"5m\"", n.Line)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

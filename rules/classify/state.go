package classify

import "fmt"

// State is a classified state. Its numeric values are those of the
// prophasis_state series: 0 ok, 1 minor, 2 major, 3 critical, -1 unknown.
type State int8

// The states a classifier may return, ordered ok < minor < major < critical;
// Unknown stands apart (no data, stale data or a classifier error).
const (
	Unknown  State = -1
	OK       State = 0
	Minor    State = 1
	Major    State = 2
	Critical State = 3
)

// String returns the state's name as classifiers spell it ("ok", "minor", ...).
func (s State) String() string {
	switch s {
	case OK:
		return "ok"
	case Minor:
		return "minor"
	case Major:
		return "major"
	case Critical:
		return "critical"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("state(%d)", int8(s))
}

// ParseState returns the State named s, or false when s names none of them.
func ParseState(s string) (State, bool) {
	switch s {
	case "ok":
		return OK, true
	case "minor":
		return Minor, true
	case "major":
		return Major, true
	case "critical":
		return Critical, true
	case "unknown":
		return Unknown, true
	}
	return Unknown, false
}

// MarshalText encodes the state as its name, so JSON shows "critical".
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state's name.
func (s *State) UnmarshalText(b []byte) error {
	st, ok := ParseState(string(b))
	if !ok {
		return fmt.Errorf("unknown state %q (want ok, minor, major, critical or unknown)", b)
	}
	*s = st
	return nil
}

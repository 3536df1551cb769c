package service

import "fmt"

// State is a service's state. Its numbers are those of the
// prophasis_service_state series: 0 ok, 1 degraded, 2 failed.
type State int8

// The service states, from best to worst.
const (
	OK       State = 0
	Degraded State = 1
	Failed   State = 2
)

// String returns the state's name: "ok", "degraded" or "failed".
func (s State) String() string {
	switch s {
	case OK:
		return "ok"
	case Degraded:
		return "degraded"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("service_state(%d)", int8(s))
}

// ParseState returns the State named s, or false when s names none.
func ParseState(s string) (State, bool) {
	switch s {
	case "ok":
		return OK, true
	case "degraded":
		return Degraded, true
	case "failed":
		return Failed, true
	}
	return OK, false
}

// MarshalText encodes the state as its name, so JSON shows "degraded".
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state's name.
func (s *State) UnmarshalText(b []byte) error {
	st, ok := ParseState(string(b))
	if !ok {
		return fmt.Errorf("unknown service state %q (want ok, degraded or failed)", b)
	}
	*s = st
	return nil
}

package state

import (
	"fmt"

	"github.com/prophasis/prophasis/rules/classify"
)

// State is a classified state (classify.State): -1 unknown, 0 ok, 1 minor,
// 2 major, 3 critical.
type State = classify.State

// Policy says how a Machine confirms states and detects flapping. The zero
// value means the defaults.
type Policy struct {
	// Attempts is how many consecutive observations of a new state confirm
	// it (Nagios's max check attempts); 0 means 1: every change at once.
	Attempts int
	// FlapWindow is how many recent observations flapping is judged over;
	// 0 means DefaultFlapWindow, 1 or less (after defaults) turns it off.
	FlapWindow int
	// FlapStart and FlapStop are the shares of changes between consecutive
	// observations in the window at which flapping starts and stops
	// (FlapStop < FlapStart: hysteresis). 0 means the defaults.
	FlapStart, FlapStop float64
}

// Defaults of Policy, after Nagios's (its thresholds are 30 % and 20 % of
// state changes over the last 21 checks).
const (
	DefaultFlapWindow = 21
	DefaultFlapStart  = 0.3
	DefaultFlapStop   = 0.2
)

// NoFlapping is a FlapWindow that turns flapping detection off.
const NoFlapping = -1

func (p Policy) withDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = 1
	}
	if p.FlapWindow == 0 {
		p.FlapWindow = DefaultFlapWindow
	}
	if p.FlapStart <= 0 {
		p.FlapStart = DefaultFlapStart
	}
	if p.FlapStop <= 0 {
		p.FlapStop = DefaultFlapStop
	}
	if p.FlapStop >= p.FlapStart {
		p.FlapStop = p.FlapStart * 2 / 3 // keep some hysteresis
	}
	return p
}

// Kind is the kind of a Transition.
type Kind uint8

// Kinds of Transition.
const (
	// Change: the confirmed state changed.
	Change Kind = iota
	// FlapStart: the subject started flapping.
	FlapStart
	// FlapStop: the subject stopped flapping.
	FlapStop
)

// String returns the kind as events name it: "state", "flapping_start",
// "flapping_stop".
func (k Kind) String() string {
	switch k {
	case Change:
		return "state"
	case FlapStart:
		return "flapping_start"
	case FlapStop:
		return "flapping_stop"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Transition is what an observation changed: an event to record.
type Transition struct {
	Kind     Kind
	From, To State
	// Time is the observation's time, milliseconds since the epoch.
	Time   int64
	Reason string
}

// Machine follows one subject. The zero value has no confirmed state yet:
// its first confirmed state is a Change from Unknown. Not safe for
// concurrent use.
type Machine struct {
	known     bool
	confirmed State
	since     int64

	pending      State
	pendingCount int

	recent []State // the last observations, oldest first, at most FlapWindow
	// flapping is set while flapping; flapFrom is the confirmed state when
	// it began.
	flapping bool
	flapFrom State
}

// Restore returns a Machine that has confirmed s since the given time (a
// state kept across a restart), flapping or not.
func Restore(s State, since int64, flapping bool) *Machine {
	return &Machine{known: true, confirmed: s, since: since, flapping: flapping, flapFrom: s}
}

// State returns the confirmed state, since when, and whether the subject is
// flapping. Before the first confirmed state it returns Unknown, 0.
func (m *Machine) State() (s State, since int64, flapping bool) {
	if !m.known {
		return classify.Unknown, 0, m.flapping
	}
	return m.confirmed, m.since, m.flapping
}

// Known reports whether the machine has confirmed a state.
func (m *Machine) Known() bool { return m.known }

// Pending returns the state waiting for confirmation and how many
// consecutive observations it has had; 0 when none is pending.
func (m *Machine) Pending() (State, int) { return m.pending, m.pendingCount }

// Observe feeds one observation at time t (milliseconds) and appends to out
// what it changed. reason explains the observation ("classifier cpu: 9.2").
func (m *Machine) Observe(s State, t int64, reason string, p Policy, out []Transition) []Transition {
	p = p.withDefaults()
	before := m.confirmed
	changed := false
	switch {
	case m.known && s == m.confirmed:
		m.pending, m.pendingCount = 0, 0
	default:
		if m.pendingCount > 0 && s == m.pending {
			m.pendingCount++
		} else {
			m.pending, m.pendingCount = s, 1
		}
		if m.pendingCount >= p.Attempts {
			if !m.known {
				before = classify.Unknown
			}
			m.known, m.confirmed, m.since = true, s, t
			m.pending, m.pendingCount = 0, 0
			changed = true
		}
	}
	if changed && p.Attempts > 1 {
		reason = fmt.Sprintf("%s (confirmed after %d consecutive results)", reason, p.Attempts)
	}

	wasFlapping := m.flapping
	if p.FlapWindow > 1 {
		m.observeFlap(s, p)
	}
	switch {
	case !wasFlapping && m.flapping:
		m.flapFrom = before
		out = append(out, Transition{Kind: FlapStart, From: before, To: m.confirmed, Time: t,
			Reason: fmt.Sprintf("flapping: %s of the last %d results changed state (starts at %s)",
				percent(m.changeShare()), len(m.recent), percent(p.FlapStart))})
	case wasFlapping && !m.flapping:
		out = append(out, Transition{Kind: FlapStop, From: m.flapFrom, To: m.confirmed, Time: t,
			Reason: fmt.Sprintf("stopped flapping: %s of the last %d results changed state (stops below %s)",
				percent(m.changeShare()), len(m.recent), percent(p.FlapStop))})
		if m.flapFrom != m.confirmed {
			out = append(out, Transition{Kind: Change, From: m.flapFrom, To: m.confirmed, Time: t,
				Reason: "settled after flapping: " + reason})
		}
	case changed && !m.flapping && before != m.confirmed:
		out = append(out, Transition{Kind: Change, From: before, To: m.confirmed, Time: t, Reason: reason})
	}
	return out
}

// Force confirms s at once, whatever the policy: a check whose results
// stopped is unknown without waiting for more (there will be none).
func (m *Machine) Force(s State, t int64, reason string, out []Transition) []Transition {
	m.pending, m.pendingCount = 0, 0
	if m.known && m.confirmed == s {
		return out
	}
	from := m.confirmed
	if !m.known {
		from = classify.Unknown
	}
	m.known, m.confirmed, m.since = true, s, t
	if m.flapping {
		// A silent subject is not flapping any more.
		m.flapping = false
		m.recent = m.recent[:0]
		out = append(out, Transition{Kind: FlapStop, From: m.flapFrom, To: s, Time: t, Reason: "stopped flapping: " + reason})
		from = m.flapFrom
	}
	if from == s {
		return out
	}
	return append(out, Transition{Kind: Change, From: from, To: s, Time: t, Reason: reason})
}

func (m *Machine) observeFlap(s State, p Policy) {
	if len(m.recent) >= p.FlapWindow {
		n := copy(m.recent, m.recent[len(m.recent)-p.FlapWindow+1:])
		m.recent = m.recent[:n]
	}
	m.recent = append(m.recent, s)
	share := m.changeShare()
	switch {
	case !m.flapping && len(m.recent) >= p.FlapWindow && share >= p.FlapStart:
		m.flapping = true
	case m.flapping && share < p.FlapStop:
		m.flapping = false
	}
}

// changeShare is the share of consecutive observations that differ.
func (m *Machine) changeShare() float64 {
	if len(m.recent) < 2 {
		return 0
	}
	changes := 0
	for i := 1; i < len(m.recent); i++ {
		if m.recent[i] != m.recent[i-1] {
			changes++
		}
	}
	return float64(changes) / float64(len(m.recent)-1)
}

func percent(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

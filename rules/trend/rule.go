package trend

import (
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// States an expression may yield, as classifiers do (DESIGN.md).
const (
	StateOK       = "ok"
	StateMinor    = "minor"
	StateMajor    = "major"
	StateCritical = "critical"
	StateUnknown  = "unknown"
)

// ValidState reports whether s is one of the five states.
func ValidState(s string) bool {
	switch s {
	case StateOK, StateMinor, StateMajor, StateCritical, StateUnknown:
		return true
	}
	return false
}

// Rule is a trend rule as users write it.
type Rule struct {
	// Name identifies the rule in errors and events.
	Name string
	// Selector is a PromQL vector selector, e.g. prophasis_value{plugin="disk"}.
	Selector string
	// Window is how far back each series is read: the expression's window
	// holds the samples in (at-Window, at], left-open as PromQL range
	// selectors are.
	Window time.Duration
	// Interval is how often the server evaluates the rule. The engine does
	// not schedule; it only validates the value.
	Interval time.Duration
	// Expr is the expr-lang expression that yields a state per series.
	Expr string
}

// Outcome is the result of a rule for one series at one time.
type Outcome struct {
	Labels labels.Labels
	// State is one of the State constants; StateUnknown when Err is set.
	State string
	// Err is why the expression failed for this series (empty window,
	// division by zero, NaN...); other series are unaffected.
	Err error
	// Explain lists the numbers the expression computed, in call order,
	// e.g. "slope 2.1/h, timeleft(100) 9h12m".
	Explain string
}

// Change is a state change found by Backtest.
type Change struct {
	Labels labels.Labels
	At     time.Time
	// From is the previous state; empty for the first state of a series.
	From, To string
	Explain  string
	// Err is the expression's error when To is unknown because of one.
	Err error
}

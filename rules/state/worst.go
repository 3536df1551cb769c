package state

import "github.com/prophasis/prophasis/rules/classify"

// severity orders states for rollups: ok < unknown < minor < major <
// critical. Unknown ranks above ok (something is not known, which is worth
// a look) and below every real problem.
func severity(s State) int {
	if s == classify.Unknown {
		return 1
	}
	if s <= classify.OK {
		return 0
	}
	return int(s) + 1
}

// Worse reports whether a is worse than b for rollups.
func Worse(a, b State) bool { return severity(a) > severity(b) }

// Worst returns the worst of states (see Worse), and OK for none.
func Worst(states ...State) State {
	w := classify.OK
	for _, s := range states {
		if Worse(s, w) {
			w = s
		}
	}
	return w
}

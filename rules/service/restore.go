package service

import "github.com/prophasis/prophasis/rules/classify"

// Load records a member's state and flags as Set does, but recomputes
// nothing: for loading many states at once (at start, from the current
// states the engine keeps), followed by one Recompute. It reports whether
// some service uses k.
func (m *Model) Load(k MemberKey, s classify.State, flags Flags) bool {
	st := m.members[k]
	if st == nil {
		return false
	}
	st.state, st.known, st.flags = s, true, flags
	return true
}

// Restore sets a service's last known state (kept across a restart)
// without recomputing it, so that the next Recompute reports only what
// really changed since. It reports whether the model has the service.
func (m *Model) Restore(service string, s State) bool {
	i, ok := m.byName[service]
	if ok {
		m.services[i].state = s
	}
	return ok
}

// Recompute recomputes every service, members first, and returns those
// whose state changed. After Load and Restore it brings the model up to
// date; State and Set assume it is.
func (m *Model) Recompute() []Change {
	var out []Change
	for _, sv := range m.services {
		to, _ := m.judge(sv, false)
		if to == sv.state {
			continue
		}
		_, reason := m.judge(sv, true)
		out = append(out, Change{Service: sv.name, From: sv.state, To: to, Reason: reason})
		sv.state = to
	}
	return out
}

// Adopt carries what old knows into m, a model of a new configuration: the
// state and flags of every member both use, and the state of every service
// both have. It then recomputes m and returns the changes a user would see
// across the configuration change: services whose state differs from
// old's, and new services that are not ok (from OK). Services old has and
// m lacks are gone; they are not changes.
func (m *Model) Adopt(old *Model) []Change {
	for k, st := range old.members {
		if st.known {
			m.Load(k, st.state, st.flags)
		}
	}
	for _, sv := range m.services {
		sv.state = OK
		if i, ok := old.byName[sv.name]; ok {
			sv.state = old.services[i].state
		}
	}
	return m.Recompute()
}

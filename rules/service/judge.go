package service

import (
	"fmt"
	"strings"
)

// status is how a member counts for one service.
type status uint8

const (
	up status = iota
	impaired
	down
)

// maxListed bounds how many members of a redundancy group a reason names,
// so a group of thousands gives a readable line.
const maxListed = 5

// status judges one member of s by s's rules.
func (m *Model) status(s *svc, mb *member) status {
	if mb.state == nil {
		switch m.services[mb.svc].state {
		case Failed:
			return down
		case Degraded:
			return impaired
		}
		return up
	}
	st := mb.state
	if (st.flags.Maintenance && s.rules.ignoreMaintenance) || (st.flags.Acknowledged && s.rules.ignoreAcknowledged) {
		return up
	}
	bit := stateBit(st.state)
	switch {
	case s.rules.down&bit != 0:
		return down
	case s.rules.impaired&bit != 0:
		return impaired
	}
	return up
}

// describe is a member's state in words: "critical", "unknown (no state
// yet)", "major (acknowledged)", "failed".
func (m *Model) describe(mb *member) string {
	if mb.state == nil {
		return m.services[mb.svc].state.String()
	}
	st := mb.state
	if !st.known {
		return "unknown (no state yet)"
	}
	out := st.state.String()
	switch {
	case st.flags.Maintenance && st.flags.Acknowledged:
		out += " (in maintenance, acknowledged)"
	case st.flags.Maintenance:
		out += " (in maintenance)"
	case st.flags.Acknowledged:
		out += " (acknowledged)"
	}
	return out
}

// judge computes s's state from its members' and, with withReason, why.
// Without, it allocates nothing: Set calls it for every affected service
// and asks for the reason only when the state changed.
func (m *Model) judge(s *svc, withReason bool) (State, string) {
	worst := OK
	var failed, degraded []string
	for i := range s.deps {
		mb := &s.deps[i]
		switch m.status(s, mb) {
		case down:
			if !withReason {
				return Failed, ""
			}
			worst = Failed
			failed = append(failed, "dependency "+mb.key.String()+" is "+m.describe(mb))
		case impaired:
			worst = max(worst, Degraded)
			if withReason {
				degraded = append(degraded, "dependency "+mb.key.String()+" is "+m.describe(mb))
			}
		}
	}
	for gi := range s.groups {
		g := &s.groups[gi]
		var nUp, nImpaired int
		for i := range g.members {
			switch m.status(s, &g.members[i]) {
			case up:
				nUp++
			case impaired:
				nImpaired++
			}
		}
		var st State
		switch {
		case nUp+nImpaired < g.k:
			if !withReason {
				return Failed, ""
			}
			st = Failed
		case nUp < len(g.members):
			st = Degraded
		default:
			continue
		}
		worst = max(worst, st)
		if !withReason {
			continue
		}
		why := m.groupReason(s, g, nUp, nImpaired)
		if st == Failed {
			failed = append(failed, why)
		} else {
			degraded = append(degraded, why)
		}
	}
	if !withReason {
		return worst, ""
	}
	switch worst {
	case Failed:
		return Failed, "failed: " + strings.Join(failed, "; ")
	case Degraded:
		return Degraded, "degraded: " + strings.Join(degraded, "; ")
	}
	if len(s.deps) == 0 && len(s.groups) == 0 {
		return OK, "ok: no members"
	}
	return OK, "ok: every member is up"
}

// groupReason says how group g of s stands: "redundancy group web has 2 of
// 3 up (needs 2); web1 is critical".
func (m *Model) groupReason(s *svc, g *group, nUp, nImpaired int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "redundancy group %s has %d of %d up", g.name, nUp, len(g.members))
	if nImpaired > 0 {
		fmt.Fprintf(&b, ", %d impaired", nImpaired)
	}
	fmt.Fprintf(&b, " (needs %d); ", g.k)
	listed, notUp := 0, len(g.members)-nUp
	for i := range g.members {
		mb := &g.members[i]
		if m.status(s, mb) == up {
			continue
		}
		if listed == maxListed {
			fmt.Fprintf(&b, " and %d more", notUp-listed)
			break
		}
		if listed > 0 {
			b.WriteString(", ")
		}
		b.WriteString(mb.key.short() + " is " + m.describe(mb))
		listed++
	}
	return b.String()
}

package mesh

import (
	"maps"
	"slices"
	"time"
)

// Liveness on top of SWIM: memberlist says which peers answer probes now;
// the mesh remembers every host it ever heard of, marks one down when it
// has been silent (no probe answered, no status) for Down, and forgets it
// after Remove. SWIM alone forgets a dead node; an operator wants to see
// "web3 down since 02:14" for days, as unagi showed.

// Defaults for Options, unagi's.
const (
	DefaultInterval = time.Minute
	DefaultDown     = 30 * time.Minute
	DefaultRemove   = 10 * 24 * time.Hour
)

// hostRecord is what the mesh knows of one host. Guarded by Mesh.mu.
type hostRecord struct {
	name string
	addr string // ip:port of its memberlist, "" until memberlist reports it
	// lastSeen is the last time memberlist had it alive or a status of it
	// arrived (at most the status's own time).
	lastSeen   time.Time
	down       bool
	downSince  time.Time
	reportedBy string // who delivered its latest status: itself, a relay, or "push/pull"
	lastSeq    uint64
	statuses   *ring
}

// peers is the table of hosts. It is not safe for concurrent use.
type peers struct {
	self           string
	down, remove   time.Duration
	history        int
	hosts          map[string]*hostRecord
	onDown, onBack func(name string)
}

func newPeers(self string, down, remove time.Duration, history int) *peers {
	return &peers{self: self, down: down, remove: remove, history: history, hosts: make(map[string]*hostRecord)}
}

func (p *peers) get(name string) *hostRecord {
	h := p.hosts[name]
	if h == nil {
		h = &hostRecord{name: name, statuses: newRing(p.history)}
		p.hosts[name] = h
	}
	return h
}

// seen records that name was alive at now (memberlist lists it alive).
// It reports whether that changed the host's up/down state or address.
func (p *peers) seen(name, addr string, now time.Time) bool {
	h := p.get(name)
	changed := h.down || (addr != "" && addr != h.addr)
	if now.After(h.lastSeen) {
		h.lastSeen = now
	}
	if addr != "" {
		h.addr = addr
	}
	if h.down {
		h.down, h.downSince = false, time.Time{}
		if p.onBack != nil {
			p.onBack(name)
		}
	}
	return changed
}

// verdict is what became of a status offered to the table.
type verdict int

const (
	accepted  verdict = iota
	replayed          // not newer than the last one of its host
	future            // taken too far in the future: a clock or a forgery
	ownStatus         // claims to be this host's
)

// maxClockSkew is how far ahead of this host's clock a status may be.
const maxClockSkew = 5 * time.Minute

// offer adds s to its host's history if it is newer than what the table has.
func (p *peers) offer(s Status, via string, now time.Time) verdict {
	switch {
	case s.Host == p.self && via != p.self:
		return ownStatus
	case s.Time.After(now.Add(maxClockSkew)):
		return future
	}
	h := p.get(s.Host)
	if s.Seq <= h.lastSeq {
		return replayed
	}
	h.lastSeq = s.Seq
	h.statuses.add(s)
	h.reportedBy = via
	// A status is evidence the host was alive when it was taken, but
	// not later, and never beyond now.
	if t := minTime(s.Time, now); t.After(h.lastSeen) {
		h.lastSeen = t
		if h.down && now.Sub(t) < p.down {
			h.down, h.downSince = false, time.Time{}
			if p.onBack != nil {
				p.onBack(s.Host)
			}
		}
	}
	return accepted
}

// sweep marks hosts silent for Down as down and removes those silent for
// Remove. It reports whether anything changed (worth saving).
func (p *peers) sweep(now time.Time) bool {
	changed := false
	for _, name := range slices.Sorted(maps.Keys(p.hosts)) {
		h := p.hosts[name]
		if name == p.self {
			h.lastSeen = now
			continue
		}
		silent := now.Sub(h.lastSeen)
		switch {
		case silent >= p.remove:
			delete(p.hosts, name)
			changed = true
		case silent >= p.down && !h.down:
			h.down, h.downSince = true, now
			changed = true
			if p.onDown != nil {
				p.onDown(name)
			}
		}
	}
	return changed
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

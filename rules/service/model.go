package service

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/store"
)

// Change is a service whose state changed.
type Change struct {
	Service  string
	From, To State
	// Reason says why the service is in state To, in words ("failed:
	// dependency host router1 is critical").
	Reason string
}

// Model is every service and the latest state of every member. Build it with
// New; feed it with Set. A Model is not safe for concurrent use: its owner
// (the rules engine) serialises calls.
type Model struct {
	// services are in dependency order: every service comes after the
	// services it has as members, so an index is also a rank.
	services []*svc
	byName   map[string]int32
	// members holds the state of every host, check and trend key some
	// service uses.
	members map[MemberKey]*memberState
	// users maps a key (services included) to the services that have it
	// as a member, each once.
	users map[MemberKey][]int32
	// byHost maps a host to the services that have a member on it (host,
	// check or trend narrowed to it).
	byHost map[string][]int32

	// queue and queued are Set's scratch space.
	queue  []int32
	queued []bool
}

// memberState is the latest state of one host, check or trend member.
type memberState struct {
	state classify.State
	known bool
	flags Flags
}

// svc is one service.
type svc struct {
	name   string
	rules  rules
	deps   []member
	groups []group
	state  State
}

type group struct {
	name    string
	k       int
	members []member
}

// member is one member of a service: a pointer to the shared state of a
// host, check or trend key, or the index of a member service.
type member struct {
	key   MemberKey
	state *memberState // nil for services
	svc   int32        // for services
}

// rules are a service's effective rules as bit sets over classify states.
type rules struct {
	down, impaired     uint8
	ignoreMaintenance  bool
	ignoreAcknowledged bool
}

func stateBit(s classify.State) uint8 { return 1 << uint8(s+1) }

// New builds a model of services, every member without a state yet (so
// unknown) and every service's state computed from that. It refuses
// duplicate names, members of no valid form, member services that are not
// defined, dependency cycles, k out of range and rules naming unknown
// states: the store refuses all of these at save, but a model must never
// loop or guess.
func New(services []store.Service) (*Model, error) {
	m := &Model{
		byName:  make(map[string]int32, len(services)),
		members: map[MemberKey]*memberState{},
		users:   map[MemberKey][]int32{},
		byHost:  map[string][]int32{},
	}
	cfg := make(map[string]*store.Service, len(services))
	for i := range services {
		sv := &services[i]
		if sv.Name == "" {
			return nil, fmt.Errorf("service %d has no name", i)
		}
		if cfg[sv.Name] != nil {
			return nil, fmt.Errorf("service %q is defined twice", sv.Name)
		}
		cfg[sv.Name] = sv
	}
	order, err := dependencyOrder(services, cfg)
	if err != nil {
		return nil, err
	}
	for i, name := range order {
		m.byName[name] = int32(i)
	}
	for i, name := range order {
		s, err := m.build(cfg[name], int32(i))
		if err != nil {
			return nil, err
		}
		m.services = append(m.services, s)
	}
	for _, s := range m.services {
		s.state, _ = m.judge(s, false)
	}
	m.queued = make([]bool, len(m.services))
	return m, nil
}

// dependencyOrder returns the service names so that each comes after its
// member services, or an error naming a cycle or an undefined member
// service. Ties are broken by name, so the order is deterministic.
func dependencyOrder(services []store.Service, cfg map[string]*store.Service) ([]string, error) {
	const (
		unseen = iota
		onPath
		done
	)
	mark := make(map[string]int, len(services))
	var path, out []string
	var visit func(name string) error
	visit = func(name string) error {
		switch mark[name] {
		case onPath:
			i := slices.Index(path, name)
			return fmt.Errorf("service dependency cycle: %s", strings.Join(append(slices.Clone(path[i:]), name), " -> "))
		case done:
			return nil
		}
		mark[name] = onPath
		path = append(path, name)
		for _, dep := range memberServices(cfg[name]) {
			if cfg[dep] == nil {
				return fmt.Errorf("service %q: member service %q is not defined", name, dep)
			}
			if err := visit(dep); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		mark[name] = done
		out = append(out, name)
		return nil
	}
	names := make([]string, 0, len(services))
	for i := range services {
		names = append(names, services[i].Name)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// memberServices lists the services sv has as members, sorted.
func memberServices(sv *store.Service) []string {
	var out []string
	add := func(ms []store.Member) {
		for _, m := range ms {
			if m.Service != "" {
				out = append(out, m.Service)
			}
		}
	}
	add(sv.Dependencies)
	for _, g := range sv.RedundancyGroups {
		add(g.Members)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// build turns one configured service into its model; idx is its index.
func (m *Model) build(sv *store.Service, idx int32) (*svc, error) {
	what := fmt.Sprintf("service %q", sv.Name)
	r, err := parseRules(sv.Rules)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	s := &svc{name: sv.Name, rules: r}
	if s.deps, err = m.resolve(idx, sv.Dependencies); err != nil {
		return nil, fmt.Errorf("%s: dependencies: %w", what, err)
	}
	for _, g := range sv.RedundancyGroups {
		if g.K < 1 || g.K > len(g.Members) {
			return nil, fmt.Errorf("%s: redundancy group %q: k = %d must be between 1 and its number of members (%d)",
				what, g.Name, g.K, len(g.Members))
		}
		ms, err := m.resolve(idx, g.Members)
		if err != nil {
			return nil, fmt.Errorf("%s: redundancy group %q: %w", what, g.Name, err)
		}
		s.groups = append(s.groups, group{name: g.Name, k: g.K, members: ms})
	}
	return s, nil
}

// resolve resolves configured members of service idx and indexes them.
func (m *Model) resolve(idx int32, cfg []store.Member) ([]member, error) {
	out := make([]member, 0, len(cfg))
	for _, c := range cfg {
		k, err := KeyOf(c)
		if err != nil {
			return nil, err
		}
		mb := member{key: k}
		if k.Kind == KindService {
			mb.svc = m.byName[k.Name] // dependencyOrder checked it exists
		} else {
			st := m.members[k]
			if st == nil {
				st = &memberState{state: classify.Unknown}
				m.members[k] = st
			}
			mb.state = st
			if k.Host != "" {
				m.byHost[k.Host] = appendOnce(m.byHost[k.Host], idx)
			}
		}
		m.users[k] = appendOnce(m.users[k], idx)
		out = append(out, mb)
	}
	return out, nil
}

// appendOnce appends idx unless it is already the last element (a
// service's members are indexed one service at a time).
func appendOnce(s []int32, idx int32) []int32 {
	if len(s) > 0 && s[len(s)-1] == idx {
		return s
	}
	return append(s, idx)
}

// parseRules turns the configured rules into bit sets.
func parseRules(cfg store.ServiceRules) (rules, error) {
	eff := cfg.Effective()
	r := rules{ignoreMaintenance: eff.IgnoreMaintenance, ignoreAcknowledged: eff.IgnoreAcknowledged}
	for _, l := range []struct {
		field string
		names []string
		dst   *uint8
	}{{"rules.down", eff.Down, &r.down}, {"rules.impaired", eff.Impaired, &r.impaired}} {
		for _, n := range l.names {
			st, ok := classify.ParseState(n)
			if !ok || st == classify.OK {
				return rules{}, fmt.Errorf("%s: %q is not a state a member can count as (minor, major, critical, unknown)", l.field, n)
			}
			*l.dst |= stateBit(st)
		}
	}
	if both := r.down & r.impaired; both != 0 {
		return rules{}, fmt.Errorf("rules: a state is in both down and impaired")
	}
	return r, nil
}

// Set records the state and flags of a host, check or trend member and
// recomputes the services that depend on it, directly or through nested
// services, each once and members first. It returns the services whose
// state changed, in that order. A key no service uses, a service key (their
// states are computed) or a state and flags the member already has change
// nothing.
//
// For a trend member the caller passes the rule's worst state over the
// series the key covers: over all of them for TrendKey(rule, ""), over the
// host's for TrendKey(rule, host).
func (m *Model) Set(k MemberKey, s classify.State, flags Flags) []Change {
	st := m.members[k]
	if st == nil || (st.known && st.state == s && st.flags == flags) {
		return nil
	}
	st.state, st.known, st.flags = s, true, flags
	for _, i := range m.users[k] {
		m.push(i)
	}
	var out []Change
	for len(m.queue) > 0 {
		i := m.pop()
		sv := m.services[i]
		to, _ := m.judge(sv, false)
		if to == sv.state {
			continue
		}
		_, reason := m.judge(sv, true)
		out = append(out, Change{Service: sv.name, From: sv.state, To: to, Reason: reason})
		sv.state = to
		for _, u := range m.users[ServiceKey(sv.name)] {
			m.push(u)
		}
	}
	return out
}

// push queues service i for recomputation, once. The queue is a min-heap
// of indices: a lower index is a member of nothing queued after it, so
// popping the least recomputes members before the services using them.
func (m *Model) push(i int32) {
	if m.queued[i] {
		return
	}
	m.queued[i] = true
	q := append(m.queue, i)
	for c := len(q) - 1; c > 0; {
		p := (c - 1) / 2
		if q[p] <= q[c] {
			break
		}
		q[p], q[c] = q[c], q[p]
		c = p
	}
	m.queue = q
}

// pop removes and returns the least queued index.
func (m *Model) pop() int32 {
	q := m.queue
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	for p := 0; ; {
		c := 2*p + 1
		if c >= len(q) {
			break
		}
		if c+1 < len(q) && q[c+1] < q[c] {
			c++
		}
		if q[p] <= q[c] {
			break
		}
		q[p], q[c] = q[c], q[p]
		p = c
	}
	m.queue = q
	m.queued[top] = false
	return top
}

// State returns the service's state and why, in words. An unknown service
// is OK with an empty reason; Has tells them apart.
func (m *Model) State(service string) (State, string) {
	i, ok := m.byName[service]
	if !ok {
		return OK, ""
	}
	return m.judge(m.services[i], true)
}

// Has reports whether the model has a service called name.
func (m *Model) Has(name string) bool {
	_, ok := m.byName[name]
	return ok
}

// Services returns the names of every service, sorted.
func (m *Model) Services() []string {
	out := make([]string, 0, len(m.services))
	for _, s := range m.services {
		out = append(out, s.name)
	}
	slices.Sort(out)
	return out
}

// Uses reports whether some service has k as a member: the engine need not
// compute trend keys nobody uses.
func (m *Model) Uses(k MemberKey) bool { return len(m.users[k]) > 0 }

// SetFlags changes a member's flags, keeping its state, and recomputes as
// Set does. A member with no state yet keeps the flags for when it has one.
func (m *Model) SetFlags(k MemberKey, flags Flags) []Change {
	st := m.members[k]
	if st == nil || st.flags == flags {
		return nil
	}
	if !st.known {
		st.flags = flags
		return nil
	}
	return m.Set(k, st.state, flags)
}

// Members returns the keys of every host, check and trend member some
// service uses (not the services), in no particular order.
func (m *Model) Members() []MemberKey {
	out := make([]MemberKey, 0, len(m.members))
	for k := range m.members {
		out = append(out, k)
	}
	return out
}

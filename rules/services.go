package rules

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/service"
	"github.com/prophasis/prophasis/rules/state"
	"github.com/prophasis/prophasis/store"
)

// MetricServiceState is a service's state: 0 ok, 1 degraded, 2 failed.
const MetricServiceState = "prophasis_service_state"

// ServiceStatus is a service's current state, as the API shows it.
type ServiceStatus struct {
	Service string        `json:"service"`
	State   service.State `json:"state"`
	Reason  string        `json:"reason"`
}

// rollup keeps the services' model up to date with the states of their
// members: every state event of a check, host or trend series goes through
// it, and the services that change become events too. Its own lock
// serialises the shards and the trend runner.
type rollup struct {
	e  *Engine
	mu sync.Mutex
	m  *service.Model
	// trends holds each trend series' state by rule and subject key, for
	// the members that are a rule's worst state (on a host, or anywhere).
	trends map[string]map[string]trendMember
	refs   map[string]storage.SeriesRef
	lastTS map[string]int64 // the newest sample written per service
	// flags says whether a member is in maintenance or acknowledged (the
	// alert manager's Flags); nil: never.
	flags atomic.Pointer[FlagSource]
}

// FlagSource says whether a subject is in a maintenance window at a time
// and whether its problem is acknowledged (alert.Manager.Flags).
type FlagSource func(s store.Subject, now time.Time) (maintenance, acknowledged bool)

// SetFlagSource gives the services' rules their member flags (alerting
// calls it with its manager's Flags). Flags are read at every member change
// and refreshed for all members every 30 s, so a maintenance window that
// begins or ends shows in the services within that time.
func (e *Engine) SetFlagSource(f FlagSource) { e.rollup.flags.Store(&f) }

// RefreshServices re-reads every member's flags now (after an
// acknowledgement or a new silence) rather than at the next 30 s refresh.
func (e *Engine) RefreshServices(ctx context.Context) { e.rollup.refresh(ctx, e.opts.Now()) }

// flagsOf returns a member's flags now.
func (r *rollup) flagsOf(k service.MemberKey, now time.Time) service.Flags {
	f := r.flags.Load()
	if f == nil {
		return service.Flags{}
	}
	var subj store.Subject
	switch k.Kind {
	case service.KindHost:
		subj = store.Subject{Kind: "host", Host: k.Host}
	case service.KindCheck:
		subj = store.Subject{Kind: "check", Host: k.Host, Plugin: k.Plugin, Check: k.Check}
	case service.KindTrend:
		subj = store.Subject{Kind: "trend", Rule: k.Name, Host: k.Host}
	default:
		return service.Flags{}
	}
	m, a := (*f)(subj, now)
	return service.Flags{Maintenance: m, Acknowledged: a}
}

// refresh re-reads every member's flags and returns the services that
// change (a maintenance window began or ended, an acknowledgement came or
// went).
func (r *rollup) refresh(ctx context.Context, now time.Time) {
	if r.flags.Load() == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []store.Event
	for _, k := range r.m.Members() {
		out = append(out, r.events(r.m.SetFlags(k, r.flagsOf(k, now)), now.UnixMilli())...)
	}
	if len(out) > 0 {
		r.writeLocked(ctx, r.e.db, out)
		r.e.publish(out)
		r.e.rec.record(out, currentServiceStates(out))
	}
}

type trendMember struct {
	host  string
	state classify.State
}

func newRollup(e *Engine) *rollup {
	m, _ := service.New(nil)
	return &rollup{e: e, m: m, trends: map[string]map[string]trendMember{}, refs: map[string]storage.SeriesRef{},
		lastTS: map[string]int64{}}
}

// load builds the model of a new configuration from the members' states the
// engine knows and the services' states of the old model, and returns the
// changes a user sees across the change (a new service that is not ok is
// one, from ok).
func (r *rollup) load(services []store.Service, now int64) ([]store.Event, error) {
	m, err := service.New(services)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.m
	r.m = m
	r.loadMembers()
	for _, name := range m.Services() {
		st := service.OK // a new service's change is from ok
		if old.Has(name) {
			st, _ = old.State(name)
		}
		m.Restore(name, st)
	}
	return r.events(m.Recompute(), now), nil
}

// restore loads the members' states the engine restored and the services'
// saved states, and recomputes: what changed while the server was down.
func (r *rollup) restore(saved []store.CurrentState, now int64) []store.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loadMembers()
	for _, name := range r.m.Services() {
		r.m.Restore(name, service.OK) // a service never seen before: from ok
	}
	for _, cs := range saved {
		if cs.Subject.Kind == "service" {
			r.m.Restore(cs.Subject.Service, service.State(cs.State))
		}
	}
	return r.events(r.m.Recompute(), now)
}

// loadMembers loads into the model the state of every check, host and
// trend series the engine knows.
func (r *rollup) loadMembers() {
	now := time.Now()
	for _, st := range r.e.States() {
		if st.Since != 0 {
			k := service.CheckKey(st.Host, st.Check, st.Plugin)
			r.m.Load(k, st.State, r.flagsOf(k, now))
		}
	}
	for _, h := range r.e.HostStates() {
		k := service.HostKey(h.Host)
		r.m.Load(k, h.State, r.flagsOf(k, now))
	}
	r.trends = map[string]map[string]trendMember{}
	for _, t := range r.e.TrendStates() {
		r.noteTrend(t.Rule, t.Labels["host"], trendKeyOf(t.Rule, t.Labels), t.State)
	}
	for rule := range r.trends {
		r.loadTrend(rule, "", false)
		for host := range r.hostsOf(rule) {
			r.loadTrend(rule, host, false)
		}
	}
}

// apply feeds the state events in evs to the model and returns the
// services' events.
//
// The services' events are written, published and recorded under the
// rollup's lock, so the series, the subscribers and the store see a
// service's changes in the model's order whichever shard's batch is last.
func (r *rollup) apply(ctx context.Context, evs []store.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.applyLocked(evs)
	if len(out) > 0 {
		r.writeLocked(ctx, r.e.db, out)
		r.e.publish(out)
		r.e.rec.record(out, currentServiceStates(out))
	}
}

func (r *rollup) applyLocked(evs []store.Event) []store.Event {
	var out []store.Event
	for i := range evs {
		ev := &evs[i]
		if ev.Kind != "state" {
			continue
		}
		s, to := ev.Subject, classify.State(ev.To)
		now := time.Now()
		var changes []service.Change
		switch s.Kind {
		case "check":
			k := service.CheckKey(s.Host, s.Check, s.Plugin)
			changes = r.m.Set(k, to, r.flagsOf(k, now))
		case "host":
			k := service.HostKey(s.Host)
			changes = r.m.Set(k, to, r.flagsOf(k, now))
		case "trend":
			r.noteTrend(s.Rule, s.Host, trendKeyOf(s.Rule, s.Labels), to)
			changes = append(r.loadTrend(s.Rule, "", true), r.loadTrend(s.Rule, s.Host, true)...)
		}
		out = append(out, r.events(changes, ev.Time)...)
	}
	return out
}

func trendKeyOf(rule string, l map[string]string) string {
	return subjectKey(store.Subject{Kind: "trend", Rule: rule, Labels: l})
}

func (r *rollup) noteTrend(rule, host, key string, s classify.State) {
	m, ok := r.trends[rule]
	if !ok {
		m = map[string]trendMember{}
		r.trends[rule] = m
	}
	m[key] = trendMember{host: host, state: s}
}

func (r *rollup) hostsOf(rule string) map[string]bool {
	out := map[string]bool{}
	for _, t := range r.trends[rule] {
		if t.host != "" {
			out[t.host] = true
		}
	}
	return out
}

// loadTrend gives the member "rule (on host)" the worst state of the rule's
// series (of that host); with set, it recomputes and returns the changes.
func (r *rollup) loadTrend(rule, host string, set bool) []service.Change {
	k := service.TrendKey(rule, host)
	if !r.m.Uses(k) {
		return nil
	}
	worst := classify.OK
	for _, t := range r.trends[rule] {
		if (host == "" || t.host == host) && state.Worse(t.state, worst) {
			worst = t.state
		}
	}
	flags := r.flagsOf(k, time.Now())
	if !set {
		r.m.Load(k, worst, flags)
		return nil
	}
	return r.m.Set(k, worst, flags)
}

// events turns service changes into events.
func (r *rollup) events(changes []service.Change, ts int64) []store.Event {
	out := make([]store.Event, 0, len(changes))
	for _, c := range changes {
		out = append(out, store.Event{Time: ts, Kind: "state", Subject: store.Subject{Kind: "service", Service: c.Service},
			From: int(c.From), To: int(c.To), Reason: c.Reason})
	}
	return out
}

// states returns every service's state.
func (r *rollup) states() []ServiceStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ServiceStatus
	for _, name := range r.m.Services() {
		st, why := r.m.State(name)
		out = append(out, ServiceStatus{Service: name, State: st, Reason: why})
	}
	return out
}

// write appends every service's state at ts: the series stays continuous
// between changes (an instant query sees the last 15 minutes).
func (r *rollup) write(ctx context.Context, db storage.Appendable, ts int64) {
	sts := r.states()
	if len(sts) == 0 {
		return
	}
	app := db.Appender(ctx)
	r.mu.Lock()
	for _, s := range sts {
		l := labels.FromStrings(model.MetricNameLabel, MetricServiceState, "service", s.Service)
		t := max(ts, r.lastTS[s.Service]+1)
		if ref, err := app.Append(r.refs[s.Service], l, t, float64(s.State)); err == nil {
			r.refs[s.Service], r.lastTS[s.Service] = ref, t
		}
	}
	r.mu.Unlock()
	if err := app.Commit(); err != nil {
		r.e.logger.Warn("write service states", "err", err)
	}
}

// ServiceStates returns every service's state and why, by name.
func (e *Engine) ServiceStates() []ServiceStatus { return e.rollup.states() }

// Impact returns the services a host affects, directly or through others.
func (e *Engine) Impact(host string) []string {
	e.rollup.mu.Lock()
	defer e.rollup.mu.Unlock()
	return e.rollup.m.Impact(host)
}

// serviceEvery is how often every service's state is written.
const serviceEvery = 30 * time.Second

// currentServiceStates are the store records of service events.
func currentServiceStates(evs []store.Event) []store.CurrentState {
	var out []store.CurrentState
	for _, ev := range evs {
		if ev.Subject.Kind == "service" {
			out = append(out, store.CurrentState{Key: subjectKey(ev.Subject), Subject: ev.Subject, State: ev.To,
				Since: ev.Time, Reason: ev.Reason, UpdatedAt: ev.Time})
		}
	}
	return out
}

// writeChanges appends the new states of the services in evs at their
// events' times, so a change is queryable at once. A service changing again
// at a time already written (two batches of results with one timestamp) is
// written a millisecond later: the TSDB keeps one sample per time, and the
// series must end in the service's real state.
func (r *rollup) writeChanges(ctx context.Context, db storage.Appendable, evs []store.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writeLocked(ctx, db, evs)
}

func (r *rollup) writeLocked(ctx context.Context, db storage.Appendable, evs []store.Event) {
	app := db.Appender(ctx)
	for _, ev := range evs {
		name := ev.Subject.Service
		ts := max(ev.Time, r.lastTS[name]+1)
		l := labels.FromStrings(model.MetricNameLabel, MetricServiceState, "service", name)
		if ref, err := app.Append(r.refs[name], l, ts, float64(ev.To)); err == nil {
			r.refs[name], r.lastTS[name] = ref, ts
		}
	}
	if err := app.Commit(); err != nil {
		r.e.logger.Warn("write service states", "err", err)
	}
}

package rules

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/stale"
	"github.com/prophasis/prophasis/rules/state"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// work is what a shard is handed: new results, or checks gone silent.
type work struct {
	results  []wire.Result
	overdue  []stale.Overdue
	received time.Time
	synced   chan struct{} // closed once everything before it is judged
}

// subject is one host × plugin × check.
type subject struct {
	key  Key
	ring ring
	m    state.Machine
	lbls labels.Labels
	ref  storage.SeriesRef

	// The latest result, for the status view.
	lastTS    int64
	lastValue float64
	lastMsg   string

	// silent is set while the staleness tracker reports the subject
	// overdue, until a result arrives.
	silent bool

	classErr limitedLog // the classifier's errors in the system log
}

// host is a host's rollup.
type host struct {
	name     string
	subjects []*subject
	m        state.Machine
	lbls     labels.Labels
	ref      storage.SeriesRef
	// meshSaid is the mesh's sentence in the host's last rollup while its
	// results stopped ("" otherwise).
	meshSaid string
}

// shard judges the results of its hosts, one batch at a time.
type shard struct {
	e        *Engine
	in       chan work
	subjects map[Key]*subject
	hosts    map[string]*host
	skips    map[Key]*limitedLog // skipped runs in the system log

	// Scratch, reused between batches.
	hist    classify.History
	trs     []state.Transition
	samples []sample
	events  []store.Event
	states  []store.CurrentState
	touched map[*host]int64

	view *view
}

type sample struct {
	ref  *storage.SeriesRef
	lbls labels.Labels
	ts   int64
	v    float64
}

func newShard(e *Engine, queue int) *shard {
	return &shard{e: e, in: make(chan work, queue), subjects: map[Key]*subject{}, skips: map[Key]*limitedLog{},
		hosts: map[string]*host{}, touched: map[*host]int64{}, view: newView()}
}

func (s *shard) run(stop <-chan struct{}) {
	for {
		select {
		case w := <-s.in:
			s.process(w)
		case <-stop:
			for {
				select {
				case w := <-s.in:
					s.process(w)
				default:
					return
				}
			}
		}
	}
}

func (s *shard) subject(k Key) *subject {
	sub, ok := s.subjects[k]
	if ok {
		return sub
	}
	b := labels.NewScratchBuilder(4)
	b.Add(model.MetricNameLabel, MetricState)
	b.Add("host", k.Host)
	b.Add("plugin", k.Plugin)
	if k.Check != "" {
		b.Add("check", k.Check)
	}
	b.Sort()
	sub = &subject{key: k, lbls: b.Labels()}
	s.subjects[k] = sub
	h := s.host(k.Host)
	h.subjects = append(h.subjects, sub)
	return sub
}

func (s *shard) host(name string) *host {
	h, ok := s.hosts[name]
	if !ok {
		h = &host{name: name, lbls: labels.FromStrings(model.MetricNameLabel, MetricHostState, "host", name)}
		s.hosts[name] = h
	}
	return h
}

// process judges one batch and records what it changed: the state samples
// in one TSDB commit, then the events to the subscribers and the store.
func (s *shard) process(w work) {
	ctx := context.Background()
	cfg := s.e.cfg.Load()
	for i := range w.results {
		s.result(ctx, cfg, &w.results[i])
	}
	for _, o := range w.overdue {
		s.overdue(o, w.received)
	}
	s.rollup()
	s.commit(ctx)
	if len(w.results) > 0 {
		latency.UpdateDuration(w.received)
	}
	s.e.emit(s.events, s.states)
	s.events, s.states = nil, nil
	if w.synced != nil {
		close(w.synced)
	}
}

func (s *shard) result(ctx context.Context, cfg *config, r *wire.Result) {
	if r.Skipped {
		s.skippedRun(r)
		return
	}
	sub := s.subject(Key{Host: r.Host, Plugin: r.Plugin, Check: r.Check})
	sub.silent = false
	j := cfg.lookup(r.Check, r.Plugin)
	if len(sub.ring.buf) != j.n {
		sub.ring.resize(j.n)
	}
	// Unknown until classified; an out-of-order result never is.
	e := entry{ts: r.Timestamp, value: math.NaN(), msg: r.Message, exit: r.ExitStatus, state: classify.Unknown}
	if r.Value != nil {
		e.value = *r.Value
	}
	if r.Timestamp <= sub.ring.newestTS() {
		// A result older than one already judged (a resent backlog): it
		// joins the history but changes no state.
		sub.ring.insert(e)
		outOfOrder.Inc()
		return
	}
	sub.ring.push(e)
	sub.lastTS, sub.lastValue, sub.lastMsg = r.Timestamp, e.value, r.Message
	sub.ring.history(&s.hist)
	st, err := j.cls.Classify(ctx, s.hist)
	classified.Inc()
	sub.ring.setNewestState(st)
	var reason string
	if err != nil {
		classifyErrors.Inc()
		s.classifierError(sub, r.Timestamp, err)
		reason = err.Error()
	} else {
		reason = describe(st, r)
	}
	s.trs = sub.m.Observe(st, r.Timestamp, reason, j.policy, s.trs[:0])
	s.after(sub, r.Timestamp)
}

// overdue forces a silent check to unknown and writes it, every tick it
// stays silent, so graphs show the gap as unknown. The reason says what
// the agent mesh sees of the host, when agents report it (rules/reach):
// "web3 unreachable from the server, but alive according to 4 of 5 peers".
func (s *shard) overdue(o stale.Overdue, now time.Time) {
	sub := s.subject(o.Key)
	sub.silent = true
	ts := now.UnixMilli()
	reason := fmt.Sprintf("no result since %s (expected every %s)", o.Last.UTC().Format(time.RFC3339), o.Period)
	if o.Last.IsZero() {
		reason = fmt.Sprintf("no result yet (expected every %s)", o.Period)
	}
	if r := s.e.opts.Reach.Of(o.Key.Host, now); r.Text != "" {
		reason += "; " + r.Text
	}
	s.trs = sub.m.Force(classify.Unknown, ts, reason, s.trs[:0])
	s.after(sub, ts)
}

// after records a subject's state at ts and the transitions in s.trs.
func (s *shard) after(sub *subject, ts int64) {
	st, since, flapping := sub.m.State()
	s.samples = append(s.samples, sample{&sub.ref, sub.lbls, ts, float64(st)})
	h := s.hosts[sub.key.Host]
	if ts > s.touched[h] {
		s.touched[h] = ts
	}
	subj := store.Subject{Kind: "check", Host: sub.key.Host, Plugin: sub.key.Plugin, Check: sub.key.Check}
	for _, tr := range s.trs {
		s.events = append(s.events, store.Event{Time: tr.Time, Kind: tr.Kind.String(), Subject: subj,
			From: int(tr.From), To: int(tr.To), Reason: tr.Reason})
	}
	if len(s.trs) > 0 {
		s.states = append(s.states, store.CurrentState{Key: subjectKey(subj), Subject: subj, State: int(st),
			Since: since, Flapping: flapping, Reason: s.trs[len(s.trs)-1].Reason, UpdatedAt: ts})
	}
	pending, attempts := sub.m.Pending()
	s.view.set(sub.key, Status{Host: sub.key.Host, Plugin: sub.key.Plugin, Check: sub.key.Check,
		State: st, Since: since, Flapping: flapping, Pending: pending, PendingCount: attempts,
		Time: sub.lastTS, Value: valuePtr(sub.lastValue), Message: sub.lastMsg})
}

// rollup recomputes the hosts touched by this batch.
func (s *shard) rollup() {
	for h, ts := range s.touched {
		worst, why, known, silent := classify.OK, "all checks ok", 0, false
		for _, sub := range h.subjects {
			st, _, _ := sub.m.State()
			if !sub.m.Known() {
				continue
			}
			known++
			if state.Worse(st, worst) {
				worst = st
				why = fmt.Sprintf("check %s, plugin %s is %s", sub.key.Check, sub.key.Plugin, st)
				silent = sub.silent && st == classify.Unknown
			}
		}
		meshSays := ""
		if silent {
			// The host's worst check is unknown because its results
			// stopped: say what the mesh sees, for host alerts too.
			if r := s.e.opts.Reach.Of(h.name, time.UnixMilli(ts)); r.Text != "" {
				why += ": " + r.Text
				meshSays = r.Text
			}
		}
		if known == 0 {
			// No check has a confirmed state yet: neither has the host.
			delete(s.touched, h)
			continue
		}
		s.trs = h.m.Force(worst, ts, why, s.trs[:0])
		if len(s.trs) == 0 && meshSays != "" && h.meshSaid != "" && meshSays != h.meshSaid {
			// Still unknown, so no new event: the system log says that
			// the mesh's verdict changed ("now down according to all 5
			// peers").
			s.e.rec.log(store.LogEntry{Time: ts, Level: "warn", Component: "mesh", Host: h.name,
				Message: "the agent mesh's view changed: " + meshSays})
		}
		h.meshSaid = meshSays
		s.samples = append(s.samples, sample{&h.ref, h.lbls, ts, float64(worst)})
		subj := store.Subject{Kind: "host", Host: h.name}
		for _, tr := range s.trs {
			s.events = append(s.events, store.Event{Time: tr.Time, Kind: tr.Kind.String(), Subject: subj,
				From: int(tr.From), To: int(tr.To), Reason: tr.Reason})
		}
		if len(s.trs) > 0 {
			_, since, _ := h.m.State()
			s.states = append(s.states, store.CurrentState{Key: subjectKey(subj), Subject: subj, State: int(worst),
				Since: since, Reason: why, UpdatedAt: ts})
		}
		s.view.setHost(h.name, HostStatus{Host: h.name, State: worst, Since: h.sinceOrZero(), Reason: why, silent: silent})
		delete(s.touched, h)
	}
}

func (h *host) sinceOrZero() int64 {
	_, since, _ := h.m.State()
	return since
}

// commit writes the batch's samples in one TSDB transaction.
func (s *shard) commit(ctx context.Context) {
	if len(s.samples) == 0 {
		return
	}
	app := s.e.db.Appender(ctx)
	for i := range s.samples {
		sm := &s.samples[i]
		ref, err := app.Append(*sm.ref, sm.lbls, sm.ts, sm.v)
		if err != nil {
			// Out of the out-of-order window, say: the state is still
			// known in memory and in the events.
			s.e.logger.Debug("write state", "series", sm.lbls.String(), "err", err)
			continue
		}
		*sm.ref = ref
	}
	if err := app.Commit(); err != nil {
		s.e.logger.Warn("write states", "err", err)
	}
	clear(s.samples)
	s.samples = s.samples[:0]
}

// classifierError writes a classifier's error to the system log: at once
// when it is new for the check, then at most every ErrorLogEvery, with the
// count of repeats in between.
func (s *shard) classifierError(sub *subject, ts int64, err error) {
	msg := err.Error()
	text, ok := sub.classErr.next(msg, msg, ts, s.e.opts.ErrorLogEvery.Milliseconds())
	if !ok {
		return
	}
	s.e.rec.log(store.LogEntry{Time: ts, Level: "error", Component: "classifier",
		Host: sub.key.Host, Plugin: sub.key.Plugin, Check: sub.key.Check, Message: text})
	s.e.logger.Warn("classifier error; state unknown", "host", sub.key.Host, "plugin", sub.key.Plugin,
		"check", sub.key.Check, "err", msg)
}

// skippedRun writes a run the agent skipped (it would have started later
// than its schedule's max lateness) to the system log, limited like
// classifier errors. A skipped run changes no state.
func (s *shard) skippedRun(r *wire.Result) {
	k := Key{Host: r.Host, Plugin: r.Plugin, Check: r.Check}
	l := s.skips[k]
	if l == nil {
		l = &limitedLog{}
		s.skips[k] = l
	}
	text, ok := l.next("skipped", cmp.Or(r.Message, "run skipped"), r.Timestamp, s.e.opts.ErrorLogEvery.Milliseconds())
	if !ok {
		return
	}
	s.e.rec.log(store.LogEntry{Time: r.Timestamp, Level: "warn", Component: "schedule",
		Host: r.Host, Plugin: r.Plugin, Check: r.Check, Message: text})
}

// describe says why a result got its state, for the event's reason.
func describe(st classify.State, r *wire.Result) string {
	var b []byte
	b = fmt.Appendf(b, "classified %s", st)
	if r.Value != nil {
		b = fmt.Appendf(b, ", value %g", *r.Value)
	}
	if r.Message != "" {
		m := r.Message
		if len(m) > 200 {
			m = m[:200] + "..."
		}
		b = fmt.Appendf(b, ": %q", m)
	}
	return string(b)
}

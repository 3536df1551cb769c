package rules

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/state"
	"github.com/prophasis/prophasis/rules/trend"
	"github.com/prophasis/prophasis/store"
)

// MetricTrendState is a trend rule's state for one series it watches: the
// series' labels (without its name) plus rule.
const MetricTrendState = "prophasis_trend_state"

var (
	trendRounds       = metrics.NewCounter(`prophasis_trend_rounds_total`)
	trendRoundErrors  = metrics.NewCounter(`prophasis_trend_round_errors_total`)
	trendRoundSeconds = metrics.NewHistogram(`prophasis_trend_round_duration_seconds`)
)

// TrendStatus is the current state of one series under one trend rule.
type TrendStatus struct {
	Rule   string            `json:"rule"`
	Labels map[string]string `json:"labels"`
	State  classify.State    `json:"state"`
	Since  int64             `json:"since"`
	// Time is the last evaluation (ms); Explain the numbers it computed,
	// Error why the expression failed for this series.
	Time    int64  `json:"time"`
	Explain string `json:"explain,omitempty"`
	Error   string `json:"error,omitempty"`
}

// trends evaluates the enabled trend rules, each on its interval, on one
// goroutine: a round over 10k series takes well under a second, and rules
// running one at a time never compete for the TSDB.
type trends struct {
	e *Engine

	mu    sync.Mutex
	rules map[string]*trendRule // by name; replaced on reload
}

type trendRule struct {
	def      store.TrendRule
	compiled *trend.Compiled
	next     time.Time
	series   map[uint64]*trendSeries
	errMsg   string
}

type trendSeries struct {
	subject store.Subject
	lbls    labels.Labels
	ref     storage.SeriesRef
	m       state.Machine
	status  TrendStatus
}

func newTrends(e *Engine) *trends { return &trends{e: e, rules: map[string]*trendRule{}} }

// load replaces the rules with defs, keeping the states of rules whose
// definition did not change.
func (t *trends) load(defs []store.TrendRule, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := make(map[string]*trendRule, len(defs))
	for _, d := range defs {
		if d.Disabled {
			continue
		}
		if old, ok := t.rules[d.Name]; ok && sameRule(old.def, d) {
			next[d.Name] = old
			continue
		}
		c, err := trend.Compile(toTrendRule(d), nil)
		if err != nil {
			// The store refuses these; one saved before a stricter
			// version is reported and skipped.
			t.e.rec.log(store.LogEntry{Time: now.UnixMilli(), Level: "error", Component: "trend",
				Message: fmt.Sprintf("trend rule %q does not compile: %v", d.Name, err)})
			continue
		}
		r := &trendRule{def: d, compiled: c, next: now, series: map[uint64]*trendSeries{}}
		if old, ok := t.rules[d.Name]; ok {
			r.series = old.series // a changed rule keeps its states: no spurious events
		}
		next[d.Name] = r
	}
	t.rules = next
}

func sameRule(a, b store.TrendRule) bool {
	return a.Selector == b.Selector && a.Window == b.Window && a.Interval == b.Interval && a.Expr == b.Expr
}

// run evaluates due rules every second until ctx ends.
func (t *trends) run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		t.due(ctx, t.e.opts.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// due evaluates the rules whose time has come.
func (t *trends) due(ctx context.Context, now time.Time) {
	t.mu.Lock()
	var due []*trendRule
	for _, r := range t.rules {
		if !now.Before(r.next) {
			due = append(due, r)
		}
	}
	t.mu.Unlock()
	slices.SortFunc(due, func(a, b *trendRule) int { return cmp.Compare(a.def.Name, b.def.Name) })
	for _, r := range due {
		if ctx.Err() != nil {
			return
		}
		t.evaluate(ctx, r, now)
	}
}

// evaluate runs one round of r at now and records its states and events.
func (t *trends) evaluate(ctx context.Context, r *trendRule, now time.Time) {
	start := time.Now()
	trendRounds.Inc()
	outs, err := r.compiled.Evaluate(ctx, t.e.db, now)
	trendRoundSeconds.UpdateDuration(start)
	ts := now.UnixMilli()
	if err != nil {
		t.mu.Lock()
		r.next = now.Add(r.compiled.Rule().Interval)
		t.mu.Unlock()
		trendRoundErrors.Inc()
		if msg := err.Error(); msg != r.errMsg && ctx.Err() == nil {
			r.errMsg = msg
			t.e.rec.log(store.LogEntry{Time: ts, Level: "error", Component: "trend",
				Message: fmt.Sprintf("trend rule %q: %v", r.def.Name, err)})
		}
		return
	}
	t.mu.Lock()
	r.next = now.Add(r.compiled.Rule().Interval)
	r.errMsg = ""
	var (
		events []store.Event
		states []store.CurrentState
		trs    []state.Transition
	)
	app := t.e.db.Appender(ctx)
	seen := make(map[uint64]bool, len(outs))
	for _, o := range outs {
		h := o.Labels.Hash()
		seen[h] = true
		s, ok := r.series[h]
		if !ok {
			s = newTrendSeries(r.def.Name, o.Labels)
			r.series[h] = s
		}
		st, _ := classify.ParseState(o.State)
		reason := o.Explain
		if o.Err != nil {
			reason = o.Err.Error()
		}
		reason = fmt.Sprintf("trend rule %s: %s", r.def.Name, reason)
		trs = s.m.Observe(st, ts, reason, state.Policy{FlapWindow: state.NoFlapping}, trs[:0])
		cur, since, _ := s.m.State()
		if ref, err := app.Append(s.ref, s.lbls, ts, float64(cur)); err == nil {
			s.ref = ref
		}
		s.status.State, s.status.Since, s.status.Time, s.status.Explain = cur, since, ts, o.Explain
		s.status.Error = ""
		if o.Err != nil {
			s.status.Error = o.Err.Error()
		}
		for _, tr := range trs {
			events = append(events, store.Event{Time: ts, Kind: tr.Kind.String(), Subject: s.subject,
				From: int(tr.From), To: int(tr.To), Reason: tr.Reason})
		}
		if len(trs) > 0 {
			states = append(states, store.CurrentState{Key: subjectKey(s.subject), Subject: s.subject,
				State: int(cur), Since: since, Reason: reason, UpdatedAt: ts})
		}
	}
	if err := app.Commit(); err != nil {
		t.e.logger.Warn("write trend states", "rule", r.def.Name, "err", err)
	}
	// Series the selector no longer matches are forgotten.
	for h := range r.series {
		if !seen[h] {
			delete(r.series, h)
		}
	}
	t.mu.Unlock()
	t.e.emit(events, states)
}

func newTrendSeries(rule string, l labels.Labels) *trendSeries {
	b := labels.NewBuilder(l)
	b.Set(model.MetricNameLabel, MetricTrendState)
	b.Set("rule", rule)
	m := l.Map()
	delete(m, model.MetricNameLabel)
	subj := store.Subject{Kind: "trend", Rule: rule, Host: l.Get("host"), Plugin: l.Get("plugin"), Check: l.Get("check"), Labels: m}
	return &trendSeries{subject: subj, lbls: b.Labels(), status: TrendStatus{Rule: rule, Labels: m}}
}

// restore sets the states kept across a restart.
func (t *trends) restore(cs store.CurrentState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.rules[cs.Subject.Rule]
	if !ok {
		return
	}
	l := labels.FromMap(cs.Subject.Labels)
	s := newTrendSeries(r.def.Name, l)
	s.m = *state.Restore(classify.State(cs.State), cs.Since, false)
	s.status.State, s.status.Since, s.status.Time = classify.State(cs.State), cs.Since, cs.UpdatedAt
	r.series[l.Hash()] = s
}

// TrendStates returns the current state of every series under every
// enabled trend rule, by rule and labels.
func (e *Engine) TrendStates() []TrendStatus {
	t := e.trends
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []TrendStatus
	for _, r := range t.rules {
		for _, s := range r.series {
			out = append(out, s.status)
		}
	}
	slices.SortFunc(out, func(a, b TrendStatus) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), labels.Compare(labels.FromMap(a.Labels), labels.FromMap(b.Labels)))
	})
	return out
}

// Backtest evaluates rule (saved or not) every step over [from, to] on the
// stored data and lists when each series would have changed state.
func (e *Engine) Backtest(ctx context.Context, rule store.TrendRule, from, to time.Time, step time.Duration) ([]trend.Change, error) {
	c, err := trend.Compile(toTrendRule(rule), nil)
	if err != nil {
		return nil, err
	}
	return c.Backtest(ctx, e.db, from, to, step)
}

// Package stale finds checks whose results stopped arriving: when a host ×
// plugin × check has had no result for its schedule's period plus a grace
// period, it is overdue (DESIGN.md's "stale data"). Every tick the overdue
// checks go to Options.OnOverdue — the rules engine, which makes them
// unknown, writes prophasis_state = -1 and raises the event — or, without
// one, the Tracker writes the unknown state itself. The change is logged
// once; a result arriving ends it.
//
// It receives every new result through ingest's Hook, and learns what is
// expected from the configuration (checks × hosts × schedules). It imports
// Prometheus's storage interfaces and labels only; the server wires it.
package stale

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/wire"
)

// Key is one host × plugin × check.
type Key struct{ Host, Plugin, Check string }

// Expectations returns how often each key should report: the shortest
// period of its check's schedule. Called at start and every Refresh.
type Expectations func(ctx context.Context) (map[Key]time.Duration, error)

// StateUnknown is the value of prophasis_state for unknown.
const StateUnknown = -1

// MetricState is the state series (DESIGN.md).
const MetricState = "prophasis_state"

var staleChecks = metrics.NewGauge(`prophasis_stale_checks`, nil)

// Options tune a Tracker; zero values mean the defaults.
type Options struct {
	// Tick is how often overdue checks are looked for (default 10 s).
	Tick time.Duration
	// Refresh is how often the expectations are reloaded (default 1 min).
	Refresh time.Duration
	// Grace is added to a key's period before it counts as overdue
	// (default: the period itself, at least 30 s: a run may be up to its
	// max lateness late and the push may wait on a busy network).
	Grace time.Duration
	// OnOverdue, when set, receives the overdue keys every tick instead of
	// the Tracker writing unknown itself: the rules engine, which turns
	// them into state changes and events.
	OnOverdue func(ctx context.Context, overdue []Overdue, now time.Time)
	// ConfigChanged, when set, returns a channel closed at the next change
	// of the configuration (store.Store's): the expectations are reloaded
	// then too, so a new check is watched at once rather than after up to
	// Refresh.
	ConfigChanged func() <-chan struct{}
}

// Overdue is a key whose results stopped: its last result (zero when none
// since the server started) and its expected period.
type Overdue struct {
	Key    Key
	Last   time.Time
	Period time.Duration
}

// Tracker follows when each key last reported. Results is safe for
// concurrent use; Run must run once.
type Tracker struct {
	expect Expectations
	db     storage.Appendable
	logger *slog.Logger
	opts   Options

	mu       sync.Mutex
	lastSeen map[Key]time.Time
	stale    map[Key]bool
}

// New returns a Tracker.
func New(expect Expectations, db storage.Appendable, logger *slog.Logger, opts Options) *Tracker {
	if opts.Tick <= 0 {
		opts.Tick = 10 * time.Second
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Minute
	}
	return &Tracker{expect: expect, db: db, logger: logger.With("component", "stale"), opts: opts,
		lastSeen: map[Key]time.Time{}, stale: map[Key]bool{}}
}

// Results implements ingest.Hook: it records when each key reported.
func (t *Tracker) Results(_ context.Context, rs []wire.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range rs {
		r := &rs[i]
		k := Key{r.Host, r.Plugin, r.Check}
		ts := time.UnixMilli(r.Timestamp)
		if ts.After(t.lastSeen[k]) {
			t.lastSeen[k] = ts
		}
		if t.stale[k] {
			delete(t.stale, k)
			t.logger.Info("check reporting again", "host", k.Host, "plugin", k.Plugin, "check", k.Check)
		}
	}
}

func (t *Tracker) grace(period time.Duration) time.Duration {
	if t.opts.Grace > 0 {
		return t.opts.Grace
	}
	return max(period, 30*time.Second)
}

// Run looks for overdue keys every Tick until ctx ends. A key counts from
// Run's start (or from when it first became expected), so after a server
// restart every check gets a full period and grace to report.
func (t *Tracker) Run(ctx context.Context) error {
	expected := map[Key]time.Duration{}
	since := map[Key]time.Time{}
	refresh := func() {
		e, err := t.expect(ctx)
		if err != nil {
			if ctx.Err() == nil {
				t.logger.Warn("load expected checks", "err", err)
			}
			return
		}
		now := time.Now()
		for k := range e {
			if _, ok := since[k]; !ok {
				since[k] = now
			}
		}
		for k := range since {
			if _, ok := e[k]; !ok {
				delete(since, k)
			}
		}
		expected = e
	}
	var changed <-chan struct{}
	if t.opts.ConfigChanged != nil {
		changed = t.opts.ConfigChanged()
	}
	refresh()
	tick := time.NewTicker(t.opts.Tick)
	defer tick.Stop()
	lastRefresh := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			changed = t.opts.ConfigChanged()
			refresh()
			lastRefresh = time.Now()
			continue
		case <-tick.C:
		}
		if time.Since(lastRefresh) >= t.opts.Refresh {
			refresh()
			lastRefresh = time.Now()
		}
		t.check(ctx, expected, since, time.Now())
	}
}

// check writes unknown for every overdue key.
func (t *Tracker) check(ctx context.Context, expected map[Key]time.Duration, since map[Key]time.Time, now time.Time) {
	var overdue []Overdue
	t.mu.Lock()
	for k, period := range expected {
		seen := t.lastSeen[k]
		last := seen
		if s := since[k]; s.After(last) {
			last = s
		}
		if now.Sub(last) <= period+t.grace(period) {
			continue
		}
		if !t.stale[k] {
			t.stale[k] = true
			t.logger.Warn("check stale: no result for longer than its period plus grace",
				"host", k.Host, "plugin", k.Plugin, "check", k.Check, "last_result", last.UTC().Format(time.RFC3339), "period", period)
		}
		overdue = append(overdue, Overdue{Key: k, Last: seen, Period: period})
	}
	for k := range t.stale {
		if _, ok := expected[k]; !ok {
			delete(t.stale, k) // no longer configured
		}
	}
	staleChecks.Set(float64(len(t.stale)))
	t.mu.Unlock()
	if len(overdue) == 0 {
		return
	}
	if t.opts.OnOverdue != nil {
		t.opts.OnOverdue(ctx, overdue, now)
		return
	}
	app := t.db.Appender(ctx)
	for _, o := range overdue {
		k := o.Key
		b := labels.NewScratchBuilder(4)
		b.Add(model.MetricNameLabel, MetricState)
		b.Add("host", k.Host)
		b.Add("plugin", k.Plugin)
		if k.Check != "" {
			b.Add("check", k.Check)
		}
		b.Sort()
		if _, err := app.Append(0, b.Labels(), now.UnixMilli(), StateUnknown); err != nil {
			t.logger.Warn("write stale state", "host", k.Host, "plugin", k.Plugin, "err", err)
		}
	}
	if err := app.Commit(); err != nil {
		t.logger.Warn("write stale states", "err", err)
	}
}

// Stale returns the keys currently stale.
func (t *Tracker) Stale() []Key {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Key, 0, len(t.stale))
	for k := range t.stale {
		out = append(out, k)
	}
	return out
}

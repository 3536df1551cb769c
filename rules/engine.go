package rules

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/rules/stale"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// Series the engine writes (DESIGN.md).
const (
	// MetricState is the confirmed state of a host × plugin × check.
	MetricState = "prophasis_state"
	// MetricHostState is the worst confirmed state of a host's checks.
	MetricHostState = "prophasis_host_state"
)

var (
	classified        = metrics.NewCounter(`prophasis_rules_classifications_total`)
	classifyErrors    = metrics.NewCounter(`prophasis_rules_classifier_errors_total`)
	outOfOrder        = metrics.NewCounter(`prophasis_rules_out_of_order_results_total`)
	eventsTotal       = metrics.NewCounter(`prophasis_rules_events_total`)
	droppedAtShutdown = metrics.NewCounter(`prophasis_rules_results_unclassified_total`)
	latency           = metrics.NewHistogram(`prophasis_rules_latency_seconds`)
)

// Key is one host × plugin × check.
type Key = stale.Key

// Options tune an Engine; zero values mean the defaults.
type Options struct {
	// Shards is how many goroutines classify; GOMAXPROCS when zero. A host's
	// results always go to the same shard, so they are judged in order and
	// the host's rollup needs no locks.
	Shards int
	// Queue is how many batches may wait per shard before ingest waits.
	Queue int
	// Classify bounds each classifier call.
	Classify classify.Options
	// ErrorLogEvery is how often the same classifier error of one check is
	// written to the system log again (default 1 min); a changed error is
	// written at once.
	ErrorLogEvery time.Duration
	// Rebuild is how far back the histories are read from the TSDB at start
	// (default: 24 h).
	Rebuild time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Reach holds the agents' mesh views: a check whose results stopped
	// says in its reason what the mesh sees of its host. nil: no mesh.
	Reach *reach.Views
}

func (o Options) withDefaults() Options {
	if o.Shards <= 0 {
		o.Shards = runtime.GOMAXPROCS(0)
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.ErrorLogEvery <= 0 {
		o.ErrorLogEvery = time.Minute
	}
	if o.Rebuild <= 0 {
		o.Rebuild = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Classify.MaxIdle <= 0 {
		o.Classify.MaxIdle = o.Shards
	}
	return o
}

// Storage is what the engine needs of the TSDB: writing states and, at
// start, reading the histories back.
type Storage interface {
	storage.Appendable
	storage.Queryable
}

// Engine judges results as they arrive: it keeps each host × plugin ×
// check's last n results in memory, runs the check's classifier over them,
// confirms states (soft/hard, flapping), rolls checks up into host states,
// writes both as series and records every confirmed change as an event. It
// implements ingest's Hook.
type Engine struct {
	st     store.Store
	db     Storage
	logger *slog.Logger
	opts   Options
	comp   *compiler
	cfg    atomic.Pointer[config]
	seed   maphash.Seed
	shards []*shard
	rec    *recorder
	trends *trends
	rollup *rollup
	// pendingEvents are the service changes found at start, published
	// once Run starts.
	pendingEvents []store.Event

	mu   sync.Mutex
	subs []func([]store.Event)

	reloadMu sync.Mutex
	changed  atomic.Pointer[<-chan struct{}] // ConfigChanged as of the last load

	started chan struct{} // closed when the shards run
	done    chan struct{} // closed when Run returns
}

// New returns an Engine reading its configuration from st and writing
// states to db. Run must run for results to be judged.
func New(st store.Store, db Storage, logger *slog.Logger, opts Options) *Engine {
	opts = opts.withDefaults()
	e := &Engine{
		st: st, db: db, logger: logger.With("component", "rules"), opts: opts,
		comp: newCompiler(opts.Classify), seed: maphash.MakeSeed(),
		started: make(chan struct{}), done: make(chan struct{}),
	}
	e.rec = newRecorder(st, e.logger)
	e.trends = newTrends(e)
	e.rollup = newRollup(e)
	e.shards = make([]*shard, opts.Shards)
	for i := range e.shards {
		e.shards[i] = newShard(e, opts.Queue)
	}
	e.cfg.Store(&config{judges: map[judgeKey]*judge{}})
	return e
}

// Subscribe registers fn to receive every batch of events, after their
// states are written, on the shard's goroutine: fn must be quick (alerting
// queues them).
func (e *Engine) Subscribe(fn func([]store.Event)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.subs = append(e.subs, fn)
}

// emit records what a batch changed: its events to the subscribers and the
// store, then the changes of the services they affect.
func (e *Engine) emit(evs []store.Event, sts []store.CurrentState) {
	e.publish(evs)
	e.rec.record(evs, sts)
	e.rollup.apply(context.Background(), evs)
}

func (e *Engine) publish(evs []store.Event) {
	if len(evs) == 0 {
		return
	}
	eventsTotal.Add(len(evs))
	e.mu.Lock()
	subs := e.subs
	e.mu.Unlock()
	for _, fn := range subs {
		fn(evs)
	}
}

func (e *Engine) shardOf(host string) *shard {
	return e.shards[maphash.String(e.seed, host)%uint64(len(e.shards))]
}

// Results implements ingest.Hook: it hands the results to their hosts'
// shards and returns; it waits only when a shard's queue is full.
func (e *Engine) Results(ctx context.Context, rs []wire.Result) {
	received := e.opts.Now()
	e.fresh(ctx)
	if len(e.shards) == 1 {
		e.send(ctx, e.shards[0], work{results: append([]wire.Result(nil), rs...), received: received})
		return
	}
	parts := make(map[*shard][]wire.Result, len(e.shards))
	for i := range rs {
		s := e.shardOf(rs[i].Host)
		parts[s] = append(parts[s], rs[i])
	}
	for s, p := range parts {
		e.send(ctx, s, work{results: p, received: received})
	}
}

// Overdue marks checks whose results stopped as unknown (stale.Tracker's
// OnOverdue).
func (e *Engine) Overdue(ctx context.Context, overdue []stale.Overdue, now time.Time) {
	parts := map[*shard][]stale.Overdue{}
	for _, o := range overdue {
		s := e.shardOf(o.Key.Host)
		parts[s] = append(parts[s], o)
	}
	for s, p := range parts {
		e.send(ctx, s, work{overdue: p, received: now})
	}
}

func (e *Engine) send(ctx context.Context, s *shard, w work) {
	select {
	case s.in <- w:
	case <-e.done:
		// Stopped: the results are stored; the next start reads them
		// back into the histories but does not judge them.
		droppedAtShutdown.Add(len(w.results))
	case <-ctx.Done():
		droppedAtShutdown.Add(len(w.results))
	}
}

// Run loads the configuration, rebuilds the histories and states, then
// judges results until ctx ends, reloading the configuration whenever it
// changes. It returns after the queued results are judged and the events
// written.
func (e *Engine) Run(ctx context.Context) error {
	defer close(e.done)
	if err := e.reload(ctx); err != nil {
		return err
	}
	if err := e.restore(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	recDone := make(chan struct{})
	go func() { e.rec.run(); close(recDone) }()
	stop := make(chan struct{})
	for _, s := range e.shards {
		wg.Go(func() { s.run(stop) })
	}
	trendCtx, trendCancel := context.WithCancel(context.Background())
	wg.Go(func() { e.trends.run(trendCtx) })
	wg.Go(func() {
		tick := time.NewTicker(serviceEvery)
		defer tick.Stop()
		for {
			e.rollup.refresh(trendCtx, e.opts.Now())
			e.rollup.write(trendCtx, e.db, e.opts.Now().UnixMilli())
			select {
			case <-trendCtx.Done():
				return
			case <-tick.C:
			}
		}
	})
	close(e.started)
	e.publish(e.pendingEvents)
	e.pendingEvents = nil
	for {
		changed := *e.changed.Load()
		select {
		case <-ctx.Done():
			close(stop)
			trendCancel()
			wg.Wait()
			e.rec.close()
			<-recDone
			return nil
		case <-changed:
		}
		e.fresh(ctx)
		if *e.changed.Load() == changed {
			// The reload failed (and was logged): try again in a while
			// rather than spin.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// Sync waits until every result handed to the engine before the call is
// judged and its events and states are written to the store.
func (e *Engine) Sync(ctx context.Context) error {
	select {
	case <-e.started:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.done:
		return errStopped
	}
	for _, s := range e.shards {
		w := work{synced: make(chan struct{})}
		select {
		case s.in <- w:
		case <-ctx.Done():
			return ctx.Err()
		case <-e.done:
			return errStopped
		}
		select {
		case <-w.synced:
		case <-ctx.Done():
			return ctx.Err()
		case <-e.done:
			return errStopped
		}
	}
	e.rec.flush()
	return nil
}

// Started is closed once Run has rebuilt the histories and judges results.
func (e *Engine) Started() <-chan struct{} { return e.started }

// Reload loads the configuration now rather than when Run notices the
// change, so a caller that just changed it knows the next result is judged
// by it.
func (e *Engine) Reload(ctx context.Context) error { return e.reload(ctx) }

func (e *Engine) reload(ctx context.Context) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	// Taken before reading, so a change committed while loading makes the
	// next check reload again.
	changed := e.st.ConfigChanged()
	cfg, err := e.comp.load(ctx, e.st, func(check, plugin string, err error) {
		e.rec.log(store.LogEntry{Time: e.opts.Now().UnixMilli(), Level: "error", Component: "classifier",
			Plugin: plugin, Check: check, Message: err.Error()})
		e.logger.Warn("classifier does not compile; its results are unknown", "plugin", plugin, "check", check, "err", err)
	})
	if err != nil {
		return err
	}
	trendRules, err := e.st.TrendRules(ctx)
	if err != nil {
		return fmt.Errorf("load trend rules: %w", err)
	}
	services, err := e.st.Services(ctx)
	if err != nil {
		return fmt.Errorf("load services: %w", err)
	}
	svcEvents, err := e.rollup.load(services, e.opts.Now().UnixMilli())
	if err != nil {
		// The store refuses what the model refuses; say so and keep the
		// services as they were.
		e.logger.Warn("services not reloaded", "err", err)
	}
	e.cfg.Store(cfg)
	e.trends.load(trendRules, e.opts.Now())
	select {
	case <-e.started:
		// Before the start, restore recomputes the services from the
		// restored states instead.
		if len(svcEvents) > 0 {
			e.rollup.writeChanges(ctx, e.db, svcEvents)
			e.publish(svcEvents)
			e.rec.record(svcEvents, currentServiceStates(svcEvents))
		}
	default:
	}
	e.changed.Store(&changed)
	return nil
}

// fresh reloads the configuration if it changed since it was loaded, so a
// result arriving after a configuration change is judged by it (a plugin's
// new classifier applies from the next result on, not a moment later).
func (e *Engine) fresh(ctx context.Context) {
	ch := e.changed.Load()
	if ch == nil {
		return
	}
	select {
	case <-*ch:
		if err := e.reload(ctx); err != nil && ctx.Err() == nil {
			e.logger.Warn("reload configuration", "err", err)
		}
	default:
	}
}

// subjectKey is the key of a subject's current state in the store.
func subjectKey(s store.Subject) string {
	switch s.Kind {
	case "host":
		return "host\x00" + s.Host
	case "check":
		return "check\x00" + s.Host + "\x00" + s.Plugin + "\x00" + s.Check
	case "service":
		return "service\x00" + s.Service
	}
	return fmt.Sprintf("%s\x00%s\x00%v", s.Kind, s.Rule, s.Labels)
}

// errStopped is returned when the engine is used after Run returned.
var errStopped = errors.New("rules engine stopped")

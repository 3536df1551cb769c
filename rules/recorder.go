package rules

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/prophasis/prophasis/store"
)

var recordFailures = metrics.NewCounter(`prophasis_rules_record_failures_total`)

// recorder writes events, current states and system-log entries to the
// store from one goroutine, in batches, so a slow disk never holds up
// classification longer than its queue lasts.
type recorder struct {
	st     store.Store
	logger *slog.Logger
	in     chan recordItem

	mu     sync.RWMutex // held to send on in; closed under the write lock
	closed bool
}

type recordItem struct {
	events []store.Event
	states []store.CurrentState
	logs   []store.LogEntry
	flush  chan struct{}
}

func newRecorder(st store.Store, logger *slog.Logger) *recorder {
	return &recorder{st: st, logger: logger, in: make(chan recordItem, 4096)}
}

func (r *recorder) record(evs []store.Event, sts []store.CurrentState) {
	if len(evs) == 0 && len(sts) == 0 {
		return
	}
	r.send(recordItem{events: evs, states: sts})
}

func (r *recorder) log(e store.LogEntry) { r.send(recordItem{logs: []store.LogEntry{e}}) }

// send queues it; after close it drops it (the engine has stopped).
func (r *recorder) send(it recordItem) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		recordFailures.Inc()
		return false
	}
	r.in <- it
	return true
}

// flush waits until everything recorded so far is written.
func (r *recorder) flush() {
	done := make(chan struct{})
	if r.send(recordItem{flush: done}) {
		<-done
	}
}

func (r *recorder) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.in)
	}
}

// gather is how long the recorder collects before writing: a storm of
// state changes becomes a few transactions a second instead of one per
// judged batch (each SQLite commit costs far more than its rows).
const gather = 100 * time.Millisecond

func (r *recorder) run() {
	var (
		evs     []store.Event
		sts     []store.CurrentState
		logs    []store.LogEntry
		flushes []chan struct{}
	)
	for item := range r.in {
		add := func(it recordItem) {
			evs = append(evs, it.events...)
			sts = append(sts, it.states...)
			logs = append(logs, it.logs...)
			if it.flush != nil {
				flushes = append(flushes, it.flush)
			}
		}
		add(item)
		deadline := time.NewTimer(gather)
	more:
		for len(flushes) == 0 && len(evs)+len(sts)+len(logs) < 10_000 {
			select {
			case it, ok := <-r.in:
				if !ok {
					break more
				}
				add(it)
			case <-deadline.C:
				break more
			}
		}
		deadline.Stop()
		r.write(evs, sts, logs)
		for _, f := range flushes {
			close(f)
		}
		evs, sts, logs, flushes = nil, nil, nil, nil
	}
}

func (r *recorder) write(evs []store.Event, sts []store.CurrentState, logs []store.LogEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if len(evs) > 0 {
		if err := r.st.AppendEvents(ctx, evs); err != nil {
			recordFailures.Inc()
			r.logger.Warn("record events", "events", len(evs), "err", err)
		}
	}
	if len(sts) > 0 {
		// Later entries for a key win; the store upserts in order.
		if err := r.st.SaveStates(ctx, sts); err != nil {
			recordFailures.Inc()
			r.logger.Warn("record states", "states", len(sts), "err", err)
		}
	}
	if len(logs) > 0 {
		if err := r.st.AppendSystemLog(ctx, logs); err != nil {
			recordFailures.Inc()
			r.logger.Warn("record system log", "entries", len(logs), "err", err)
		}
	}
}

package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// countAttempt counts an attempt's outcome per module: ok, retry (failed,
// another try follows), failed (for good), dropped (queue full or closed).
// Module names are store names (letters, digits, '_', '.', '-'), safe in a
// label value.
func countAttempt(module, result string) {
	metrics.GetOrCreateCounter(`prophasis_notify_attempts_total{module="` + module + `",result="` + result + `"}`).Inc()
}

// notifyDuration is how long each try of each module takes.
func notifyDuration(module string) *metrics.Histogram {
	return metrics.GetOrCreateHistogram(`prophasis_notify_duration_seconds{module="` + module + `"}`)
}

// Attempt is the outcome of one try to send one alert through one module,
// reported to Send's done for the alert history.
type Attempt struct {
	Module  string `json:"module"`
	AlertID string `json:"alert_id"`
	// Try counts from 1; 0 for an alert dropped before any try.
	Try  int       `json:"try"`
	Time time.Time `json:"time"`
	// Duration is how long the try took.
	Duration time.Duration `json:"duration"`
	// Err is "" on success.
	Err string `json:"error,omitempty"`
	// Retry says another try follows.
	Retry bool `json:"retry"`
	// Final says this was the last report about the alert: it was sent,
	// or failed for good, or was dropped.
	Final bool `json:"final"`
	// Payload is what was sent (see Payloader), without secrets; nil for
	// notifiers that cannot say.
	Payload []byte `json:"payload,omitempty"`
}

// DispatcherOptions tune a Dispatcher; zero fields take the defaults.
type DispatcherOptions struct {
	// QueueSize bounds each module's queue; when full, the oldest alert
	// is dropped (and reported). Default 10,000: hours of a storm.
	QueueSize int
	// MaxAttempts bounds the tries per alert. Default 8, which with the
	// default backoff spans about four minutes.
	MaxAttempts int
	// Backoff is the wait before the second try, doubled before each
	// next one up to MaxBackoff. Defaults 1 s and 5 min.
	Backoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one try beyond the notifier's own timeout.
	// Default 10 min (the longest a module may set).
	AttemptTimeout time.Duration
	// CloseTimeout is how long Close waits for the queues to drain.
	// Default 10 s.
	CloseTimeout time.Duration
}

func (o *DispatcherOptions) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.QueueSize, 10000)
	def(&o.MaxAttempts, 8)
	defD(&o.Backoff, time.Second)
	defD(&o.MaxBackoff, 5*time.Minute)
	defD(&o.AttemptTimeout, 10*time.Minute)
	defD(&o.CloseTimeout, 10*time.Second)
}

// Error texts of attempts that never reached a notifier.
const (
	ErrQueueFull = "queue full"
	ErrClosed    = "dispatcher closed"
)

// Dispatcher sends alerts through modules in the background: one queue and
// one goroutine per module name, so a module that hangs or fails delays
// only its own alerts. Within a module alerts go in order, each retried
// with exponential backoff before the next, so a recovery never overtakes
// its alert. All methods are safe for concurrent use.
type Dispatcher struct {
	logger *slog.Logger
	opts   DispatcherOptions

	// ctx ends when Close gives up waiting; it cancels tries and backoff.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	queues  map[string]*queue
	closed  bool
	running sync.WaitGroup
}

// job is one alert waiting in a module's queue.
type job struct {
	n    Notifier
	a    Alert
	done func(Attempt)
}

// queue is one module's backlog; a goroutine runs while it is non-empty.
type queue struct {
	name    string
	jobs    []job // FIFO; jobs[0] is next
	running bool
}

// NewDispatcher returns a Dispatcher. logger may be nil.
func NewDispatcher(logger *slog.Logger, opts DispatcherOptions) *Dispatcher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{
		logger: logger.With("component", "notify"),
		opts:   opts,
		ctx:    ctx,
		cancel: cancel,
		queues: map[string]*queue{},
	}
}

// Send queues a for the module called name, sent through n, and returns at
// once. done (may be nil) hears of every attempt; it runs on the module's
// goroutine, or on the caller's for an alert dropped from a full queue or
// sent after Close, so it must not block for long and must not call Send
// of the same module synchronously.
func (d *Dispatcher) Send(name string, n Notifier, a Alert, done func(Attempt)) {
	if done == nil {
		done = func(Attempt) {}
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		countAttempt(name, "dropped")
		done(Attempt{Module: name, AlertID: a.ID, Time: time.Now(), Err: ErrClosed, Final: true})
		return
	}
	q := d.queues[name]
	if q == nil {
		q = &queue{name: name}
		d.queues[name] = q
	}
	var dropped *job
	if len(q.jobs) >= d.opts.QueueSize {
		dropped = &job{}
		*dropped = q.jobs[0]
		q.jobs[0] = job{}
		q.jobs = q.jobs[1:]
	}
	q.jobs = append(q.jobs, job{n: n, a: a, done: done})
	if !q.running {
		q.running = true
		d.running.Add(1)
		go d.run(q)
	}
	d.mu.Unlock()
	if dropped != nil {
		d.logger.Warn("queue full, dropped the oldest alert", "module", name, "alert", dropped.a.ID)
		countAttempt(name, "dropped")
		dropped.done(Attempt{Module: name, AlertID: dropped.a.ID, Time: time.Now(), Err: ErrQueueFull, Final: true})
	}
}

// run sends a queue's alerts until it is empty.
func (d *Dispatcher) run(q *queue) {
	defer d.running.Done()
	for {
		d.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			delete(d.queues, q.name)
			d.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = job{}
		q.jobs = q.jobs[1:]
		d.mu.Unlock()
		d.deliver(q.name, j)
	}
}

// deliver tries one alert until it is sent, fails for good or runs out of
// tries, reporting each try.
func (d *Dispatcher) deliver(name string, j job) {
	var payload []byte
	if p, ok := j.n.(Payloader); ok {
		payload, _ = p.Payload(j.a)
	}
	wait := d.opts.Backoff
	for try := 1; ; try++ {
		if d.ctx.Err() != nil {
			countAttempt(name, "dropped")
			j.done(Attempt{Module: name, AlertID: j.a.ID, Try: try - 1, Time: time.Now(), Err: ErrClosed, Final: true, Payload: payload})
			return
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(d.ctx, d.opts.AttemptTimeout)
		retry, err := j.n.Notify(ctx, j.a)
		cancel()
		at := Attempt{Module: name, AlertID: j.a.ID, Try: try, Time: start, Duration: time.Since(start), Payload: payload}
		notifyDuration(name).Update(at.Duration.Seconds())
		if err == nil {
			countAttempt(name, "ok")
			at.Final = true
			j.done(at)
			return
		}
		at.Err = err.Error()
		at.Retry = retry && try < d.opts.MaxAttempts && d.ctx.Err() == nil
		at.Final = !at.Retry
		if at.Retry {
			countAttempt(name, "retry")
		} else {
			countAttempt(name, "failed")
		}
		d.logger.Warn("notification failed", "module", name, "alert", j.a.ID, "try", try, "retry", at.Retry, "err", at.Err)
		j.done(at)
		if !at.Retry {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.ctx.Done():
			t.Stop()
		}
		wait = min(2*wait, d.opts.MaxBackoff)
	}
}

// Close stops taking alerts, waits up to CloseTimeout for the queues to
// drain, then cancels what is still being tried or waiting, reporting those
// alerts as ErrClosed. Safe to call twice.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	drained := make(chan struct{})
	go func() {
		d.running.Wait()
		close(drained)
	}()
	t := time.NewTimer(d.opts.CloseTimeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		d.logger.Warn("gave up waiting for notifications to drain", "timeout", d.opts.CloseTimeout)
		d.cancel()
		<-drained
	}
	d.cancel()
}

// Package runner executes an agent's runs one at a time: plugin processes
// and built-in collectors share one queue, ordered by schedule slot
// (earliest first), and never two run at once on a host, so plugins cannot
// interfere with each other and a host is never overwhelmed by its own
// monitoring.
//
// A plugin process runs in a process group of its own, as an unprivileged
// user when the agent is root, with stdin from /dev/null, a minimal
// environment (see Env), capped output and a timeout; on timeout, and when
// its main process ends, the whole group is killed, grandchildren included.
// Turning a plugin's output into a wire.Result is the job of the plugin
// kind's parser, which a job carries (Plugin.Parse).
//
// Only the agent imports this package (cmd/prophasis-agent wires it to the
// schedule and the spool).
package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prophasis/prophasis/agent/schedule"
	"github.com/prophasis/prophasis/wire"
)

// DefaultQueueLimit bounds the queue: a host with 1000 runs waiting is far
// behind, and older ones would be skipped as too late anyway.
const DefaultQueueLimit = 1000

// ErrQueueFull is returned by Submit when the queue holds its limit.
var ErrQueueFull = errors.New("run queue full")

// Config configures a Runner.
type Config struct {
	// Host is copied into every result.
	Host string
	// User is who plugins run as when the agent is root; empty means
	// "nobody". See NewExecutor.
	User string
	// OutputCap bounds each of a plugin's stdout and stderr; zero means
	// DefaultOutputCap.
	OutputCap int
	// QueueLimit bounds the number of waiting jobs; zero means
	// DefaultQueueLimit.
	QueueLimit int
	// Done receives the result of every job: run, failed or skipped. It is
	// called from Run's goroutine, one result at a time, and the next job
	// waits for it, so it should hand the result on (to the spool) and
	// return.
	Done func(Job, wire.Result)
	// Logger; nil discards logs.
	Logger *slog.Logger
}

// Stats are counters since the Runner was made.
type Stats struct {
	// Ran counts jobs that ran (whatever their result).
	Ran int64
	// Skipped counts jobs that waited past their max lateness.
	Skipped int64
	// Rejected counts jobs refused because the queue was full.
	Rejected int64
}

// Runner is the queue of jobs and the loop that runs them one at a time.
//
// Submit, Len and Stats may be called from any goroutine at any time. Run
// must not be called twice at once: one Run loop is what makes runs
// sequential.
type Runner struct {
	cfg    Config
	logger *slog.Logger
	exec   *Executor
	ready  chan struct{} // a job was submitted; capacity 1

	mu    sync.Mutex
	queue jobQueue
	seq   uint64
	stats Stats
}

// New returns a Runner with an empty queue. It fails when cfg.Done is nil or
// when the plugin user cannot be used (see NewExecutor).
func New(cfg Config) (*Runner, error) {
	if cfg.Done == nil {
		return nil, errors.New("runner: no Done function")
	}
	if cfg.QueueLimit < 0 {
		return nil, fmt.Errorf("runner: negative queue limit %d", cfg.QueueLimit)
	}
	cfg.QueueLimit = cmp.Or(cfg.QueueLimit, DefaultQueueLimit)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "runner")
	x, err := NewExecutor(cfg.User, cfg.OutputCap, logger)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	return &Runner{cfg: cfg, logger: logger, exec: x, ready: make(chan struct{}, 1)}, nil
}

// Submit queues a job. It never blocks; it fails with ErrQueueFull when the
// queue is at its limit, and when the job has no task.
func (r *Runner) Submit(j Job) error {
	if j.Task == nil {
		return fmt.Errorf("submit %s/%s: no task", j.Check, j.Plugin)
	}
	if j.Slot.IsZero() {
		j.Slot = time.Now()
	}
	r.mu.Lock()
	if len(r.queue) >= r.cfg.QueueLimit {
		r.stats.Rejected++
		r.mu.Unlock()
		return fmt.Errorf("submit %s/%s: %w (%d jobs)", j.Check, j.Plugin, ErrQueueFull, r.cfg.QueueLimit)
	}
	r.seq++
	heapPush(&r.queue, queued{job: j, seq: r.seq})
	r.mu.Unlock()
	select {
	case r.ready <- struct{}{}:
	default:
	}
	return nil
}

// Len returns the number of jobs waiting (not counting the one running).
func (r *Runner) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

// Stats returns the counters.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Run runs queued jobs one at a time, earliest slot first, and hands each
// result to Done, until ctx is done; then it returns nil, since stopping is
// not a failure. A run cut short by ctx (its process group killed) is not
// reported; jobs still queued stay queued.
func (r *Runner) Run(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		j, ok := r.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-r.ready:
				continue
			}
		}
		res := r.runOne(ctx, j)
		if ctx.Err() != nil {
			return nil
		}
		r.cfg.Done(j, res)
	}
}

func (r *Runner) pop() (Job, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return Job{}, false
	}
	return heapPop(&r.queue).job, true
}

// runOne runs j, or skips it when it waited past its max lateness.
func (r *Runner) runOne(ctx context.Context, j Job) wire.Result {
	start := time.Now()
	if late := start.Sub(j.Slot); j.MaxLateness > 0 && late > j.MaxLateness {
		r.mu.Lock()
		r.stats.Skipped++
		r.mu.Unlock()
		r.logger.Info("run skipped: waited too long in the queue", "check", j.Check, "plugin", j.Plugin,
			"slot", j.Slot, "late", late, "max_lateness", j.MaxLateness)
		return wire.Result{
			Host:      r.cfg.Host,
			Check:     j.Check,
			Plugin:    j.Plugin,
			Timestamp: j.Slot.UnixMilli(),
			Skipped:   true,
			Message:   schedule.SkipMessage(j.Slot, late, j.MaxLateness),
		}
	}
	res := j.Task.Do(ctx, r.exec)
	res.Host, res.Check, res.Plugin = r.cfg.Host, j.Check, j.Plugin
	res.Timestamp = start.UnixMilli()
	res.Duration = time.Since(start).Seconds()
	r.mu.Lock()
	r.stats.Ran++
	r.mu.Unlock()
	return res
}

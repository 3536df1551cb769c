package classify

import (
	"context"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// The watchdog enforces each call's time limit and memory bound, and stops a
// call whose caller's context is done.
//
// Time: gopher-lua checks its context's Done channel before every
// instruction. A context.WithTimeout per call costs a timer and five
// allocations, a fifth of a classification, so each sandbox owns one
// reusable callContext that the watchdog closes when the call's deadline
// passes (precision: watchInterval).
//
// Memory: gopher-lua has no per-state memory limit (and SetMx exits the whole
// process), so a classifier's memory is bounded in layers:
//
//   - every string it can build is at most MaxString bytes (concatenation is
//     rewritten to a bounded call, string.rep/format/gsub and table.concat are
//     capped), so no single instruction allocates more than a few MiB;
//   - the data and call stacks have fixed sizes;
//   - what remains is growth by many small allocations (a table filled in a
//     loop, many distinct strings). While calls run, the watchdog samples
//     the process's heap (runtime/metrics) every watchInterval and stops a
//     call once the heap has grown more than its MemoryLimit since the
//     watchdog first saw that call.
//
// Limits, honestly: the heap is the process's, not the call's, so a burst of
// allocation elsewhere in the server can stop an innocent classifier (it
// returns Unknown with ErrMemory; the next call runs normally), and a call
// can overshoot its limit by what it allocates in one interval (tens of MiB
// at most at gopher-lua's speed) plus what it allocated before the first
// sample. Go functions (the helpers, string functions) are not interrupted
// mid-way; each is bounded by MaxString or the data stack.
const watchInterval = time.Millisecond

const heapMetric = "/memory/classes/heap/objects:bytes"

// Why the watchdog stopped a call.
const (
	stopNone = iota
	stopTimeout
	stopMemory
	stopCaller
)

// callContext is the context a sandbox's Lua state runs under. Only Done
// matters to gopher-lua (and Err to its error message).
type callContext struct {
	done chan struct{}
}

func (c *callContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *callContext) Done() <-chan struct{}       { return c.done }
func (c *callContext) Value(any) any               { return nil }
func (c *callContext) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// watchEntry is a sandbox as the watchdog sees it; it is registered once,
// when its sandbox is made, so a call only flips active and fills the fields
// (under mu, which the watchdog takes only for active entries).
type watchEntry struct {
	active atomic.Bool
	closed atomic.Bool

	mu       sync.Mutex
	ctx      callContext
	parent   context.Context // nil when it can never be done
	deadline time.Time
	limit    uint64
	baseline uint64 // heap when first seen by the watchdog; 0 until then
	stopped  int
}

// watchdog knows every open sandbox until it is closed (by the pool, after
// a failed call, or when its Classifier is garbage: see pool.go). Its
// goroutine runs only while calls are running, and each tick costs an atomic
// load per open sandbox.
var watchdog struct {
	mu      sync.Mutex
	entries []*watchEntry
	running atomic.Bool
	calls   atomic.Int64 // calls running now
}

// register makes e known to the watchdog.
func register(e *watchEntry) {
	e.ctx.done = make(chan struct{})
	watchdog.mu.Lock()
	watchdog.entries = append(watchdog.entries, e)
	watchdog.mu.Unlock()
}

// watch starts watching e's call.
func watch(e *watchEntry, parent context.Context, timeout time.Duration, limit uint64) {
	if parent.Done() == nil {
		parent = nil
	}
	deadline := time.Now().Add(timeout)
	e.mu.Lock()
	e.parent, e.limit, e.baseline, e.stopped, e.deadline = parent, limit, 0, stopNone, deadline
	e.mu.Unlock()
	e.active.Store(true)
	watchdog.calls.Add(1)
	if !watchdog.running.Load() && watchdog.running.CompareAndSwap(false, true) {
		go watchLoop()
	}
}

// unwatch stops watching e's call and returns why the watchdog stopped it
// (stopNone when it did not). A stopped entry gets a fresh Done channel.
func unwatch(e *watchEntry) int {
	e.active.Store(false)
	watchdog.calls.Add(-1)
	e.mu.Lock()
	stopped := e.stopped
	e.parent = nil
	if stopped != stopNone {
		e.ctx.done = make(chan struct{})
		e.stopped = stopNone
	}
	e.mu.Unlock()
	return stopped
}

func watchLoop() {
	sample := []metrics.Sample{{Name: heapMetric}}
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	var live []*watchEntry
	for now := range t.C {
		if watchdog.calls.Load() == 0 {
			// Stop, unless a call started meanwhile and found us running.
			watchdog.running.Store(false)
			if watchdog.calls.Load() == 0 || !watchdog.running.CompareAndSwap(false, true) {
				return
			}
		}
		metrics.Read(sample)
		heap := sample[0].Value.Uint64()
		live = live[:0]
		watchdog.mu.Lock()
		kept := watchdog.entries[:0]
		for _, e := range watchdog.entries {
			if !e.closed.Load() {
				kept = append(kept, e)
				if e.active.Load() {
					live = append(live, e)
				}
			}
		}
		clear(watchdog.entries[len(kept):])
		watchdog.entries = kept
		watchdog.mu.Unlock()
		for _, e := range live {
			check(e, now, heap)
		}
		clear(live)
	}
}

// check stops e's call if it is past its deadline, its caller gave up, or
// the heap grew past its limit.
func check(e *watchEntry, now time.Time, heap uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.active.Load() || e.stopped != stopNone {
		return
	}
	switch {
	case e.parent != nil && e.parent.Err() != nil:
		e.stopped = stopCaller
	case now.After(e.deadline):
		e.stopped = stopTimeout
	case e.baseline == 0:
		e.baseline = heap
	case heap > e.baseline && heap-e.baseline > e.limit:
		e.stopped = stopMemory
	}
	if e.stopped != stopNone {
		close(e.ctx.done)
	}
}

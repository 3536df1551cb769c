package classify

import (
	"context"
	"runtime/metrics"
	"sync"
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

// watchEntry is a running call as the watchdog sees it; it lives in the
// sandbox so registering a call allocates nothing. Its fields are guarded by
// watchdog.mu while the call is registered.
type watchEntry struct {
	ctx      callContext
	parent   context.Context // nil when it can never be done
	deadline time.Time
	limit    uint64
	baseline uint64 // heap when first seen by the watchdog; 0 until then
	stopped  int
}

// watchdog tracks the running calls. Its goroutine runs only while there are
// calls to watch.
var watchdog struct {
	mu      sync.Mutex
	calls   map[*watchEntry]struct{}
	running bool
}

// watch registers e until unwatch.
func watch(e *watchEntry, parent context.Context, timeout time.Duration, limit uint64) {
	if e.ctx.done == nil {
		e.ctx.done = make(chan struct{})
	}
	if parent.Done() == nil {
		parent = nil
	}
	e.parent, e.limit, e.baseline, e.stopped = parent, limit, 0, stopNone
	e.deadline = time.Now().Add(timeout)
	watchdog.mu.Lock()
	if watchdog.calls == nil {
		watchdog.calls = make(map[*watchEntry]struct{})
	}
	watchdog.calls[e] = struct{}{}
	if !watchdog.running {
		watchdog.running = true
		go watchLoop()
	}
	watchdog.mu.Unlock()
}

// unwatch removes e and returns why the watchdog stopped the call (stopNone
// when it did not). A stopped entry gets a fresh Done channel.
func unwatch(e *watchEntry) int {
	watchdog.mu.Lock()
	delete(watchdog.calls, e)
	watchdog.mu.Unlock()
	e.parent = nil
	if e.stopped != stopNone {
		e.ctx.done = make(chan struct{})
	}
	return e.stopped
}

func watchLoop() {
	sample := []metrics.Sample{{Name: heapMetric}}
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for now := range t.C {
		metrics.Read(sample)
		heap := sample[0].Value.Uint64()
		watchdog.mu.Lock()
		if len(watchdog.calls) == 0 {
			watchdog.running = false
			watchdog.mu.Unlock()
			return
		}
		for e := range watchdog.calls {
			if e.stopped != stopNone {
				continue
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
		watchdog.mu.Unlock()
	}
}

package classify

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestWatchdogCheck drives the watchdog's decision for one entry with
// explicit clocks and heap figures.
func TestWatchdogCheck(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	f := func(name string, parent context.Context, now time.Time, heaps []uint64, want int) {
		t.Helper()
		e := unregisteredEntry()
		e.parent, e.deadline, e.limit = parent, t0.Add(50*time.Millisecond), 100
		e.active.Store(true)
		for _, h := range heaps {
			check(e, now, h)
		}
		if e.stopped != want {
			t.Errorf("%s: stopped %d, want %d", name, e.stopped, want)
		}
		select {
		case <-e.ctx.Done():
			if want == stopNone {
				t.Errorf("%s: context done", name)
			}
		default:
			if want != stopNone {
				t.Errorf("%s: context not done", name)
			}
		}
	}
	f("running, within limits", nil, t0, []uint64{1000, 1050, 1100}, stopNone)
	f("past the deadline", nil, t0.Add(51*time.Millisecond), []uint64{1000}, stopTimeout)
	f("heap grew past the limit", nil, t0, []uint64{1000, 1050, 1101}, stopMemory)
	f("heap shrank", nil, t0, []uint64{1000, 10}, stopNone)
	f("caller gave up", cancelled, t0, []uint64{1000}, stopCaller)
	f("caller still waiting", context.Background(), t0, []uint64{1000}, stopNone)

	// An entry that is not running is left alone.
	e := unregisteredEntry()
	e.deadline = t0
	check(e, t0.Add(time.Hour), 1)
	if e.stopped != stopNone {
		t.Error("inactive entry stopped")
	}
	// After a stop, unwatch hands the entry a fresh context.
	e.active.Store(true)
	check(e, t0.Add(time.Hour), 1)
	watchdog.calls.Add(1)
	if got := unwatch(e); got != stopTimeout {
		t.Fatalf("unwatch: %d", got)
	}
	if e.ctx.Err() != nil {
		t.Error("context still done after unwatch")
	}
}

// unregisteredEntry is an entry the running watchdog does not know, so
// that only the test decides about it.
func unregisteredEntry() *watchEntry {
	return &watchEntry{ctx: callContext{done: make(chan struct{})}}
}

// TestCallerCancelsMidway: the caller's context ends a running call.
func TestCallerCancelsMidway(t *testing.T) {
	c, err := CompileOptions("loop", `while true do end`, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	st, err := c.Classify(ctx, History{})
	if st != Unknown || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, %v", st, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestStoppedStateIsNotReused: after a stop, the same Classifier (one idle
// state at most) classifies normally again. The caller's context stops the
// loop, so that the normal call has all the time it needs.
func TestStoppedStateIsNotReused(t *testing.T) {
	c, err := CompileOptions("maybe", `if values[1] > 0 then while true do end end return "ok"`, Options{Timeout: 10 * time.Second, MaxIdle: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		st, err := c.Classify(ctx, History{Values: []float64{1}})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("loop: %v, %v", st, err)
		}
		if st, err := c.Classify(context.Background(), History{Values: []float64{0}}); st != OK || err != nil {
			t.Fatalf("after the loop: %v, %v", st, err)
		}
	}
}

// TestWatchdogLoop runs the watchdog goroutine on synctest's clock: it stops
// a call once its deadline has passed (not before, within one tick), and
// the goroutine exits once no call is running (synctest.Test would fail
// with a goroutine left in the bubble otherwise).
func TestWatchdogLoop(t *testing.T) {
	// A loop started by an earlier test exits within a tick of going idle.
	for watchdog.running.Load() {
		time.Sleep(time.Millisecond)
	}
	synctest.Test(t, func(t *testing.T) {
		e := unregisteredEntry()
		register(e)
		defer e.closed.Store(true)
		watch(e, context.Background(), 50*time.Millisecond, 1<<62)
		time.Sleep(49 * time.Millisecond)
		synctest.Wait()
		if e.ctx.Err() != nil {
			t.Fatal("stopped before the deadline")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if e.ctx.Err() == nil {
			t.Fatal("not stopped after the deadline")
		}
		if got := unwatch(e); got != stopTimeout {
			t.Fatalf("unwatch: %d, want stopTimeout", got)
		}
		time.Sleep(2 * watchInterval)
		synctest.Wait()
		if watchdog.running.Load() {
			t.Error("the watchdog still runs with no call to watch")
		}
	})
}

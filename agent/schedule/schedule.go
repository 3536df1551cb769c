// Package schedule turns an agent's plan into due runs on the schedule grid:
// every interval of a run fires at Start + k × Period, so all hosts of a
// check run at the same instants and their graphs line up.
//
// The Scheduler is a clock-driven loop that uses only time.Now and timers (so
// testing/synctest drives it). After a pause (the process stopped, the
// machine suspended, the clock stepped) it fast-forwards to the latest grid
// point instead of running a burst of missed ones, and a run that would start
// later than its max lateness is handed over as a skipped Event, to be
// reported to the server.
//
// Only the agent imports this package (the runner and cmd/prophasis-agent).
package schedule

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// maxWait bounds how long the loop sleeps between looks at the wall clock.
// Timers run on the monotonic clock, which stands still while the machine is
// suspended and ignores clock steps; waking at least this often notices such
// a jump within 10 s at the cost of one idle wake-up.
const maxWait = 10 * time.Second

// Event is one grid point of one run, handed to the consumer when it is due.
type Event struct {
	// Run is the plan entry, as of the latest plan.
	Run wire.PlanRun
	// Slot is the grid point the run belongs to.
	Slot time.Time
	// Late is how long after Slot the event was produced.
	Late time.Duration
	// Skipped is set when Late exceeds the run's max lateness: the run must
	// not start; report it (see SkippedResult) instead. A max lateness of
	// zero means no limit; since fast-forward always picks the latest grid
	// point, such a run is then at most one period late.
	Skipped bool
	// Missed counts the grid points passed over by fast-forward just before
	// Slot (points of several intervals that coincide may count once each).
	Missed int64
}

// Stats are counters since the Scheduler was made.
type Stats struct {
	// Due counts events handed over to run.
	Due int64
	// Skipped counts events handed over as skipped (too late).
	Skipped int64
	// Missed counts grid points passed over by fast-forward, without an event.
	Missed int64
}

// entry is one run of the current plan and its position on the grid.
type entry struct {
	run  wire.PlanRun
	next time.Time // the next grid point to hand over
	last time.Time // the last grid point handed over; zero before the first
}

// Scheduler hands due runs of the current plan to a consumer.
//
// SetPlan and Stats may be called from any goroutine, at any time, also
// before or after Run. Run must not be called twice at once. The consumer is
// called from Run's goroutine only, one event at a time; while it runs the
// clock keeps going, so it should hand the event on (to a queue) and return.
type Scheduler struct {
	logger  *slog.Logger
	consume func(Event)
	wake    chan struct{} // a plan changed; capacity 1

	mu      sync.Mutex
	entries map[key]*entry
	seen    time.Time // wall clock at the previous look, to notice a step back
	stats   Stats
}

// New returns a Scheduler with an empty plan that hands events to consume.
// A nil logger discards logs.
func New(logger *slog.Logger, consume func(Event)) *Scheduler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{
		logger:  logger,
		consume: consume,
		wake:    make(chan struct{}, 1),
		entries: make(map[key]*entry),
	}
}

// SetPlan replaces the plan. A run whose check, plugin and intervals are
// unchanged keeps its position on the grid (its other fields, such as
// version and parameters, are taken from the new plan); a new or rescheduled
// run starts on its next grid point (at or after now); a run no longer in the
// plan stops. An invalid plan (see Validate) is rejected and the current one
// stays. The scheduler keeps runs but never modifies them.
func (s *Scheduler) SetPlan(runs []wire.PlanRun) error {
	if err := Validate(runs); err != nil {
		return err
	}
	now := time.Now().Round(0)
	s.mu.Lock()
	entries := make(map[key]*entry, len(runs))
	for _, r := range runs {
		r.Intervals = slices.Clone(r.Intervals)
		for i := range r.Intervals {
			r.Intervals[i].Start = r.Intervals[i].Start.Round(0)
		}
		k := keyOf(r)
		old := s.entries[k]
		e := &entry{run: r}
		switch {
		case old != nil && sameIntervals(old.run.Intervals, r.Intervals):
			e.next, e.last = old.next, old.last
		case old != nil && !old.last.IsZero():
			// Rescheduled: never hand over a slot at or before the last one
			// again.
			e.last = old.last
			e.next = nextAtOrAfter(r.Intervals, later(now, old.last.Add(1)))
		default:
			e.next = nextAtOrAfter(r.Intervals, now)
		}
		entries[k] = e
	}
	s.entries = entries
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.logger.Debug("plan replaced", "runs", len(runs))
	return nil
}

// Stats returns the counters.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Run hands due events to the consumer until ctx is done, then returns nil:
// stopping is not a failure.
func (s *Scheduler) Run(ctx context.Context) error {
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	for {
		for _, ev := range s.due(time.Now().Round(0)) {
			if ctx.Err() != nil {
				return nil
			}
			s.consume(ev)
		}
		timer.Reset(s.wait(time.Now().Round(0)))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-s.wake:
		}
	}
}

// due advances every run whose next grid point is at or before now and
// returns their events, earliest slot first.
func (s *Scheduler) due(now time.Time) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.seen) {
		// The wall clock stepped back: waiting for the old next points would
		// leave a gap as long as the step. Restart every run on its grid.
		s.logger.Warn("wall clock stepped back; restarting the schedule grid", "by", s.seen.Sub(now))
		for _, e := range s.entries {
			e.next = nextAtOrAfter(e.run.Intervals, now)
		}
	}
	s.seen = now
	var events []Event
	for _, e := range s.entries {
		if e.next.After(now) {
			continue
		}
		// Fast-forward: of the grid points that passed, only the latest
		// counts; the ones before it are missed, not run in a burst.
		slot, _ := latestAtOrBefore(e.run.Intervals, now)
		ev := Event{Run: e.run, Slot: slot, Late: now.Sub(slot)}
		for _, iv := range e.run.Intervals {
			ev.Missed += countIn(iv, e.next, slot)
		}
		if limit := e.run.MaxLateness.D(); limit > 0 && ev.Late > limit {
			ev.Skipped = true
			s.stats.Skipped++
		} else {
			s.stats.Due++
		}
		s.stats.Missed += ev.Missed
		if ev.Missed > 0 || ev.Skipped {
			s.logger.Info("schedule fell behind", "check", e.run.Check, "plugin", e.run.Plugin,
				"slot", slot, "late", ev.Late, "missed", ev.Missed, "skipped", ev.Skipped)
		}
		e.last = slot
		e.next = nextAtOrAfter(e.run.Intervals, slot.Add(1))
		events = append(events, ev)
	}
	slices.SortFunc(events, func(a, b Event) int {
		return cmp.Or(a.Slot.Compare(b.Slot),
			strings.Compare(a.Run.Check, b.Run.Check),
			strings.Compare(a.Run.Plugin, b.Run.Plugin))
	})
	return events
}

// wait returns how long to sleep until the earliest next grid point, at most
// maxWait.
func (s *Scheduler) wait(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := maxWait
	for _, e := range s.entries {
		if w := e.next.Sub(now); w < d {
			d = w
		}
	}
	return max(d, 0)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sameIntervals compares instants with Equal: the same start decoded twice
// may carry different *time.Location values.
func sameIntervals(a, b []wire.Interval) bool {
	return slices.EqualFunc(a, b, func(x, y wire.Interval) bool {
		return x.Start.Equal(y.Start) && x.Period == y.Period
	})
}

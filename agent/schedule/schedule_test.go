package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// fired is one event as the consumer saw it, with the instant it arrived.
type fired struct {
	at time.Time
	ev Event
}

// recorder is a consumer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []fired
	block  func(Event) // called inside the consumer; may sleep to pause the loop
}

func (r *recorder) consume(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, fired{at: time.Now(), ev: ev})
	block := r.block
	r.mu.Unlock()
	if block != nil {
		block(ev)
	}
}

func (r *recorder) all() []fired {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// slots renders the events of one plugin as offsets from base, with a mark
// for skipped ones, for readable comparisons.
func (r *recorder) slots(base time.Time, plugin string) []string {
	var out []string
	for _, f := range r.all() {
		if f.ev.Run.Plugin != plugin {
			continue
		}
		s := f.ev.Slot.Sub(base).String()
		if f.ev.Skipped {
			s += " skipped"
		}
		out = append(out, s)
	}
	return out
}

// start runs a scheduler with the plan until ctx is done and checks that Run
// then returns nil.
func start(t *testing.T, ctx context.Context, rec *recorder, plan []wire.PlanRun) *Scheduler {
	t.Helper()
	s := New(nil, rec.consume)
	if err := s.SetPlan(plan); err != nil {
		t.Fatalf("SetPlan: %v", err)
	}
	go func() {
		if err := s.Run(ctx); err != nil {
			t.Errorf("Run: %v, want nil on cancellation", err)
		}
	}()
	return s
}

func every(start time.Time, period time.Duration) wire.Interval {
	return wire.Interval{Start: start, Period: wire.Millis(period)}
}

func want(offsets ...string) []string { return offsets }

func checkSlots(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: slots %v, want %v", what, got, want)
	}
}

// Two hosts with the same plan, started 17.3 s apart, fire at the same
// instants: the grid, not the start time, decides.
func TestGridAlignmentAcrossHosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		plan := []wire.PlanRun{{Check: "web", Plugin: "load",
			Intervals: []wire.Interval{every(base.Add(7*time.Second), time.Minute)}}}
		ctx, cancel := context.WithCancel(t.Context())
		var a, b recorder
		start(t, ctx, &a, plan)
		time.Sleep(17*time.Second + 300*time.Millisecond)
		start(t, ctx, &b, plan)
		time.Sleep(4 * time.Minute)
		cancel()
		synctest.Wait()

		checkSlots(t, "host a", a.slots(base, "load"), want("7s", "1m7s", "2m7s", "3m7s", "4m7s"))
		checkSlots(t, "host b", b.slots(base, "load"), want("1m7s", "2m7s", "3m7s", "4m7s"))
		for _, f := range append(a.all(), b.all()...) {
			if !f.at.Equal(f.ev.Slot) || f.ev.Late != 0 || f.ev.Skipped || f.ev.Missed != 0 {
				t.Errorf("event %+v arrived at %s, want on its slot and not late", f.ev, f.at)
			}
		}
	})
}

// A consumer that blocks for 10.5 minutes pauses the loop: afterwards the
// scheduler runs the latest grid point once (30 s late, within the max
// lateness of 1 minute) instead of ten missed ones in a burst.
func TestFastForwardAfterPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		rec := &recorder{}
		first := true
		rec.block = func(Event) {
			if first {
				first = false
				time.Sleep(10*time.Minute + 30*time.Second)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		s := start(t, ctx, rec, []wire.PlanRun{{Check: "c", Plugin: "p",
			Intervals: []wire.Interval{every(base, time.Minute)}, MaxLateness: wire.Millis(time.Minute)}})
		time.Sleep(12*time.Minute + time.Second)
		cancel()
		synctest.Wait()

		checkSlots(t, "after a pause", rec.slots(base, "p"), want("0s", "10m0s", "11m0s", "12m0s"))
		got := rec.all()
		if ev := got[1].ev; ev.Late != 30*time.Second || ev.Missed != 9 || !got[1].at.Equal(base.Add(10*time.Minute+30*time.Second)) {
			t.Errorf("event after the pause: late %s, missed %d, at %s; want 30s late, 9 missed, at 10m30s",
				ev.Late, ev.Missed, got[1].at.Sub(base))
		}
		if st := s.Stats(); st != (Stats{Due: 4, Missed: 9}) {
			t.Errorf("Stats = %+v, want 4 due, 9 missed", st)
		}
	})
}

// A scheduler stopped for an hour (the agent was down) resumes on the grid:
// the latest grid point is 50 s late, past the max lateness of 10 s, so it is
// handed over as skipped, with its grid time, and counted; nothing else of
// the missed hour is run.
func TestSkipTooLateAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		rec := &recorder{}
		ctx, cancel := context.WithCancel(t.Context())
		s := start(t, ctx, rec, []wire.PlanRun{{Check: "c", Plugin: "p",
			Intervals: []wire.Interval{every(base, time.Minute)}, MaxLateness: wire.Millis(10 * time.Second)}})
		time.Sleep(2*time.Minute + 30*time.Second)
		cancel()
		synctest.Wait()

		time.Sleep(61*time.Minute + 20*time.Second) // now base + 63m50s
		ctx, cancel = context.WithCancel(t.Context())
		go s.Run(ctx)
		time.Sleep(time.Minute)
		cancel()
		synctest.Wait()

		checkSlots(t, "after a stop", rec.slots(base, "p"), want("0s", "1m0s", "2m0s", "1h3m0s skipped", "1h4m0s"))
		ev := rec.all()[3].ev
		if ev.Late != 50*time.Second || ev.Missed != 60 {
			t.Errorf("skipped event: late %s, missed %d; want 50s, 60", ev.Late, ev.Missed)
		}
		if msg := ev.SkippedResult().Message; msg != "skipped: started 50s after its slot at 01:03:00, max lateness 10s" {
			t.Errorf("message %q", msg)
		}
		if st := s.Stats(); st != (Stats{Due: 4, Skipped: 1, Missed: 60}) {
			t.Errorf("Stats = %+v, want 4 due, 1 skipped, 60 missed", st)
		}
	})
}

// A run with several intervals fires on the union of their grids; points
// where intervals coincide (0, 6m, 10m, 12m) fire once.
func TestMultipleIntervals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		rec := &recorder{}
		ctx, cancel := context.WithCancel(t.Context())
		start(t, ctx, rec, []wire.PlanRun{{Check: "c", Plugin: "p", Intervals: []wire.Interval{
			every(base, 2*time.Minute),
			every(base, 3*time.Minute),
			every(base.Add(5*time.Minute), 5*time.Minute), // starts later
		}}})
		time.Sleep(12*time.Minute + time.Second)
		cancel()
		synctest.Wait()
		checkSlots(t, "union of grids", rec.slots(base, "p"),
			want("0s", "2m0s", "3m0s", "4m0s", "5m0s", "6m0s", "8m0s", "9m0s", "10m0s", "12m0s"))
	})
}

// Replacing the plan: an unchanged run keeps its grid position (and takes
// the new version), a removed one stops, a new one starts on its next grid
// point, a rescheduled one moves to its new grid without repeating a slot.
func TestReplacePlan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		rec := &recorder{}
		ctx, cancel := context.WithCancel(t.Context())
		x := wire.PlanRun{Check: "c", Plugin: "x", Version: "1", Intervals: []wire.Interval{every(base, time.Minute)}}
		y := wire.PlanRun{Check: "c", Plugin: "y", Intervals: []wire.Interval{every(base.Add(30*time.Second), time.Minute)}}
		r := wire.PlanRun{Check: "c", Plugin: "r", Intervals: []wire.Interval{every(base, 2*time.Minute)}}
		s := start(t, ctx, rec, []wire.PlanRun{x, y, r})
		time.Sleep(2*time.Minute + 10*time.Second)

		x.Version = "2"
		// The same instant in another zone is the same grid.
		x.Intervals = []wire.Interval{every(base.In(time.FixedZone("CET", 3600)), time.Minute)}
		z := wire.PlanRun{Check: "c", Plugin: "z", Intervals: []wire.Interval{every(base.Add(time.Minute), 5*time.Minute)}}
		r.Intervals = []wire.Interval{every(base, time.Minute)}
		if err := s.SetPlan([]wire.PlanRun{x, z, r}); err != nil {
			t.Fatalf("SetPlan: %v", err)
		}
		time.Sleep(5 * time.Minute) // until 7m10s
		cancel()
		synctest.Wait()

		checkSlots(t, "unchanged", rec.slots(base, "x"), want("0s", "1m0s", "2m0s", "3m0s", "4m0s", "5m0s", "6m0s", "7m0s"))
		checkSlots(t, "removed", rec.slots(base, "y"), want("30s", "1m30s"))
		checkSlots(t, "added", rec.slots(base, "z"), want("6m0s"))
		checkSlots(t, "rescheduled", rec.slots(base, "r"), want("0s", "2m0s", "3m0s", "4m0s", "5m0s", "6m0s", "7m0s"))
		for _, f := range rec.all() {
			if f.ev.Run.Plugin != "x" {
				continue
			}
			wantVersion := "1"
			if f.ev.Slot.After(base.Add(2 * time.Minute)) {
				wantVersion = "2"
			}
			if f.ev.Run.Version != wantVersion {
				t.Errorf("slot %s: version %q, want %q", f.ev.Slot.Sub(base), f.ev.Run.Version, wantVersion)
			}
			if !f.at.Equal(f.ev.Slot) {
				t.Errorf("slot %s fired at %s", f.ev.Slot.Sub(base), f.at.Sub(base))
			}
		}
	})
}

// A plan with a zero or negative period is rejected and the current plan
// keeps running.
func TestRejectInvalidPlan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		rec := &recorder{}
		ctx, cancel := context.WithCancel(t.Context())
		s := start(t, ctx, rec, []wire.PlanRun{{Check: "c", Plugin: "p", Intervals: []wire.Interval{every(base, time.Minute)}}})
		for _, period := range []time.Duration{0, -time.Minute} {
			err := s.SetPlan([]wire.PlanRun{{Check: "c", Plugin: "q", Intervals: []wire.Interval{every(base, period)}}})
			if !errors.Is(err, ErrInvalidPlan) {
				t.Errorf("SetPlan with period %s: %v, want ErrInvalidPlan", period, err)
			}
		}
		time.Sleep(2*time.Minute + time.Second)
		cancel()
		synctest.Wait()
		checkSlots(t, "old plan", rec.slots(base, "p"), want("0s", "1m0s", "2m0s"))
		checkSlots(t, "rejected plan", rec.slots(base, "q"), nil)
	})
}

// Many runs due at the same instant arrive earliest slot first, then by
// check and plugin.
func TestEventOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		rec := &recorder{}
		var plan []wire.PlanRun
		for i := range 5 {
			plan = append(plan, wire.PlanRun{Check: "c", Plugin: fmt.Sprint("p", 4-i), Intervals: []wire.Interval{every(base, time.Minute)}})
		}
		ctx, cancel := context.WithCancel(t.Context())
		start(t, ctx, rec, plan)
		synctest.Wait()
		cancel()
		synctest.Wait()
		var got []string
		for _, f := range rec.all() {
			got = append(got, f.ev.Run.Plugin)
		}
		if !slices.Equal(got, []string{"p0", "p1", "p2", "p3", "p4"}) {
			t.Errorf("order %v", got)
		}
	})
}

// When the wall clock steps back, runs restart on the grid from the new
// time instead of waiting for their old next points (a gap as long as the
// step). synctest's clock never goes back, so this drives due directly.
func TestClockStepBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		s := New(nil, func(Event) {})
		if err := s.SetPlan([]wire.PlanRun{{Check: "c", Plugin: "p", Intervals: []wire.Interval{every(base, time.Minute)}}}); err != nil {
			t.Fatal(err)
		}
		slots := func(now time.Duration) []string {
			var out []string
			for _, ev := range s.due(base.Add(now)) {
				out = append(out, ev.Slot.Sub(base).String())
			}
			return out
		}
		checkSlots(t, "at 5m", slots(5*time.Minute), want("5m0s"))
		checkSlots(t, "stepped back to 2m30s", slots(2*time.Minute+30*time.Second), nil)
		checkSlots(t, "at 3m after the step", slots(3*time.Minute), want("3m0s"))
		checkSlots(t, "at 3m30s", slots(3*time.Minute+30*time.Second), nil)
	})
}

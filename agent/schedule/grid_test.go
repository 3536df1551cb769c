package schedule

import (
	"errors"
	"testing"
	"time"

	"github.com/prophasis/prophasis/wire"
)

func TestGridPoints(t *testing.T) {
	f := func(start time.Time, period time.Duration, at time.Time) {
		t.Helper()
		iv := wire.Interval{Start: start, Period: wire.Millis(period)}
		if start.IsZero() {
			start = time.Unix(0, 0)
		}
		first := firstAtOrAfter(iv, at)
		sec := int64(period / time.Second)
		if (first.Unix()-start.Unix())%sec != 0 || first.Before(at) || first.Before(start) {
			t.Errorf("firstAtOrAfter(%s, %s, %s) = %s: not the grid point at or after", start, period, at, first)
		}
		if first.After(start) && !first.Add(-period).Before(at) {
			t.Errorf("firstAtOrAfter(%s, %s, %s) = %s: an earlier grid point is at or after", start, period, at, first)
		}
		last, ok := lastAtOrBefore(iv, at)
		if at.Before(start) {
			if ok {
				t.Errorf("lastAtOrBefore(%s, %s, %s) = %s, want none before the start", start, period, at, last)
			}
			return
		}
		if !ok || (last.Unix()-start.Unix())%sec != 0 || last.After(at) || !last.Add(period).After(at) {
			t.Errorf("lastAtOrBefore(%s, %s, %s) = %s, %v", start, period, at, last, ok)
		}
	}
	now := time.Date(2026, 11, 21, 0, 35, 12, 345, time.UTC)
	f(now, time.Minute, now)
	f(now.Add(-time.Hour), time.Minute, now)
	f(now.Add(-time.Hour-time.Second), 7*time.Second, now)
	f(now.Add(time.Hour), time.Minute, now)                            // not started yet
	f(time.Date(1500, 1, 1, 0, 0, 3, 0, time.UTC), 7*time.Second, now) // Sub would saturate
	f(time.Time{}, 5*time.Minute, now)                                 // zero start: the Unix epoch
	f(time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), 24*time.Hour, now)
}

func TestCountIn(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	iv := wire.Interval{Start: base, Period: wire.Millis(time.Minute)}
	f := func(from, to time.Duration, want int64) {
		t.Helper()
		if got := countIn(iv, base.Add(from), base.Add(to)); got != want {
			t.Errorf("countIn([%s, %s)) = %d, want %d", from, to, got, want)
		}
	}
	f(0, 0, 0)
	f(0, time.Minute, 1)
	f(0, time.Minute+1, 2)
	f(time.Second, time.Minute, 0)
	f(3*time.Minute, 63*time.Minute, 60)
	f(-time.Hour, time.Minute, 1) // nothing before the start
}

func TestValidate(t *testing.T) {
	ok := wire.Interval{Period: wire.Millis(time.Minute)}
	f := func(runs []wire.PlanRun, wantErr string) {
		t.Helper()
		err := Validate(runs)
		if wantErr == "" {
			if err != nil {
				t.Errorf("Validate: %v, want no error", err)
			}
			return
		}
		if err == nil || !errors.Is(err, ErrInvalidPlan) || err.Error() != wantErr {
			t.Errorf("Validate: %v, want %q wrapping ErrInvalidPlan", err, wantErr)
		}
	}
	f(nil, "")
	f([]wire.PlanRun{{Check: "c", Plugin: "p", Intervals: []wire.Interval{ok}}}, "")
	f([]wire.PlanRun{{Check: "c", Plugin: "p"}}, "invalid plan: run 0 (c/p) has no interval")
	f([]wire.PlanRun{{Check: "c", Plugin: "p", Intervals: []wire.Interval{ok, {}}}},
		"invalid plan: run 0 (c/p) interval 1: period 0s is not positive")
	f([]wire.PlanRun{{Check: "c", Plugin: "p", Intervals: []wire.Interval{{Period: -1000}}}},
		"invalid plan: run 0 (c/p) interval 0: period -1s is not positive")
	f([]wire.PlanRun{{Check: "c", Plugin: "p", Intervals: []wire.Interval{ok}, MaxLateness: -1}},
		"invalid plan: run 0 (c/p): negative max lateness -1ms")
	f([]wire.PlanRun{{Check: "c", Plugin: "p", Intervals: []wire.Interval{ok}}, {Check: "c", Plugin: "p", Intervals: []wire.Interval{ok}}},
		"invalid plan: run 1 (c/p) appears twice")
}

func TestSkipMessage(t *testing.T) {
	slot := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	f := func(late, limit time.Duration, want string) {
		t.Helper()
		if got := SkipMessage(slot, late, limit); got != want {
			t.Errorf("SkipMessage(%s, %s) = %q, want %q", late, limit, got, want)
		}
	}
	f(2*time.Minute+10*time.Second+300*time.Millisecond, 30*time.Second,
		"skipped: started 2m10s after its slot at 12:00:00, max lateness 30s")
	f(1500*time.Microsecond, time.Millisecond, "skipped: started 2ms after its slot at 12:00:00, max lateness 1ms")

	ev := Event{Run: wire.PlanRun{Check: "web", Plugin: "load", MaxLateness: wire.Millis(30 * time.Second)},
		Slot: slot, Late: 130 * time.Second, Skipped: true}
	r := ev.SkippedResult()
	if !r.Skipped || r.Check != "web" || r.Plugin != "load" || r.Timestamp != slot.UnixMilli() ||
		r.Message != "skipped: started 2m10s after its slot at 12:00:00, max lateness 30s" {
		t.Errorf("SkippedResult = %+v", r)
	}
}

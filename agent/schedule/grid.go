package schedule

import (
	"time"

	"github.com/prophasis/prophasis/wire"
)

// The grid of one interval is Start + k × Period for k ≥ 0: nothing runs
// before Start. A zero Start means the Unix epoch, so a server that leaves it
// out still gets a grid shared by every host.
//
// time.Time.Sub saturates at about 292 years, so an interval whose Start is
// centuries before t would give a wrong offset. anchor moves Start forward by
// a whole number of periods (which leaves the grid unchanged) until t is less
// than 2^62 ns (about 146 years) past it.
func anchor(iv wire.Interval, t time.Time) (start time.Time, period time.Duration) {
	start, period = iv.Start, iv.Period.D()
	if start.IsZero() {
		start = time.Unix(0, 0).UTC()
	}
	start = start.Round(0) // wall clock only: grid points are wall-clock instants
	const limit = time.Duration(1 << 62)
	chunk := (limit / period) * period
	for t.Sub(start) > limit {
		start = start.Add(chunk)
	}
	return start, period
}

// firstAtOrAfter returns the first grid point of iv at or after t.
func firstAtOrAfter(iv wire.Interval, t time.Time) time.Time {
	start, period := anchor(iv, t)
	if !t.After(start) {
		return start
	}
	d := t.Sub(start)
	k := d / period
	if d%period != 0 {
		k++
	}
	return start.Add(k * period)
}

// lastAtOrBefore returns the last grid point of iv at or before t, and false
// when t is before the interval's start.
func lastAtOrBefore(iv wire.Interval, t time.Time) (time.Time, bool) {
	start, period := anchor(iv, t)
	if t.Before(start) {
		return time.Time{}, false
	}
	return start.Add(t.Sub(start) / period * period), true
}

// countIn returns how many grid points of iv fall in [from, to).
func countIn(iv wire.Interval, from, to time.Time) int64 {
	if !to.After(from) {
		return 0
	}
	first := firstAtOrAfter(iv, from)
	if !first.Before(to) {
		return 0
	}
	_, period := anchor(iv, to)
	return int64((to.Sub(first)-1)/period) + 1
}

// nextAtOrAfter returns the earliest grid point of any of the intervals at or
// after t. Coinciding points of several intervals are one point.
func nextAtOrAfter(ivs []wire.Interval, t time.Time) time.Time {
	var next time.Time
	for i, iv := range ivs {
		if p := firstAtOrAfter(iv, t); i == 0 || p.Before(next) {
			next = p
		}
	}
	return next
}

// latestAtOrBefore returns the latest grid point of any of the intervals at
// or before t, and false when every interval starts after t.
func latestAtOrBefore(ivs []wire.Interval, t time.Time) (time.Time, bool) {
	var latest time.Time
	found := false
	for _, iv := range ivs {
		if p, ok := lastAtOrBefore(iv, t); ok && (!found || p.After(latest)) {
			latest, found = p, true
		}
	}
	return latest, found
}

package loadgen

import "time"

// clock hands out the timestamps of one stream's rounds (a round is one
// result, or one sample, for every series of the stream).
//
// Time is compressed: the stream starts backfill ago and advances one
// interval per round as fast as the server accepts them, like agents
// replaying a backlog, until it has caught up with the wall clock; from then
// on every round carries the current time, or one millisecond more than the
// previous round if the clock has not moved. Timestamps of one series
// therefore only ever increase, so every request carries new data and none
// is a duplicate or out of order, whatever the run's length and rate.
//
// A clock belongs to one stream and is not safe for concurrent use.
type clock struct {
	now   func() time.Time
	step  int64 // the interval, in ms
	floor int64 // the next round may not start before this (ms)
}

func newClock(now func() time.Time, start time.Time, interval time.Duration) *clock {
	step := max(interval.Milliseconds(), 1)
	return &clock{now: now, step: step, floor: start.UnixMilli()}
}

// tick returns the timestamp of the next round and the spread over which the
// round's results may be staggered: a backfill round covers [t, t+spread),
// a live round has spread 0 (every series at t, as agents running on a common
// schedule grid do).
func (c *clock) tick() (t, spread int64) {
	now := c.now().UnixMilli()
	if c.floor+c.step <= now {
		t = c.floor
		c.floor += c.step
		return t, c.step
	}
	t = max(c.floor, now)
	c.floor = t + 1
	return t, 0
}

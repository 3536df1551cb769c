package loadgen

import (
	"testing"
	"time"
)

func TestClockBackfillsThenFollowsTheWallClock(t *testing.T) {
	clk := &fakeNow{testEpoch}
	c := newClock(clk.now, testEpoch.Add(-3*time.Minute), time.Minute)
	type tick struct{ t, spread int64 }
	var got []tick
	for range 5 {
		ts, spread := c.tick()
		got = append(got, tick{ts, spread})
	}
	clk.t = clk.t.Add(time.Second)
	ts, spread := c.tick()
	got = append(got, tick{ts, spread})

	now := testEpoch.UnixMilli()
	min := time.Minute.Milliseconds()
	want := []tick{
		{now - 3*min, min}, // backfill, one interval per round
		{now - 2*min, min},
		{now - 1*min, min},
		{now, 0},        // caught up: the wall clock
		{now + 1, 0},    // the clock has not moved: one ms more
		{now + 1000, 0}, // it has
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tick %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestClockSpreadNeverReachesTheNextRound(t *testing.T) {
	clk := &fakeNow{testEpoch}
	c := newClock(clk.now, testEpoch.Add(-90*time.Second), time.Minute)
	t0, spread := c.tick()
	t1, _ := c.tick()
	if t0+spread > t1 {
		t.Fatalf("round at %d spreads to %d, past the next round at %d", t0, t0+spread, t1)
	}
	if t1 > clk.t.UnixMilli()+1 {
		t.Fatalf("round at %d is in the future (now %d)", t1, clk.t.UnixMilli())
	}
}

package state

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/rules/classify"
)

const (
	U = classify.Unknown
	O = classify.OK
	m = classify.Minor
	M = classify.Major
	C = classify.Critical
)

// feed observes states at t = 1, 2, ... and returns the transitions as
// "kind from>to@t" strings.
func feed(mc *Machine, p Policy, states ...State) []string {
	var got []string
	for i, s := range states {
		for _, tr := range mc.Observe(s, int64(i+1), "r", p, nil) {
			got = append(got, fmt.Sprintf("%s %s>%s@%d", tr.Kind, tr.From, tr.To, tr.Time))
		}
	}
	return got
}

func TestHardStatesAreConfirmedAfterAttempts(t *testing.T) {
	noFlap := Policy{FlapWindow: NoFlapping}
	for _, tc := range []struct {
		name   string
		p      Policy
		states []State
		want   string
	}{
		{"first result confirms at once", noFlap, []State{O}, "state unknown>ok@1"},
		{"first unknown is no change", noFlap, []State{U, U}, ""},
		{"every change with one attempt", noFlap, []State{O, C, C, O}, "state unknown>ok@1 state ok>critical@2 state critical>ok@4"},
		{"soft state needs k in a row", Policy{Attempts: 3, FlapWindow: NoFlapping}, []State{O, O, O, C, C, O, C, C, C, C},
			"state unknown>ok@3 state ok>critical@9"},
		{"a different bad state restarts the count", Policy{Attempts: 2, FlapWindow: NoFlapping}, []State{O, O, M, C, C},
			"state unknown>ok@2 state ok>critical@5"},
		{"recovery needs k too", Policy{Attempts: 2, FlapWindow: NoFlapping}, []State{C, C, O, C, O, O},
			"state unknown>critical@2 state critical>ok@6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(feed(&Machine{}, tc.p, tc.states...), " ")
			if got != tc.want {
				t.Errorf("transitions\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFlappingRaisesOneEventNotAStorm(t *testing.T) {
	p := Policy{FlapWindow: 10, FlapStart: 0.5, FlapStop: 0.2}
	mc := &Machine{}
	// Ten steady results, then alternate for 30 results: a storm of
	// changes without flapping detection.
	states := []State{}
	for range 10 {
		states = append(states, O)
	}
	for i := range 30 {
		states = append(states, []State{O, C}[i%2])
	}
	got := feed(mc, p, states...)
	changes, starts := 0, 0
	for _, g := range got {
		switch {
		case strings.HasPrefix(g, "state"):
			changes++
		case strings.HasPrefix(g, "flapping_start"):
			starts++
		}
	}
	if starts != 1 {
		t.Fatalf("flapping starts = %d, want 1: %q", starts, got)
	}
	// Before the window holds half changes, a few changes are events:
	// the first result, then critical/ok pairs until 5 of 9 gaps change.
	if changes > 6 {
		t.Fatalf("%d state events for 30 alternating results, want flapping to stop the storm: %q", changes, got)
	}
	if _, _, flapping := mc.State(); !flapping {
		t.Fatal("not flapping after 30 alternating results")
	}

	// Settling in critical: flapping stops once fewer than 20 % of the
	// window's gaps change, and since the state differs from when flapping
	// began, a settled change follows.
	var after []Transition
	for i := range 12 {
		after = mc.Observe(C, int64(100+i), "r", p, after)
	}
	if len(after) != 2 || after[0].Kind != FlapStop || after[1].Kind != Change || after[1].To != C || after[1].From != O {
		t.Fatalf("settling: %+v, want flapping_stop then ok>critical", after)
	}
	// The stop came only when the share fell below FlapStop: with at most
	// one change left among the window's 9 gaps, i.e. at the 8th critical
	// (the alternation ended on critical, so the boundary is no change).
	if after[0].Time != 107 {
		t.Errorf("flapping stopped at %d, want 107 (when the change share first fell below 20%%)", after[0].Time)
	}
	if _, _, flapping := mc.State(); flapping {
		t.Fatal("still flapping after settling")
	}
}

func TestFlappingHysteresisKeepsFlappingBetweenThresholds(t *testing.T) {
	p := Policy{FlapWindow: 11, FlapStart: 0.5, FlapStop: 0.2}
	// ok ok ok crit crit, repeated: 40 % of gaps change, between the
	// thresholds.
	between := func(mc *Machine, t0 int64) {
		for i := range 40 {
			mc.Observe([]State{O, O, O, C, C}[i%5], t0+int64(i), "r", p, nil)
		}
	}
	calm := &Machine{}
	between(calm, 0)
	if _, _, f := calm.State(); f {
		t.Fatal("started flapping at a 40% change share (start threshold 50%)")
	}
	flapping := &Machine{}
	feed(flapping, p, O, C, O, C, O, C, O, C, O, C, O)
	if _, _, f := flapping.State(); !f {
		t.Fatal("not flapping after 100% changes")
	}
	between(flapping, 100)
	if _, _, f := flapping.State(); !f {
		t.Fatal("stopped flapping at a 40% change share (stop threshold 20%)")
	}
}

func TestForceConfirmsAtOnce(t *testing.T) {
	mc := &Machine{}
	p := Policy{Attempts: 5}
	for i := range 5 {
		mc.Observe(O, int64(i), "r", p, nil)
	}
	out := mc.Force(U, 10, "no result for 2m", nil)
	if len(out) != 1 || out[0].From != O || out[0].To != U || out[0].Reason != "no result for 2m" {
		t.Fatalf("Force: %+v", out)
	}
	if out := mc.Force(U, 11, "still", nil); len(out) != 0 {
		t.Fatalf("Force again: %+v, want nothing", out)
	}
	s, since, _ := mc.State()
	if s != U || since != 10 {
		t.Fatalf("state %s since %d, want unknown since 10", s, since)
	}
}

func TestRestoreKeepsStateWithoutEvent(t *testing.T) {
	mc := Restore(C, 5, false)
	if out := mc.Observe(C, 6, "r", Policy{}, nil); len(out) != 0 {
		t.Fatalf("same state after restore: %+v", out)
	}
	if out := mc.Observe(O, 7, "r", Policy{}, nil); len(out) != 1 || out[0].From != C {
		t.Fatalf("change after restore: %+v", out)
	}
}

func TestWorst(t *testing.T) {
	for _, tc := range []struct {
		in   []State
		want State
	}{
		{nil, O},
		{[]State{O, O}, O},
		{[]State{O, U}, U},
		{[]State{U, m}, m},
		{[]State{C, U, M}, C},
		{[]State{M, m, O}, M},
	} {
		if got := Worst(tc.in...); got != tc.want {
			t.Errorf("Worst(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

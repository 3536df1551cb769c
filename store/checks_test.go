package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPluginCRUD(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	p := must[Plugin](t)(st.CreatePlugin(ctx, Plugin{Name: "load", Version: "1.2.3-rc1+build", Description: "CPU load"}))
	if p.ID == 0 || p.Version != "1.2.3-rc1+build" {
		t.Fatalf("created %+v", p)
	}
	_, err := st.CreatePlugin(ctx, Plugin{Name: "load"})
	wantErr(t, err, ErrConflict, "already exists")
	_, err = st.CreatePlugin(ctx, Plugin{Name: "x", Version: "1 0"})
	wantErr(t, err, ErrInvalid, `version "1 0" must match`)
	up := must[Plugin](t)(st.UpdatePlugin(ctx, "load", Plugin{Version: "1.3"}))
	if up.Name != "load" || up.Version != "1.3" || up.Description != "" {
		t.Fatalf("updated %+v", up)
	}
	ps := must[[]Plugin](t)(st.Plugins(ctx))
	if len(ps) != 1 {
		t.Fatalf("plugins %+v", ps)
	}
	if err := st.DeletePlugin(ctx, "load"); err != nil {
		t.Fatal(err)
	}
	_, err = st.Plugin(ctx, "load")
	wantErr(t, err, ErrNotFound)
}

func TestScheduleCRUD(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	start := time.Date(2025, 3, 1, 0, 0, 30, 123_456_789, time.FixedZone("CET", 3600))
	sc := must[Schedule](t)(st.CreateSchedule(ctx, Schedule{
		Name: "mixed",
		Intervals: []Interval{
			{Period: Duration(5 * time.Minute), Start: start},
			{Period: Duration(time.Minute)},
		},
		MaxLateness: Duration(20 * time.Second),
	}))
	// Intervals come back sorted (zero start first), in UTC, to the millisecond.
	if len(sc.Intervals) != 2 || !sc.Intervals[0].Start.IsZero() || sc.Intervals[0].Period != Duration(time.Minute) {
		t.Fatalf("intervals %+v", sc.Intervals)
	}
	if want := start.Truncate(time.Millisecond).UTC(); !sc.Intervals[1].Start.Equal(want) || sc.Intervals[1].Start.Location() != time.UTC {
		t.Fatalf("start %v, want %v", sc.Intervals[1].Start, want)
	}
	if sc.MaxLateness != Duration(20*time.Second) || sc.EffectiveMaxLateness() != 20*time.Second {
		t.Fatalf("max lateness %v", sc.MaxLateness)
	}
	sc.MaxLateness = 0
	if got := sc.EffectiveMaxLateness(); got != 30*time.Second {
		t.Fatalf("default max lateness %v, want half the shortest period", got)
	}
	up := must[Schedule](t)(st.UpdateSchedule(ctx, "mixed", Schedule{Intervals: []Interval{{Period: Duration(time.Hour)}}}))
	if len(up.Intervals) != 1 || up.Intervals[0].Period != Duration(time.Hour) || up.MaxLateness != 0 {
		t.Fatalf("updated %+v", up)
	}

	f := func(sc Schedule, parts ...string) {
		t.Helper()
		_, err := st.CreateSchedule(ctx, sc)
		wantErr(t, err, ErrInvalid, parts...)
	}
	f(Schedule{Name: "s"}, "needs at least one interval")
	f(Schedule{Name: "s", Intervals: []Interval{{Period: Duration(time.Millisecond)}}}, "period 1ms must be between 1s and 52w2d")
	f(Schedule{Name: "s", Intervals: []Interval{{Period: Duration(time.Minute)}, {Period: Duration(time.Minute)}}}, "listed twice")
	f(Schedule{Name: "s", Intervals: []Interval{{Period: Duration(time.Minute)}}, MaxLateness: -1}, "max_lateness")
	f(Schedule{Name: "s", Intervals: []Interval{{Period: Duration(time.Minute), Start: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}}}, "between 1970 and 9999")
}

func TestCheckCRUD(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	c := must[Check](t)(st.Check(ctx, "cpu"))
	if !slices.Equal(c.Plugins, []string{"load"}) || !slices.Equal(c.Groups, []string{"web"}) ||
		!slices.Equal(c.Hosts, []string{"db1"}) || c.Schedule != "minutely" {
		t.Fatalf("check %+v", c)
	}
	must[Schedule](t)(st.CreateSchedule(ctx, Schedule{Name: "hourly", Intervals: []Interval{{Period: Duration(time.Hour)}}}))
	up := must[Check](t)(st.UpdateCheck(ctx, "cpu", Check{Plugins: []string{"load", "disk"}, Hosts: []string{"web1"}, Schedule: "hourly"}))
	if !slices.Equal(up.Plugins, []string{"disk", "load"}) || len(up.Groups) != 0 || up.Schedule != "hourly" {
		t.Fatalf("updated %+v", up)
	}
	// The old schedule is free now.
	if err := st.DeleteSchedule(ctx, "minutely"); err != nil {
		t.Fatal(err)
	}

	f := func(c Check, parts ...string) {
		t.Helper()
		_, err := st.CreateCheck(ctx, c)
		wantErr(t, err, ErrInvalid, parts...)
	}
	f(Check{Name: "x", Schedule: "hourly"}, "needs at least one plugin")
	f(Check{Name: "x", Plugins: []string{"load"}}, "schedule is required")
	f(Check{Name: "x", Plugins: []string{"nope"}, Schedule: "hourly"}, `check "x": unknown plugin "nope"`)
	f(Check{Name: "x", Plugins: []string{"load"}, Schedule: "never"}, `unknown schedule "never"`)
	f(Check{Name: "x", Plugins: []string{"load"}, Hosts: []string{"h9"}, Groups: []string{"g9"}, Schedule: "hourly"},
		`unknown host "h9"`, `unknown group "g9"`)
	cs := must[[]Check](t)(st.Checks(ctx))
	if len(cs) != 1 {
		t.Fatalf("checks %+v", cs)
	}
}

func TestDuration(t *testing.T) {
	f := func(in, out string) {
		t.Helper()
		d, err := ParseDuration(in)
		if err != nil {
			t.Fatalf("ParseDuration(%q): %v", in, err)
		}
		if d.String() != out {
			t.Fatalf("ParseDuration(%q) = %s, want %s", in, d, out)
		}
	}
	f("0", "0s")
	f("0s", "0s")
	f("90s", "1m30s")
	f("1h30m", "1h30m")
	f("2d", "2d")
	f("1w2d3h4m5s6ms", "1w2d3h4m5s6ms")
	f("1500ms", "1s500ms")
	bad := func(in, part string) {
		t.Helper()
		_, err := ParseDuration(in)
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Fatalf("ParseDuration(%q) = %v, want error containing %q", in, err, part)
		}
	}
	bad("", "empty")
	bad("5", `unknown or misplaced unit ""`)
	bad("1m1h", `misplaced unit "h"`)
	bad("1y", `unit "y"`)
	bad("-5s", "expected a number")
	bad("99999999999999999999s", "too long")
	bad("1.5h", "misplaced unit")
}

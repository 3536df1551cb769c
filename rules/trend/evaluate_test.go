package trend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

const exampleRule = `timeleft(window, 100) < duration("24h") ? "critical" : timeleft(window, 100) < duration("72h") ? "major" : "ok"`

// The example: disks filling at known rates, over a 6h window at
// 15 s resolution.
func TestEvaluateExample(t *testing.T) {
	db := openDB(t)
	const n = 6*240 + 1
	at := t0.Add(6 * time.Hour)
	// Each disk is at 60% at the evaluation time.
	rising := func(hoursToFull float64) func(int, float64) float64 {
		perSec := 40 / (hoursToFull * 3600)
		return func(_ int, s float64) float64 { return 60 - perSec*(6*3600-s) }
	}
	fill(t, db, series("a"), t0, 15*time.Second, n, rising(10))  // full in 10h
	fill(t, db, series("b"), t0, 15*time.Second, n, rising(48))  // in 2 days
	fill(t, db, series("c"), t0, 15*time.Second, n, rising(200)) // in 8 days
	fill(t, db, series("d"), t0, 15*time.Second, n, func(int, float64) float64 { return 60 })
	fill(t, db, series("e"), t0, 15*time.Second, n, func(_ int, s float64) float64 { return 90 - s/3600 }) // emptying
	// Not selected: another plugin.
	fill(t, db, labels.FromStrings("__name__", "prophasis_value", "host", "a", "plugin", "load"), t0, 15*time.Second, n, rising(1))

	c := mustCompile(t, 6*time.Hour, exampleRule)
	got := outcomes(t, c, db, at)
	want := map[string]struct{ state, explain string }{
		"a": {StateCritical, "timeleft(100) 10h0m"},
		"b": {StateMajor, "timeleft(100) 2d0h"},
		"c": {StateOK, "timeleft(100) 8d8h"},
		"d": {StateOK, "timeleft(100) never"},
		"e": {StateOK, "timeleft(100) never"},
	}
	if len(got) != len(want) {
		t.Errorf("%d outcomes, want %d: %v", len(got), len(want), got)
	}
	for host, w := range want {
		o := got[host]
		if o.State != w.state || o.Explain != w.explain || o.Err != nil {
			t.Errorf("%s: %s %q %v, want %s %q", host, o.State, o.Explain, o.Err, w.state, w.explain)
		}
	}

	c = mustCompile(t, 6*time.Hour, `slope(window) > 0 && predict(window, duration("1d")) > 100 ? "critical" : "ok"`)
	if o := outcomes(t, c, db, at)["a"]; o.State != StateCritical || o.Explain != "slope 4/h, predict(8.64e+04) 156" {
		t.Errorf("explain of a: %+v", o)
	}
}

// An expression that fails for one series makes that series unknown with
// the error; the others are evaluated.
func TestEvaluateErrorsPerSeries(t *testing.T) {
	db := openDB(t)
	at := t0.Add(time.Hour)
	fill(t, db, series("good"), t0, 15*time.Second, 241, func(_ int, s float64) float64 { return 1 + s })
	fill(t, db, series("one"), at, time.Second, 1, func(int, float64) float64 { return 5 })
	fill(t, db, series("flat"), t0, 15*time.Second, 241, func(int, float64) float64 { return 7 })
	fill(t, db, series("old"), t0.Add(-3*time.Hour), 15*time.Second, 10, func(int, float64) float64 { return 7 })

	f := func(src string, want map[string]string, wantErr string) {
		t.Helper()
		got := outcomes(t, mustCompile(t, time.Hour, src), db, at)
		if _, ok := got["old"]; ok {
			t.Errorf("%s: a series without samples in the window has an outcome", src)
		}
		for host, state := range want {
			o := got[host]
			if o.State != state {
				t.Errorf("%s on %s: %s (err %v), want %s", src, host, o.State, o.Err, state)
			}
			if state == StateUnknown && (o.Err == nil || !strings.Contains(o.Err.Error(), wantErr)) {
				t.Errorf("%s on %s: err %v, want %q", src, host, o.Err, wantErr)
			}
			if state != StateUnknown && o.Err != nil {
				t.Errorf("%s on %s: err %v", src, host, o.Err)
			}
		}
	}
	f(`slope(window) > 0 ? "major" : "ok"`, map[string]string{"good": StateMajor, "one": StateUnknown, "flat": StateOK}, "need at least 2 samples")
	f(`zscore(window) > 3 ? "major" : "ok"`, map[string]string{"good": StateOK, "flat": StateUnknown}, "standard deviation is zero")
	f(`last(window) / (max(window) - min(window)) > 1 ? "major" : "ok"`, map[string]string{"good": StateMajor, "flat": StateUnknown}, "division by zero")
	f(`labels.host == "good" ? "ok" : labels.host`, map[string]string{"good": StateOK, "flat": StateUnknown}, `yielded flat, not a state`)
	f(`quantile(window, count(window) > 1 ? 0.5 : 2) > 0 ? "ok" : "major"`, map[string]string{"good": StateOK, "one": StateUnknown}, "q must be in [0, 1]")
	f(`holt(window, count(window) > 1 ? 1.0 : 0.5, 0.5, 0) > 0 ? "ok" : "major"`, map[string]string{"good": StateUnknown}, "factors must be in (0, 1)")
}

func TestEvaluateCancelled(t *testing.T) {
	db := openDB(t)
	fill(t, db, series("a"), t0, 15*time.Second, 10, func(int, float64) float64 { return 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := mustCompile(t, time.Hour, `"ok"`).Evaluate(ctx, db, t0.Add(time.Minute))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// Run-time errors are one line, name the column, and wrap the cause.
func TestRunErrorOneLine(t *testing.T) {
	db := openDB(t)
	fill(t, db, series("one"), t0, time.Second, 1, func(int, float64) float64 { return 5 })
	o := outcomes(t, mustCompile(t, time.Hour, `last(window) > 1 && slope(window) > 0 ? "major" : "ok"`), db, t0)["one"]
	if o.Err == nil || o.Err.Error() != "column 21: slope: need at least 2 samples, have 1" {
		t.Errorf("err %q", o.Err)
	}
	if o.Explain != "last 5" {
		t.Errorf("explain %q", o.Explain)
	}
}

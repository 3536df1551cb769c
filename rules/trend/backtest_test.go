package trend

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A disk fills at 1%/h from 20% for 60 hours, is cleaned up to 10%, and
// stays there. With the example rule it is ok while more than 72h are left
// (until 28%, at 8h), major until 24h are left (76%, at 56h), critical until
// the clean-up, then ok.
func TestBacktestFillAndCleanup(t *testing.T) {
	db := openDB(t)
	fill(t, db, series("a"), t0, time.Minute, 64*60, func(_ int, s float64) float64 {
		if h := s / 3600; h < 60 {
			return 20 + h
		}
		return 10
	})
	changes, err := Backtest(context.Background(), db, Rule{
		Name: "disk", Selector: `prophasis_value{plugin="disk"}`, Window: time.Hour, Interval: time.Minute, Expr: exampleRule,
	}, t0.Add(time.Hour), t0.Add(63*time.Hour), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		from, to string
		earliest time.Duration
		latest   time.Duration
	}{
		{"", StateOK, time.Hour, time.Hour},
		{StateOK, StateMajor, 8 * time.Hour, 8*time.Hour + 10*time.Minute},
		{StateMajor, StateCritical, 56 * time.Hour, 56*time.Hour + 10*time.Minute},
		{StateCritical, StateOK, 60 * time.Hour, 60*time.Hour + 10*time.Minute},
	}
	if len(changes) != len(want) {
		t.Fatalf("%d changes, want %d: %+v", len(changes), len(want), changes)
	}
	for i, w := range want {
		c := changes[i]
		at := c.At.Sub(t0)
		if c.From != w.from || c.To != w.to || at < w.earliest || at > w.latest || c.Labels.Get("host") != "a" {
			t.Errorf("change %d: %s -> %s at +%s, want %s -> %s in [+%s, +%s]", i, c.From, c.To, at, w.from, w.to, w.earliest, w.latest)
		}
		if !strings.HasPrefix(c.Explain, "timeleft(100) ") {
			t.Errorf("change %d: explain %q", i, c.Explain)
		}
	}
	// The same rule evaluated at one of those times agrees with the backtest.
	c := mustCompile(t, time.Hour, exampleRule)
	if o := outcomes(t, c, db, changes[2].At)["a"]; o.State != StateCritical || o.Explain != changes[2].Explain {
		t.Errorf("Evaluate at %s: %+v, backtest said %+v", changes[2].At, o, changes[2])
	}
}

func TestBacktestErrors(t *testing.T) {
	db := openDB(t)
	r := Rule{Name: "r", Selector: `x`, Window: time.Hour, Expr: `"ok"`}
	f := func(r Rule, from, to time.Time, step time.Duration, wantErr string) {
		t.Helper()
		_, err := Backtest(context.Background(), db, r, from, to, step)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("err %v, want %q", err, wantErr)
		}
	}
	f(r, t0, t0.Add(time.Hour), 0, "step must be positive")
	f(r, t0.Add(time.Hour), t0, time.Minute, "end before start")
	f(r, t0, t0.Add(90*day), time.Minute, "use a larger step")
	f(Rule{Name: "r", Selector: `x`, Window: time.Hour, Expr: `"bad"`}, t0, t0.Add(time.Hour), time.Minute, "not a state")
}

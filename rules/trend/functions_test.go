package trend

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/tsdb"
)

// Each function against known data, through the whole path: samples in a
// real TSDB, read by Evaluate, computed in an expression. The expression
// checks the value, and the explanation shows what it was on failure.
func TestFunctions(t *testing.T) {
	db := openDB(t)
	// lin: 50 + 0.01/s, 241 samples at 15 s: 86 at the last one.
	fill(t, db, series("lin"), t0, 15*time.Second, 241, func(_ int, s float64) float64 { return 50 + 0.01*s })
	// ten: 1, 2, ... 10.
	fill(t, db, series("ten"), t0.Add(time.Hour-9*15*time.Second), 15*time.Second, 10, func(i int, _ float64) float64 { return float64(i + 1) })
	// ctr: a counter reset between 20 and 5: increases 10+10+5+10 in 60 s.
	ctr := []float64{0, 10, 20, 5, 15}
	fill(t, db, series("ctr"), t0.Add(time.Hour-4*15*time.Second), 15*time.Second, 5, func(i int, _ float64) float64 { return ctr[i] })
	at := t0.Add(time.Hour)

	f := func(host, call string, want float64) {
		t.Helper()
		tol := 1e-9 * math.Max(1, math.Abs(want))
		c := mustCompile(t, time.Hour, fmt.Sprintf(`labels.host != %q || abs(%s - %v) <= %v ? "ok" : "critical"`, host, call, want, tol))
		o := outcomes(t, c, db, at)[host]
		if o.State != StateOK || o.Err != nil {
			t.Errorf("%s on %s: want %v, got state %s err %v explain %q", call, host, want, o.State, o.Err, o.Explain)
		}
	}
	f("lin", "slope(window)", 0.01)
	f("lin", "predict(window, 3600)", 122)
	f("lin", `predict(window, duration("1h"))`, 122)
	f("lin", "timeleft(window, 100).Seconds()", 1400)
	f("lin", "last(window)", 86)
	f("lin", "count(window)", 240) // (at-1h, at]: the first sample is out
	// Holt on a straight line follows it exactly.
	f("lin", `holt(window, 0.5, 0.3, duration("1h"))`, 122)
	f("lin", "holt(window, 0.5, 0.3, 0)", 86)
	f("ten", "avg(window)", 5.5)
	f("ten", "sum(window)", 55)
	f("ten", "min(window)", 1)
	f("ten", "max(window)", 10)
	f("ten", "count(window)", 10)
	f("ten", "stddev(window)", math.Sqrt(8.25))
	f("ten", "quantile(window, 0.9)", 9.1)
	f("ten", "quantile(window, 0)", 1)
	f("ten", "quantile(window, 1)", 10)
	f("ten", "zscore(window)", 4.5/math.Sqrt(8.25))
	f("ctr", "rate(window)", 35.0/60)
	f("ten", `now.Sub(date("2026-03-01T01:00:00Z")).Seconds()`, 0)
	f("ten", `duration("2d").Hours()`, 48)

	// Timeleft is never when the line is flat or moving away.
	c := mustCompile(t, time.Hour, `timeleft(window, 0) == timeleft(window, 1e9) ? "critical" : "ok"`)
	if o := outcomes(t, c, db, at)["lin"]; o.State != StateCritical || !strings.Contains(o.Explain, "timeleft(0) never") {
		t.Errorf("timeleft below a rising line: %+v", o)
	}
}

// predict and holt match PromQL's predict_linear and
// double_exponential_smoothing run by the real engine on the same samples.
func TestMatchesPromQL(t *testing.T) {
	db := openDB(t)
	// Noisy, trending, deterministic.
	fill(t, db, series("n"), t0, 15*time.Second, 1441, func(i int, s float64) float64 {
		return 1000 + 0.37*s + 25*math.Sin(float64(i)*1.7) + float64(i%7)
	})
	at := t0.Add(6 * time.Hour)
	w := readWindow(t, db, at, 6*time.Hour)
	f := func(q string, got float64) {
		t.Helper()
		want := promqlValue(t, db, q, at)
		if math.Abs(got-want) > 1e-9*math.Abs(want) {
			t.Errorf("%s = %v, ours %v", q, want, got)
		}
	}
	for _, h := range []float64{0, 3600, 86400} {
		got, err := predict(w, h)
		if err != nil {
			t.Fatal(err)
		}
		f(fmt.Sprintf(`predict_linear(prophasis_value[6h], %v)`, h), got)
	}
	got, err := fnSlope(w)
	if err != nil {
		t.Fatal(err)
	}
	f(`deriv(prophasis_value[6h])`, got)
	got, err = holt(w, 0.3, 0.6, 0)
	if err != nil {
		t.Fatal(err)
	}
	f(`double_exponential_smoothing(prophasis_value[6h], 0.3, 0.6)`, got)
	got, _ = quantile(w, 0.95)
	f(`quantile_over_time(0.95, prophasis_value[6h])`, got)
	got, _ = fnStddev(w)
	f(`stddev_over_time(prophasis_value[6h])`, got)
}

func readWindow(t *testing.T, db *tsdb.DB, at time.Time, win time.Duration) *Window {
	t.Helper()
	c := mustCompile(t, win, `"ok"`)
	maxt := at.UnixMilli()
	mint := maxt - win.Milliseconds() + 1
	q, err := db.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), false, nil, c.matchers...)
	if !ss.Next() {
		t.Fatal("no series")
	}
	w := &Window{At: maxt, ev: &evalState{}}
	w.T, w.V = appendSamples(nil, nil, ss.At().Iterator(nil), mint, maxt)
	return w
}

func promqlValue(t *testing.T, db *tsdb.DB, q string, at time.Time) float64 {
	t.Helper()
	qry, err := db.Engine().NewInstantQuery(context.Background(), db, nil, q, at)
	if err != nil {
		t.Fatal(err)
	}
	defer qry.Close()
	res := qry.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%s: %v", q, res.Err)
	}
	v, err := res.Vector()
	if err != nil || len(v) != 1 {
		t.Fatalf("%s: %v %v", q, v, err)
	}
	return v[0].F
}

// baseline compares now with the same time on the previous days: a daily
// sine over three days, today shifted up by 20.
func TestBaseline(t *testing.T) {
	db := openDB(t)
	const step = time.Minute
	n := int(4 * day / step)
	fill(t, db, series("s"), t0, step, n+1, func(i int, s float64) float64 {
		v := 50 + 10*math.Sin(2*math.Pi*s/day.Seconds())
		if i > 3*int(day/step) {
			v += 20
		}
		return v
	})
	at := t0.Add(3*day + 6*time.Hour)
	f := func(src, want string) {
		t.Helper()
		c := mustCompile(t, time.Hour, src)
		o := outcomes(t, c, db, at)["s"]
		if o.State != want {
			t.Errorf("%s: state %s, want %s (err %v, explain %q)", src, o.State, want, o.Err, o.Explain)
		}
	}
	f(`abs(avg(window) - baseline(3) - 20) < 1e-9 ? "ok" : "critical"`, StateOK)
	f(`abs(avg(window) - baseline(window, 1) - 20) < 1e-9 ? "ok" : "critical"`, StateOK)
	f(`avg(window) > baseline(3) * 1.2 ? "major" : "ok"`, StateMajor)
	// On the first day there is no earlier day to compare with.
	c := mustCompile(t, time.Hour, `baseline(2) > 0 ? "ok" : "critical"`)
	o := outcomes(t, c, db, t0.Add(6*time.Hour))["s"]
	if o.State != StateUnknown || o.Err == nil || !strings.Contains(o.Err.Error(), "no samples on the previous 2 days") {
		t.Errorf("baseline without history: %+v", o)
	}
	// Backtest reads baseline days; at t0+1d the window of the day before
	// holds the sample at t0. from its single read of the range.
	changes, err := c.Backtest(context.Background(), db, t0.Add(6*time.Hour), t0.Add(30*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].To != StateUnknown || changes[1].To != StateOK || !changes[1].At.Equal(t0.Add(day)) {
		t.Errorf("backtest of baseline: %+v", changes)
	}
}

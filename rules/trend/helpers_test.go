package trend

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/tsdb"
)

// t0 is where test data starts: a fixed time, so failures reproduce.
var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func openDB(tb testing.TB) *tsdb.DB {
	tb.Helper()
	db, err := tsdb.Open(tb.TempDir(), tsdb.Options{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// fill appends n samples of series lset, one every step from start, value
// f(i, seconds since start).
func fill(tb testing.TB, db *tsdb.DB, lset labels.Labels, start time.Time, step time.Duration, n int, f func(i int, secs float64) float64) {
	tb.Helper()
	app := db.Appender(context.Background())
	var ref storage.SeriesRef
	for i := range n {
		ts := start.Add(time.Duration(i) * step)
		r, err := app.Append(ref, lset, ts.UnixMilli(), f(i, ts.Sub(start).Seconds()))
		if err != nil {
			tb.Fatalf("append %s at %s: %v", lset, ts, err)
		}
		ref = r
	}
	if err := app.Commit(); err != nil {
		tb.Fatal(err)
	}
}

func series(host string) labels.Labels {
	return labels.FromStrings("__name__", "prophasis_value", "host", host, "plugin", "disk")
}

func mustCompile(tb testing.TB, window time.Duration, src string) *Compiled {
	tb.Helper()
	c, err := Compile(Rule{Name: "test", Selector: `prophasis_value{plugin="disk"}`, Window: window, Interval: time.Minute, Expr: src}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// outcomes evaluates and indexes the outcomes by host.
func outcomes(tb testing.TB, c *Compiled, db *tsdb.DB, at time.Time) map[string]Outcome {
	tb.Helper()
	out, err := c.Evaluate(context.Background(), db, at)
	if err != nil {
		tb.Fatal(err)
	}
	m := map[string]Outcome{}
	for _, o := range out {
		m[o.Labels.Get("host")] = o
	}
	return m
}

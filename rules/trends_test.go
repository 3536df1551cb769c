package rules

import (
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
)

// TestTrendRulesRunOnTheirIntervalAndRaiseEvents evaluates a disk-full
// rule over real stored samples: the disk filling fast is critical, the one
// filling slowly ok; the round is due again only after the interval.
func TestTrendRulesRunOnTheirIntervalAndRaiseEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	db, err := tsdb.Open(filepath.Join(dir, "tsdb"), tsdb.Options{}, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := store.Open(ctx, filepath.Join(dir, "s.db"), logger, store.WithCodeChecker(CodeChecker{}))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	now := time.Now().Truncate(time.Minute)
	// Two disks, sampled every minute for 6 h: sda grows 8 points an hour
	// from 50 % (full in ~2 h at the end), sdb 1 point an hour (~44 h).
	app := db.Appender(ctx)
	for i := 360; i >= 0; i-- {
		ts := now.Add(-time.Duration(i) * time.Minute)
		hours := float64(360-i) / 60
		for dev, perHour := range map[string]float64{"sda": 8, "sdb": 1} {
			l := labels.FromStrings("__name__", "disk_used_percent", "host", "h1", "device", dev)
			if _, err := app.Append(0, l, ts.UnixMilli(), 50+perHour*hours); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTrendRule(ctx, store.TrendRule{Name: "disk-full", Selector: "disk_used_percent",
		Window: store.Duration(6 * time.Hour), Interval: store.Duration(5 * time.Minute),
		Expr: `timeleft(window, 100) < duration("24h") ? "critical" : "ok"`}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTrendRule(ctx, store.TrendRule{Name: "bad", Selector: "{", Window: store.Duration(time.Hour), Expr: `"ok"`}); err == nil {
		t.Fatal("a trend rule whose selector does not parse was saved")
	}

	e := New(st, db, logger, Options{Now: func() time.Time { return now }})
	var events []store.Event
	e.Subscribe(func(evs []store.Event) { events = append(events, evs...) })
	if err := e.reload(ctx); err != nil {
		t.Fatal(err)
	}
	e.trends.due(ctx, now)

	got := e.TrendStates()
	if len(got) != 2 || got[0].Labels["device"] != "sda" || got[0].State != classify.Critical || got[1].State != classify.OK {
		t.Fatalf("trend states %+v, want sda critical, sdb ok", got)
	}
	if got[0].Explain == "" {
		t.Error("no explanation for the critical state")
	}
	if len(events) != 2 || events[0].Subject.Kind != "trend" || events[0].Subject.Rule != "disk-full" || events[0].Subject.Host != "h1" {
		t.Fatalf("events %+v, want one per series with the rule and host", events)
	}
	for _, ev := range events {
		if ev.Subject.Labels["device"] == "sda" && (ev.From != int(classify.Unknown) || ev.To != int(classify.Critical)) {
			t.Errorf("sda event %+v, want unknown→critical", ev)
		}
	}

	// Not due again before the interval; due after it, with no new events
	// for unchanged states.
	e.trends.due(ctx, now.Add(4*time.Minute))
	e.trends.due(ctx, now.Add(5*time.Minute))
	if len(events) != 2 {
		t.Errorf("events after unchanged rounds: %+v", events[2:])
	}
	q, err := db.Querier(0, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(ctx, true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", MetricTrendState),
		labels.MustNewMatcher(labels.MatchEqual, "device", "sda"), labels.MustNewMatcher(labels.MatchEqual, "rule", "disk-full"))
	var ts []int64
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			tm, v := it.At()
			if v != 3 {
				t.Errorf("prophasis_trend_state = %v, want 3", v)
			}
			ts = append(ts, tm)
		}
	}
	if want := []int64{now.UnixMilli(), now.Add(5 * time.Minute).UnixMilli()}; !slices.Equal(ts, want) {
		t.Errorf("rounds at %v, want %v (at start and after the 5 min interval, not at 4 min)", ts, want)
	}

	// Backtest over the stored data: sda became critical at some point in
	// the last 6 h, sdb never.
	changes, err := e.Backtest(ctx, store.TrendRule{Name: "try", Selector: "disk_used_percent", Window: store.Duration(time.Hour),
		Expr: `timeleft(window, 100) < duration("24h") ? "critical" : "ok"`}, now.Add(-5*time.Hour), now, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var critical []string
	for _, c := range changes {
		if c.To == "critical" {
			critical = append(critical, c.Labels.Get("device"))
		}
	}
	if !slices.Equal(critical, []string{"sda"}) {
		t.Errorf("backtest critical changes for %v, want [sda]: %+v", critical, changes)
	}
}

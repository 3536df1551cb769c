package tsdb

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
)

func open(t *testing.T, opts Options) *DB {
	t.Helper()
	db, err := Open(t.TempDir(), opts, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.Retention != 30*24*time.Hour || o.OutOfOrderWindow != 7*24*time.Hour || o.LookbackDelta != 15*time.Minute ||
		o.MaxSamples != 50_000_000 || o.QueryTimeout != 2*time.Minute {
		t.Fatalf("defaults %+v", o)
	}
	o = Options{Retention: time.Hour, OutOfOrderWindow: time.Minute}.withDefaults()
	if o.Retention != time.Hour || o.OutOfOrderWindow != time.Minute {
		t.Fatalf("explicit options overridden: %+v", o)
	}
}

// A backlog replayed after an outage arrives older than what other series
// wrote meanwhile: it is stored within the out-of-order window and refused
// beyond it.
func TestOutOfOrderWindow(t *testing.T) {
	db := open(t, Options{OutOfOrderWindow: 6 * time.Hour})
	now := time.Now().UnixMilli()
	ls := labels.FromStrings("__name__", "x", "host", "a")
	app := db.Appender(context.Background())
	if _, err := app.Append(0, ls, now, 1); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	app = db.Appender(context.Background())
	if _, err := app.Append(0, ls, now-5*time.Hour.Milliseconds(), 2); err != nil {
		t.Fatalf("sample 5h old inside a 6h window: %v", err)
	}
	if _, err := app.Append(0, ls, now-7*time.Hour.Milliseconds(), 3); !errors.Is(err, storage.ErrTooOldSample) {
		t.Fatalf("sample 7h old outside a 6h window: err = %v, want ErrTooOldSample", err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	q, err := db.Querier(0, now)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
	var n int
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d samples stored, want 2", n)
	}
}

// The engine runs the experimental functions trend rules need, and enforces
// its sample limit.
func TestEngine(t *testing.T) {
	db := open(t, Options{MaxSamples: 100})
	now := time.Now()
	app := db.Appender(context.Background())
	for i := 0; i < 60; i++ {
		ts := now.Add(time.Duration(i-60) * time.Minute).UnixMilli()
		if _, err := app.Append(0, labels.FromStrings("__name__", "disk_used", "host", "a"), ts, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, q := range []string{
		"mad_over_time(disk_used[1h])",
		"double_exponential_smoothing(disk_used[1h], 0.5, 0.5)",
		"sort_by_label(disk_used, \"host\")",
	} {
		qry, err := db.Engine().NewInstantQuery(ctx, db, nil, q, now)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		res := qry.Exec(ctx)
		if res.Err != nil {
			t.Fatalf("%s: %v", q, res.Err)
		}
		if v, ok := res.Value.(promql.Vector); !ok || len(v) != 1 {
			t.Fatalf("%s = %v, want one sample", q, res.Value)
		}
		qry.Close()
	}
	qry, err := db.Engine().NewRangeQuery(ctx, db, nil, "disk_used", now.Add(-time.Hour), now, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer qry.Close()
	if res := qry.Exec(ctx); !errors.As(res.Err, new(promql.ErrTooManySamples)) {
		t.Fatalf("range query over the sample limit: err = %v, want ErrTooManySamples", res.Err)
	}
}

func TestCloseTwice(t *testing.T) {
	db, err := Open(t.TempDir(), Options{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	var nilDB *DB
	if err := nilDB.Close(); err != nil {
		t.Fatalf("nil Close: %v", err)
	}
}

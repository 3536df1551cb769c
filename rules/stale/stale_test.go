package stale

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
	"github.com/prophasis/prophasis/wire"
)

// states returns the prophasis_state samples of one key.
func states(t *testing.T, db *tsdb.DB, k Key) []float64 {
	t.Helper()
	q, err := db.Querier(0, time.Now().Add(24*time.Hour).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), false, nil,
		labels.MustNewMatcher(labels.MatchEqual, "__name__", MetricState),
		labels.MustNewMatcher(labels.MatchEqual, "host", k.Host),
		labels.MustNewMatcher(labels.MatchEqual, "plugin", k.Plugin))
	var out []float64
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			_, v := it.At()
			out = append(out, v)
		}
	}
	return out
}

func TestStaleAfterPeriodPlusGrace(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{}, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	web, db1 := Key{"web1", "load", "res"}, Key{"db1", "load", "res"}
	synctest.Test(t, func(t *testing.T) {
		expect := func(context.Context) (map[Key]time.Duration, error) {
			return map[Key]time.Duration{web: time.Minute, db1: time.Minute}, nil
		}
		tr := New(expect, db, logger, Options{Tick: 10 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { tr.Run(ctx); close(done) }()

		report := func(k Key) {
			tr.Results(ctx, []wire.Result{{Host: k.Host, Plugin: k.Plugin, Check: k.Check, Timestamp: time.Now().UnixMilli()}})
		}
		// web1 reports every minute; db1 never does.
		for range 2 {
			report(web)
			time.Sleep(time.Minute)
			synctest.Wait()
		}
		// Started 2 min ago: period (1 m) + grace (1 m) not yet exceeded
		// at the 2 min mark for db1 (it counts from start).
		if len(tr.Stale()) != 0 {
			t.Fatalf("stale after 2 min: %v", tr.Stale())
		}
		report(web)
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if got := tr.Stale(); len(got) != 1 || got[0] != db1 {
			t.Fatalf("after 2m20s stale = %v, want only db1", got)
		}
		// web1 falls silent too: stale 2 min after its last result.
		time.Sleep(2*time.Minute + 10*time.Second)
		synctest.Wait()
		if len(tr.Stale()) != 2 {
			t.Fatalf("stale = %v, want both", tr.Stale())
		}
		// A result ends it.
		report(web)
		if got := tr.Stale(); len(got) != 1 || got[0] != db1 {
			t.Fatalf("after web1 reported: stale = %v", got)
		}
		cancel()
		<-done
	})
	if s := states(t, db, db1); len(s) == 0 || s[0] != StateUnknown {
		t.Fatalf("db1 states %v, want unknown (-1) written while stale", s)
	}
}

func TestFromStore(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateHost(ctx, store.Host{Name: "web1"}))
	must(st.CreateHost(ctx, store.Host{Name: "db1"}))
	must(st.CreatePlugin(ctx, store.Plugin{Name: "load"}))
	must(st.CreateSchedule(ctx, store.Schedule{Name: "mixed", Intervals: []store.Interval{
		{Period: store.Duration(5 * time.Minute)}, {Period: store.Duration(time.Minute)}}}))
	must(st.CreateGroup(ctx, store.Group{Name: "inner", Hosts: []string{"db1"}}))
	must(st.CreateGroup(ctx, store.Group{Name: "outer", Groups: []string{"inner"}}))
	must(st.CreateCheck(ctx, store.Check{Name: "res", Plugins: []string{"load"}, Hosts: []string{"web1"}, Groups: []string{"outer"}, Schedule: "mixed"}))
	got, err := FromStore(st)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Key]time.Duration{{"web1", "load", "res"}: time.Minute, {"db1", "load", "res"}: time.Minute}
	if len(got) != len(want) || got[Key{"web1", "load", "res"}] != time.Minute || got[Key{"db1", "load", "res"}] != time.Minute {
		t.Fatalf("expectations %v, want %v", got, want)
	}
}

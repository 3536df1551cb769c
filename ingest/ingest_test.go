package ingest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
	"github.com/prophasis/prophasis/wire"
)

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type env struct {
	db   *tsdb.DB
	st   store.Store
	in   *Ingester
	hook *recordingHook
	dir  string
}

type recordingHook struct {
	mu      sync.Mutex
	results []wire.Result
}

func (h *recordingHook) Results(_ context.Context, rs []wire.Result) {
	h.mu.Lock()
	h.results = append(h.results, rs...)
	h.mu.Unlock()
}

func (h *recordingHook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.results)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv opens a real TSDB and a real SQLite store in a temp dir.
func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dir: dir}
	e.open(t)
	return e
}

func (e *env) open(t testing.TB) {
	t.Helper()
	db, err := tsdb.Open(filepath.Join(e.dir, "tsdb"), tsdb.Options{}, discard(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(e.dir, "store.db"), discard())
	if err != nil {
		t.Fatal(err)
	}
	e.db, e.st = db, st
	e.hook = &recordingHook{}
	e.in = New(db, st, e.hook, discard(), Options{Now: func() time.Time { return testNow }})
	t.Cleanup(func() { e.close(t) })
}

func (e *env) close(t testing.TB) {
	t.Helper()
	if err := e.db.Close(); err != nil {
		t.Error(err)
	}
	if err := e.st.Close(); err != nil {
		t.Error(err)
	}
}

// reopen simulates a restart: a new TSDB, store and ingester over the same dir.
func (e *env) reopen(t testing.TB) {
	t.Helper()
	e.close(t)
	e.open(t)
}

// samples returns the samples of the series selected by the matchers.
func (e *env) samples(t testing.TB, ms ...*labels.Matcher) map[string][]float64 {
	t.Helper()
	q, err := e.db.Querier(0, testNow.Add(time.Hour).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	out := map[string][]float64{}
	ss := q.Select(context.Background(), true, nil, ms...)
	for ss.Next() {
		s := ss.At()
		it := s.Iterator(nil)
		for it.Next() != 0 {
			_, v := it.At()
			out[s.Labels().String()] = append(out[s.Labels().String()], v)
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func eq(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, name, value)
}

func ptr(f float64) *float64 { return &f }

func ms(d time.Duration) int64 { return testNow.Add(d).UnixMilli() }

var _ storage.Appendable = (*tsdb.DB)(nil)

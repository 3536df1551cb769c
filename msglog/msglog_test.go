package msglog_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/msglog"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
	"github.com/prophasis/prophasis/wire"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func at(min int) int64 { return now.Add(time.Duration(min) * time.Minute).UnixMilli() }

// setup writes results through the real ingest path into a real TSDB and
// SQLite store, and returns a reader over both.
func setup(t *testing.T) (*msglog.Reader, store.Store) {
	t.Helper()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	db, err := tsdb.Open(filepath.Join(dir, "tsdb"), tsdb.Options{}, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := store.Open(context.Background(), filepath.Join(dir, "p.db"), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	in := ingest.New(db, st, nil, logger, ingest.Options{Now: func() time.Time { return now }})
	// One batch per minute, as agents push: the store keeps a batch's
	// texts in one block, which retention removes as a whole.
	for i := 1; i <= 5; i++ {
		rs := []wire.Result{
			{Host: "web1", Plugin: "http", Check: "home", Timestamp: at(-60 + i), Message: fmt.Sprintf("http %d", i)},
			{Host: "web1", Plugin: "load", Timestamp: at(-60 + i), Message: fmt.Sprintf("load %d", i), ExitStatus: i % 2},
			{Host: "web2", Plugin: "http", Check: "home", Timestamp: at(-60 + i), Message: "web2"},
			// No message, exit 0: nothing in the log.
			{Host: "web1", Plugin: "silent", Timestamp: at(-60 + i)},
		}
		if _, err := in.WriteBatch(context.Background(), wire.Batch{Results: rs}); err != nil {
			t.Fatal(err)
		}
	}
	return msglog.NewReader(db, st), st
}

func TestQuery(t *testing.T) {
	r, st := setup(t)
	ctx := context.Background()
	f := func(q store.MessageQuery, want ...string) {
		t.Helper()
		if q.To == 0 {
			q.To = at(0)
		}
		got, err := r.Query(ctx, q)
		if err != nil {
			t.Fatalf("Query(%+v): %v", q, err)
		}
		var texts []string
		for _, m := range got {
			texts = append(texts, m.Text)
		}
		if fmt.Sprint(texts) != fmt.Sprint(want) {
			t.Fatalf("Query(%+v) = %v, want %v", q, texts, want)
		}
	}
	f(store.MessageQuery{Host: "web1", Plugin: "http", Check: "home", Limit: 3}, "http 5", "http 4", "http 3")
	f(store.MessageQuery{Host: "web1", Plugin: "load", From: at(-58), To: at(-57)}, "load 3", "load 2")
	f(store.MessageQuery{Host: "web1", Limit: 4}, "load 5", "http 5", "load 4", "http 4")
	f(store.MessageQuery{Host: "web1", Plugin: "http", Check: "other"})
	f(store.MessageQuery{Host: "web1", Plugin: "silent"})
	f(store.MessageQuery{Host: "nohost"})

	got, err := r.Query(ctx, store.MessageQuery{Host: "web1", Plugin: "load", To: at(0), Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Host != "web1" || got[0].Plugin != "load" || got[0].Check != "" ||
		got[0].Timestamp != at(-55) || got[0].ExitStatus != 1 || got[0].ID == 0 {
		t.Fatalf("got %+v", got)
	}

	// Texts removed by retention before the TSDB dropped the index are
	// skipped, not errors.
	if _, err := st.DeleteMessagesBefore(ctx, at(-57)); err != nil {
		t.Fatal(err)
	}
	f(store.MessageQuery{Host: "web1", Plugin: "http"}, "http 5", "http 4", "http 3")

	for _, bad := range []store.MessageQuery{
		{Plugin: "http", To: at(0)},
		{Host: "web1", From: at(0), To: at(-1)},
		{Host: "web1", To: at(0), Limit: msglog.MaxLimit + 1},
	} {
		if _, err := r.Query(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Query(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

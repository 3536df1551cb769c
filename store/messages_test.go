package store

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
)

func TestAppendMessagesAssignsIncreasingIDs(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	batch := []Message{
		{Timestamp: 1000, Text: "load 0.1"},
		{Timestamp: 2000, Text: "load 0.2"},
		{Timestamp: 1000, ExitStatus: 2, Text: "disk full"},
	}
	ids, err := st.AppendMessages(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || ids[0] < 1 || ids[1] != ids[0]+1 || ids[2] != ids[1]+1 {
		t.Fatalf("ids = %v, want three consecutive ids", ids)
	}
	got, err := st.MessagesByID(ctx, append(ids, 999_999))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("MessagesByID = %v, want 3 (the unknown id missing)", got)
	}
	want := Message{ID: ids[2], Timestamp: 1000, ExitStatus: 2, Text: "disk full"}
	if got[ids[2]] != want {
		t.Fatalf("message %d = %+v, want %+v", ids[2], got[ids[2]], want)
	}
	if ids, err := st.AppendMessages(ctx, nil); ids != nil || err != nil {
		t.Fatalf("empty append = %v, %v", ids, err)
	}

	// A reopened store continues after the highest id: ids are never reused.
	path := filepath.Join(t.TempDir(), "reopen.db")
	first, err := OpenSQLite(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	old, err := first.AppendMessages(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	st2, err := OpenSQLite(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	more, err := st2.AppendMessages(ctx, batch[:1])
	if err != nil {
		t.Fatal(err)
	}
	if more[0] <= old[2] {
		t.Fatalf("id after reopen = %d, want > %d", more[0], old[2])
	}
}

func TestAppendMessagesLargeBatches(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	// Sizes around the statement size exercise the full and tail statements.
	total := 0
	var all []int64
	for _, size := range []int{1, rowsPerInsert - 1, rowsPerInsert, rowsPerInsert + 1, 3*rowsPerInsert + 7} {
		batch := make([]Message, size)
		for i := range batch {
			batch[i] = Message{Timestamp: int64(total + i), Text: fmt.Sprintf("m%d", total+i)}
		}
		ids, err := st.AppendMessages(ctx, batch)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if len(ids) != size {
			t.Fatalf("size %d: %d ids", size, len(ids))
		}
		all = append(all, ids...)
		total += size
	}
	var rows int
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != total {
		t.Fatalf("%d rows, want %d", rows, total)
	}
	got, err := st.MessagesByID(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range all {
		if got[id].Text != fmt.Sprintf("m%d", i) {
			t.Fatalf("message %d = %+v, want text m%d", id, got[id], i)
		}
	}
}

func TestAppendMessagesConcurrent(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int64]bool{}
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range 10 {
				batch := make([]Message, 50)
				for i := range batch {
					batch[i] = Message{Timestamp: int64(g*1000 + b*50 + i), Text: "t"}
				}
				ids, err := st.AppendMessages(ctx, batch)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, id := range ids {
					if seen[id] {
						errs <- fmt.Errorf("id %d handed out twice", id)
					}
					seen[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var rows int
	st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&rows)
	if rows != 8*10*50 || len(seen) != rows {
		t.Fatalf("%d rows, %d ids; want 4000 each", rows, len(seen))
	}
}

func TestDeleteMessagesBefore(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	// More rows than one retention transaction covers.
	n := retentionRowsPerTx + 500
	batch := make([]Message, n)
	for i := range batch {
		batch[i] = Message{Timestamp: int64(i % 4 * 100), Text: "x"}
	}
	var ids []int64
	for start := 0; start < n; start += 5000 {
		got, err := st.AppendMessages(ctx, batch[start:min(start+5000, n)])
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	deleted, err := st.DeleteMessagesBefore(ctx, 200)
	if err != nil {
		t.Fatal(err)
	}
	if deleted != int64(n/2) {
		t.Fatalf("deleted %d, want %d", deleted, n/2)
	}
	left, err := st.MessagesByID(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != n/2 {
		t.Fatalf("%d left, want %d", len(left), n/2)
	}
	for _, m := range left {
		if m.Timestamp < 200 {
			t.Fatalf("message %+v survived retention", m)
		}
	}
	if d, err := st.DeleteMessagesBefore(ctx, 200); d != 0 || err != nil {
		t.Fatalf("second retention run = %d, %v; want 0, nil", d, err)
	}
}

// BenchmarkAppendMessages measures the message log's texts on the ingest
// path, in batches of 500 over a table that already holds a million rows.
// Where the messages come from no longer matters to the store: every batch
// appends at the end. Run it with
//
//	go test ./store -run '^$' -bench AppendMessages
func BenchmarkAppendMessages(b *testing.B) {
	const batchSize = 500
	st := newTestStore(b)
	ctx := context.Background()
	const base = 1_700_000_000_000
	batch := make([]Message, batchSize)
	fill := func(n int) {
		for i := range batch {
			batch[i] = Message{Timestamp: base + int64(n*batchSize+i)*10, Text: fmt.Sprintf("OK - load average: 0.%02d, 0.37, 0.31", i%100)}
		}
	}
	for n := range 2000 {
		fill(n)
		if _, err := st.AppendMessages(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		fill(2000 + i)
		b.StartTimer()
		if _, err := st.AppendMessages(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "msgs/s")
}

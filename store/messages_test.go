package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	path := testDSN(t)
	first, err := Open(ctx, path, slog.New(slog.DiscardHandler))
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
	st2, err := Open(ctx, path, slog.New(slog.DiscardHandler))
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
	// Sizes around the block size exercise full and partial blocks.
	total := 0
	var all []int64
	for _, size := range []int{1, maxBlockMessages - 1, maxBlockMessages, maxBlockMessages + 1, 3*maxBlockMessages + 7} {
		batch := make([]Message, size)
		for i := range batch {
			batch[i] = Message{Timestamp: int64(total + i), ExitStatus: i % 4, Text: fmt.Sprintf("m%d", total+i)}
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
	var blocks, msgs int
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*), SUM(count) FROM message_blocks`).Scan(&blocks, &msgs); err != nil {
		t.Fatal(err)
	}
	if msgs != total || blocks != 1+1+1+2+4 {
		t.Fatalf("%d blocks holding %d messages, want 9 holding %d", blocks, msgs, total)
	}
	got, err := st.MessagesByID(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != total {
		t.Fatalf("read %d messages, want %d", len(got), total)
	}
	for i, id := range all {
		if m := got[id]; m.Text != fmt.Sprintf("m%d", i) || m.Timestamp != int64(i) {
			t.Fatalf("message %d = %+v, want text m%d at %d", id, m, i, i)
		}
	}
	// A few ids scattered over blocks, in any order, with repeats.
	some := []int64{all[total-1], all[0], all[maxBlockMessages], all[0]}
	got, err = st.MessagesByID(ctx, some)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[all[maxBlockMessages]].Text != fmt.Sprintf("m%d", maxBlockMessages) {
		t.Fatalf("scattered read = %v", got)
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
	st.r.QueryRowContext(ctx, `SELECT SUM(count) FROM message_blocks`).Scan(&rows)
	if rows != 8*10*50 || len(seen) != rows {
		t.Fatalf("%d rows, %d ids; want 4000 each", rows, len(seen))
	}
}

func TestDeleteMessagesBefore(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	// More blocks than one retention transaction covers; each block's
	// messages share a timestamp, 0, 100, 200 or 300.
	n := retentionBlocksPerTx + 500
	var ids []int64
	for i := range n {
		got, err := st.AppendMessages(ctx, []Message{{Timestamp: int64(i % 4 * 100), Text: "a"}, {Timestamp: int64(i % 4 * 100), Text: "b"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	// A block with one old and one new message stays whole.
	mixed, err := st.AppendMessages(ctx, []Message{{Timestamp: 0, Text: "old"}, {Timestamp: 300, Text: "new"}})
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := st.DeleteMessagesBefore(ctx, 200)
	if err != nil {
		t.Fatal(err)
	}
	if deleted != int64(n) {
		t.Fatalf("deleted %d messages, want %d", deleted, n)
	}
	left, err := st.MessagesByID(ctx, append(ids, mixed...))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != n+2 {
		t.Fatalf("%d left, want %d", len(left), n+2)
	}
	for _, m := range left {
		if m.Timestamp < 200 && m.Text != "old" {
			t.Fatalf("message %+v survived retention", m)
		}
	}
	if d, err := st.DeleteMessagesBefore(ctx, 200); d != 0 || err != nil {
		t.Fatalf("second retention run = %d, %v; want 0, nil", d, err)
	}
}

func TestDecodeBlockRejectsCorruption(t *testing.T) {
	good := encodeBlock([]Message{{Timestamp: 5, ExitStatus: 2, Text: "disk full"}, {Timestamp: 7, Text: "ok"}}, 5, nil)
	var got []Message
	if err := decodeBlock(good, 10, 5, func(m Message) { got = append(got, m) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (Message{ID: 10, Timestamp: 5, ExitStatus: 2, Text: "disk full"}) || got[1].ID != 11 || got[1].Timestamp != 7 {
		t.Fatalf("decoded %+v", got)
	}
	for _, bad := range [][]byte{nil, []byte("junk"), good[:len(good)-1], append(good[:len(good):len(good)], 0)} {
		if err := decodeBlock(bad, 1, 0, func(Message) {}); !errors.Is(err, errCorruptBlock) {
			t.Errorf("decodeBlock(%q) = %v, want errCorruptBlock", bad, err)
		}
	}
}

func FuzzDecodeBlock(f *testing.F) {
	f.Add(encodeBlock([]Message{{Timestamp: 5, ExitStatus: 2, Text: "disk full"}}, 0, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = decodeBlock(data, 1, 0, func(m Message) {
			if m.ID < 1 || m.ID > maxBlockMessages {
				t.Fatalf("id %d outside the block", m.ID)
			}
		})
	})
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

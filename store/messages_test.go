package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

func TestAppendMessagesIdempotent(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	batch := []Message{
		{Host: "web1", Plugin: "cpu", Check: "res", Timestamp: 1000, Text: "load 0.1"},
		{Host: "web1", Plugin: "cpu", Check: "res", Timestamp: 2000, Text: "load 0.2"},
		{Host: "web1", Plugin: "disk", Check: "res", Timestamp: 1000, ExitStatus: 2, Text: "disk full"},
		{Host: "web2", Plugin: "cpu", Timestamp: 1000, Text: "ad hoc"},
		// A duplicate inside the batch is stored once.
		{Host: "web1", Plugin: "cpu", Check: "res", Timestamp: 2000, Text: "load 0.2"},
	}
	n, err := st.AppendMessages(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("first append inserted %d, want 4", n)
	}
	n, err = st.AppendMessages(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("re-sent batch inserted %d, want 0", n)
	}
	// A fresh store instance (empty series cache) must also see duplicates.
	st.msgs.init()
	n, err = st.AppendMessages(ctx, append(batch, Message{Host: "web1", Plugin: "cpu", Check: "res", Timestamp: 3000, Text: "new"}))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("append after cache reset inserted %d, want 1", n)
	}
	if n, err := st.AppendMessages(ctx, nil); n != 0 || err != nil {
		t.Fatalf("empty append = %d, %v", n, err)
	}
	_, err = st.AppendMessages(ctx, []Message{{Host: "", Plugin: "cpu", Timestamp: 1}})
	wantErr(t, err, ErrInvalid, "host and plugin are required")
}

func TestAppendMessagesLargeBatches(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	// Sizes around the statement size exercise the full and tail statements.
	total := 0
	for _, size := range []int{1, rowsPerInsert - 1, rowsPerInsert, rowsPerInsert + 1, 3*rowsPerInsert + 7} {
		batch := make([]Message, size)
		for i := range batch {
			batch[i] = Message{Host: fmt.Sprintf("h%d", i%13), Plugin: "p", Check: "c", Timestamp: int64(total + i), Text: "x"}
		}
		n, err := st.AppendMessages(ctx, batch)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if n != size {
			t.Fatalf("size %d: inserted %d", size, n)
		}
		total += size
	}
	var rows int
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != total {
		t.Fatalf("%d rows, want %d", rows, total)
	}
}

func TestAppendMessagesConcurrent(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range 10 {
				batch := make([]Message, 50)
				for i := range batch {
					// Every goroutine writes the same new series at once.
					batch[i] = Message{Host: fmt.Sprintf("h%d", i), Plugin: "p", Timestamp: int64(g*1000 + b*50 + i), Text: "t"}
				}
				if _, err := st.AppendMessages(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var series, rows int
	st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM message_series`).Scan(&series)
	st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&rows)
	if series != 50 || rows != 8*10*50 {
		t.Fatalf("%d series, %d rows; want 50, 4000", series, rows)
	}
}

func TestMessagesQuery(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	var batch []Message
	for ts := int64(1); ts <= 10; ts++ {
		batch = append(batch,
			Message{Host: "web1", Plugin: "cpu", Check: "res", Timestamp: ts * 1000, Text: fmt.Sprintf("cpu %d", ts)},
			Message{Host: "web1", Plugin: "mem", Check: "res", Timestamp: ts*1000 + 1, Text: fmt.Sprintf("mem %d", ts)},
			Message{Host: "web2", Plugin: "cpu", Check: "res", Timestamp: ts * 1000, Text: "other host"},
		)
	}
	if _, err := st.AppendMessages(ctx, batch); err != nil {
		t.Fatal(err)
	}
	f := func(q MessageQuery, want ...string) {
		t.Helper()
		got, err := st.Messages(ctx, q)
		if err != nil {
			t.Fatalf("Messages(%+v): %v", q, err)
		}
		var texts []string
		for _, m := range got {
			texts = append(texts, m.Text)
		}
		if fmt.Sprint(texts) != fmt.Sprint(want) {
			t.Fatalf("Messages(%+v) = %v, want %v", q, texts, want)
		}
	}
	f(MessageQuery{Host: "web1", Plugin: "cpu", Check: "res", Limit: 3}, "cpu 10", "cpu 9", "cpu 8")
	f(MessageQuery{Host: "web1", Plugin: "cpu", From: 2000, To: 4000}, "cpu 4", "cpu 3", "cpu 2")
	f(MessageQuery{Host: "web1", Limit: 4}, "mem 10", "cpu 10", "mem 9", "cpu 9")
	f(MessageQuery{Host: "web1", Plugin: "cpu", Check: "other"})
	f(MessageQuery{Host: "nohost"})
	got, err := st.Messages(ctx, MessageQuery{Host: "web1", Plugin: "cpu", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := Message{Host: "web1", Plugin: "cpu", Check: "res", Timestamp: 10000, Text: "cpu 10"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}

	_, err = st.Messages(ctx, MessageQuery{Plugin: "cpu"})
	wantErr(t, err, ErrInvalid, "host is required")
	_, err = st.Messages(ctx, MessageQuery{Host: "web1", Limit: 1 << 20})
	wantErr(t, err, ErrInvalid, "limit")
	_, err = st.Messages(ctx, MessageQuery{Host: "web1", From: 5, To: 4})
	wantErr(t, err, ErrInvalid, "after")
}

func TestDeleteMessagesBefore(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	var batch []Message
	// More series than one retention transaction covers.
	for h := range retentionSeriesPerTx + 50 {
		for ts := int64(1); ts <= 4; ts++ {
			batch = append(batch, Message{Host: fmt.Sprintf("h%d", h), Plugin: "p", Timestamp: ts * 100, Text: "x"})
		}
	}
	if _, err := st.AppendMessages(ctx, batch); err != nil {
		t.Fatal(err)
	}
	n, err := st.DeleteMessagesBefore(ctx, 300)
	if err != nil {
		t.Fatal(err)
	}
	series := int64(retentionSeriesPerTx + 50)
	if n != 2*series {
		t.Fatalf("deleted %d, want %d", n, 2*series)
	}
	left, err := st.Messages(ctx, MessageQuery{Host: "h7", Plugin: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0].Timestamp != 400 || left[1].Timestamp != 300 {
		t.Fatalf("left %+v, want ts 400 and 300", left)
	}
	if n, err := st.DeleteMessagesBefore(ctx, 300); n != 0 || err != nil {
		t.Fatalf("second retention run = %d, %v; want 0, nil", n, err)
	}
	// Deleted messages may be written again (a replayed backlog).
	if n, err := st.AppendMessages(ctx, batch[:1]); n != 1 || err != nil {
		t.Fatalf("re-append after retention = %d, %v", n, err)
	}
}

// BenchmarkAppendMessages measures the message log on the ingest path, in
// batches of 500 messages of 5,000 series (1,000 hosts x 5 plugins), each
// series' timestamps increasing as agents push them. Run it with
//
//	go test ./store -run '^$' -bench AppendMessages -benchtime 2000x
//
// Two shapes of batch:
//
//   - agent: each batch is one agent's backlog, its 5 series x 100 runs
//     (what an agent pushing batches of 500 sends);
//   - spread: each batch holds 500 different series at one timestamp (the
//     worst case: every row lands on a different page of the table).
func BenchmarkAppendMessages(b *testing.B) {
	const batchSize, hosts, plugins = 500, 1000, 5
	pluginNames := [plugins]string{"cpu", "memory", "disk", "load", "http"}
	hostNames := make([]string, hosts)
	for i := range hostNames {
		hostNames[i] = fmt.Sprintf("web%04d.example.com", i)
	}
	const base = 1_700_000_000_000
	msg := func(host, plugin int, ts int64) Message {
		return Message{
			Host: hostNames[host], Plugin: pluginNames[plugin], Check: "resources",
			Timestamp: ts, Text: "OK - load average: 0.42, 0.37, 0.31",
		}
	}
	run := func(b *testing.B, fill func(batch []Message, n int)) {
		st := newTestStore(b)
		ctx := context.Background()
		batch := make([]Message, batchSize)
		// Warm up: every series exists and is cached, as in a running server.
		for h := range hosts {
			for p := range plugins {
				batch[(h*plugins+p)%batchSize] = msg(h, p, base-1)
			}
			if (h+1)*plugins%batchSize == 0 {
				if _, err := st.AppendMessages(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			fill(batch, i)
			b.StartTimer()
			n, err := st.AppendMessages(ctx, batch)
			if err != nil {
				b.Fatal(err)
			}
			if n != batchSize {
				b.Fatalf("inserted %d, want %d", n, batchSize)
			}
		}
		b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "msgs/s")
	}
	b.Run("agent", func(b *testing.B) {
		run(b, func(batch []Message, n int) {
			h := n % hosts
			round := int64(n / hosts)
			for i := range batch {
				batch[i] = msg(h, i%plugins, base+(round*100+int64(i/plugins))*10_000)
			}
		})
	})
	b.Run("spread", func(b *testing.B) {
		run(b, func(batch []Message, n int) {
			for i := range batch {
				s := (n*batchSize + i) % (hosts * plugins)
				step := int64((n*batchSize + i) / (hosts * plugins))
				batch[i] = msg(s/plugins, s%plugins, base+step*60_000)
			}
		})
	})
}

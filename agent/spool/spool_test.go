package spool

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// result returns a distinct, realistic result numbered i (its Timestamp).
func result(i int) wire.Result {
	v := float64(i) / 4
	return wire.Result{
		Host:      "web-1.example.net",
		Plugin:    "disk",
		Check:     "Webserver resources",
		Timestamp: int64(i),
		Value:     &v,
		Message:   fmt.Sprintf("DISK OK - free space: / %d MiB", i),
		Metrics: []wire.Metric{
			{Name: "used_bytes", Labels: map[string]string{"mount": "/"}, Value: float64(i) * 1e6, Unit: "bytes"},
			{Name: "inodes", Value: 12, Counter: true},
		},
		Duration:   0.012,
		ExitStatus: i % 4,
		Skipped:    i%7 == 0,
	}
}

func results(from, to int) []wire.Result {
	var rs []wire.Result
	for i := from; i < to; i++ {
		rs = append(rs, result(i))
	}
	return rs
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

func open(t *testing.T, dir string, opts Options) *Spool {
	t.Helper()
	s, err := Open(dir, opts, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// drain peeks and acks everything and returns the Timestamps seen.
func drain(t *testing.T, s *Spool, per int) []int64 {
	t.Helper()
	var got []int64
	for {
		b, err := s.Peek(per)
		if err != nil {
			t.Fatalf("Peek: %v", err)
		}
		if len(b.Results) == 0 {
			return got
		}
		for _, r := range b.Results {
			got = append(got, r.Timestamp)
		}
		if err := s.Ack(b); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
}

// peekAll returns the Timestamps of every pending result, without acking.
func peekAll(t *testing.T, s *Spool) []int64 {
	t.Helper()
	b, err := s.Peek(1 << 30)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	var got []int64
	for _, r := range b.Results {
		got = append(got, r.Timestamp)
	}
	return got
}

func seq(from, to int) []int64 {
	var s []int64
	for i := from; i < to; i++ {
		s = append(s, int64(i))
	}
	return s
}

func wantSeq(t *testing.T, got []int64, from, to int) {
	t.Helper()
	if want := seq(from, to); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d results %v\nwant %d: [%d, %d)", len(got), abbrev(got), len(want), from, to)
	}
}

func abbrev(s []int64) string {
	if len(s) > 20 {
		return fmt.Sprint(s[:10], "...", s[len(s)-10:])
	}
	return fmt.Sprint(s)
}

func TestRoundTrip(t *testing.T) {
	s := open(t, t.TempDir(), Options{SegmentBytes: 4 << 10})
	want := results(0, 1000)
	for i := 0; i < len(want); i += 37 {
		if err := s.Append(want[i:min(i+37, len(want))]...); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != 1000 {
		t.Fatalf("Len = %d, want 1000", s.Len())
	}
	if len(s.segs) < 10 {
		t.Fatalf("%d segments, want the 4 KiB segments to rotate", len(s.segs))
	}
	var got []wire.Result
	for {
		b, err := s.Peek(64)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Results) == 0 {
			break
		}
		// Peek without Ack returns the same results.
		again, _ := s.Peek(64)
		if !reflect.DeepEqual(again.Results, b.Results) {
			t.Fatal("a second Peek returned other results")
		}
		got = append(got, b.Results...)
		if err := s.Ack(b); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("results differ after the round trip")
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 || len(s.segs) != 1 {
		t.Fatalf("Len %d, %d segments after acking everything; want 0 and 1", s.Len(), len(s.segs))
	}
	if s.Dropped() != 0 {
		t.Fatalf("Dropped = %d", s.Dropped())
	}
}

func TestAckThenReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 8 << 10})
	if err := s.Append(results(0, 500)...); err != nil {
		t.Fatal(err)
	}
	b, err := s.Peek(300)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(b); err != nil {
		t.Fatal(err)
	}
	// A batch peeked but not acked comes back.
	if _, err := s.Peek(100); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Append(result(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}

	s = open(t, dir, Options{SegmentBytes: 8 << 10})
	if s.Len() != 200 {
		t.Fatalf("Len after reopen = %d, want 200", s.Len())
	}
	wantSeq(t, peekAll(t, s), 300, 500)
	if err := s.Append(results(500, 600)...); err != nil {
		t.Fatal(err)
	}
	wantSeq(t, drain(t, s, 70), 300, 600)
	s.Close()

	s = open(t, dir, Options{SegmentBytes: 8 << 10})
	if s.Len() != 0 || len(peekAll(t, s)) != 0 {
		t.Fatalf("acknowledged results came back: Len %d", s.Len())
	}
	if err := s.Append(results(600, 601)...); err != nil {
		t.Fatal(err)
	}
	wantSeq(t, peekAll(t, s), 600, 601)
}

func TestAckDurableAtSync(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SyncInterval: time.Hour}
	s := open(t, dir, opts)
	if err := s.Append(results(0, 10)...); err != nil {
		t.Fatal(err)
	}
	b, err := s.Peek(4)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(b); err != nil {
		t.Fatal(err)
	}
	wantSeq(t, peekAll(t, s), 4, 10)
	// What a crash now would leave: the ack is not durable yet, and the
	// acknowledged results would be sent again.
	crashed := open(t, dir, opts)
	wantSeq(t, peekAll(t, crashed), 0, 10)
	crashed.Close()
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	crashed = open(t, dir, opts)
	wantSeq(t, peekAll(t, crashed), 4, 10)
	crashed.Close()
}

func TestBound(t *testing.T) {
	dir := t.TempDir()
	recLen := len(appendRecord(nil, 0, func(b []byte) []byte { r := result(100); return encodeResult(b, &r) }))
	opts := Options{SegmentBytes: int64(10 * recLen), MaxBytes: int64(40 * recLen)}
	s := open(t, dir, opts)
	// Results 100..189 have the same encoded size: 10 per segment.
	for i := 100; i < 190; i++ {
		if err := s.Append(result(i)); err != nil {
			t.Fatal(err)
		}
		if s.Bytes() > opts.MaxBytes {
			t.Fatalf("Bytes = %d over MaxBytes %d", s.Bytes(), opts.MaxBytes)
		}
	}
	// 9 segments written, at most 4 fit: the oldest 5 (50 results) dropped.
	if s.Dropped() != 50 || s.Len() != 40 {
		t.Fatalf("Dropped %d, Len %d; want 50 and 40", s.Dropped(), s.Len())
	}
	b, err := s.Peek(15)
	if err != nil {
		t.Fatal(err)
	}
	if b.Dropped != 50 || b.Results[0].Timestamp != 150 {
		t.Fatalf("batch reports %d dropped, starts at %d; want 50 and 150", b.Dropped, b.Results[0].Timestamp)
	}
	if err := s.Ack(b); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, opts)
	if s.Dropped() != 0 {
		t.Fatalf("Dropped = %d after the drop was reported", s.Dropped())
	}
	wantSeq(t, peekAll(t, s), 165, 190)
}

func TestBoundUnreportedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 2 << 10, MaxBytes: 8 << 10}
	s := open(t, dir, opts)
	for i := range 200 {
		if err := s.Append(result(i)); err != nil {
			t.Fatal(err)
		}
	}
	dropped := s.Dropped()
	if dropped == 0 || int(dropped)+s.Len() != 200 {
		t.Fatalf("Dropped %d + Len %d, want 200 with drops", dropped, s.Len())
	}
	s.Close()
	s = open(t, dir, opts)
	b, err := s.Peek(1000)
	if err != nil {
		t.Fatal(err)
	}
	if b.Dropped != dropped || int(b.Results[0].Timestamp) != int(dropped) {
		t.Fatalf("after restart: batch reports %d dropped from %d; want %d", b.Dropped, b.Results[0].Timestamp, dropped)
	}
}

func TestAppendTooLarge(t *testing.T) {
	s := open(t, t.TempDir(), Options{MaxBytes: 1 << 10})
	if err := s.Append(results(0, 100)...); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append = %v, want ErrTooLarge", err)
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
}

// fullDisk writes through until full is set, then writes half of what it
// is given and fails with ENOSPC, like a write that fills the disk.
type fullDisk struct {
	w    io.Writer
	full *atomic.Bool
}

func (d fullDisk) Write(p []byte) (int, error) {
	if !d.full.Load() {
		return d.w.Write(p)
	}
	n, _ := d.w.Write(p[:len(p)/2])
	return n, syscall.ENOSPC
}

func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	var full atomic.Bool
	opts := Options{
		SegmentBytes: 4 << 10,
		WrapWriter:   func(w io.Writer) io.Writer { return fullDisk{w, &full} },
	}
	s := open(t, dir, opts)
	if err := s.Append(results(0, 50)...); err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	for i := range 3 {
		err := s.Append(results(50, 60)...)
		if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Append %d on a full disk = %v, want ErrDiskFull wrapping ENOSPC", i, err)
		}
	}
	if s.Len() != 50 {
		t.Fatalf("Len = %d, want 50", s.Len())
	}
	// The half-written records were cut off the file.
	g := s.segs[len(s.segs)-1]
	if fi, err := os.Stat(g.path); err != nil || fi.Size() != g.end {
		t.Fatalf("segment file is %v bytes (%v), want %d without the partial write", fi.Size(), err, g.end)
	}
	// Reading and acknowledging go on while the disk is full.
	b, err := s.Peek(20)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(b); err != nil {
		t.Fatal(err)
	}
	full.Store(false)
	if err := s.Append(results(50, 60)...); err != nil {
		t.Fatalf("Append after space returned: %v", err)
	}
	wantSeq(t, peekAll(t, s), 20, 60)
	s.Close()
	s = open(t, dir, Options{})
	if s.Dropped() != 0 {
		t.Fatalf("Dropped = %d", s.Dropped())
	}
	wantSeq(t, peekAll(t, s), 20, 60)
}

func TestGroupCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, t.TempDir(), Options{SyncInterval: time.Second})
		if err := s.Append(result(1)); err != nil {
			t.Fatal(err)
		}
		if n := s.syncs.Load(); n != 0 {
			t.Fatalf("%d fsyncs right after Append, want 0 (group commit)", n)
		}
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if n := s.syncs.Load(); n != 0 {
			t.Fatalf("%d fsyncs before the interval, want 0", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := s.syncs.Load(); n != 1 {
			t.Fatalf("%d fsyncs after the interval, want 1", n)
		}
		// Nothing written: no fsync.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := s.syncs.Load(); n != 1 {
			t.Fatalf("%d fsyncs while idle, want 1", n)
		}
		for range 100 {
			if err := s.Append(result(2)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		if n := s.syncs.Load(); n != 2 {
			t.Fatalf("%d fsyncs after Sync, want 2", n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestGroupCommitAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir, Options{})
		if err := s.Append(results(0, 10)...); err != nil {
			t.Fatal(err)
		}
		b, err := s.Peek(6)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ack(b); err != nil {
			t.Fatal(err)
		}
		// Within the interval the ack is not on disk yet...
		other := open(t, dir, Options{SyncInterval: time.Hour})
		wantSeq(t, peekAll(t, other), 0, 10)
		other.Close()
		// ...after it, it is.
		time.Sleep(defaultSyncInterval)
		synctest.Wait()
		other = open(t, dir, Options{SyncInterval: time.Hour})
		wantSeq(t, peekAll(t, other), 6, 10)
		other.Close()
		s.Close()
	})
}

func TestSyncEveryAppend(t *testing.T) {
	s := open(t, t.TempDir(), Options{SyncInterval: -1})
	for range 3 {
		if err := s.Append(result(1)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.syncs.Load(); n != 3 {
		t.Fatalf("%d fsyncs, want one per Append", n)
	}
}

func TestConcurrentAppendPeekAck(t *testing.T) {
	s := open(t, t.TempDir(), Options{SegmentBytes: 16 << 10})
	const n = 5000
	done := make(chan error)
	go func() {
		for i := 0; i < n; i += 10 {
			if err := s.Append(results(i, i+10)...); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var got []int64
	appended := false
	for len(got) < n {
		b, err := s.Peek(97)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Results {
			got = append(got, r.Timestamp)
		}
		if err := s.Ack(b); err != nil {
			t.Fatal(err)
		}
		if len(b.Results) == 0 && appended {
			break
		}
		if !appended {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				appended = true
			default:
			}
		}
	}
	if !appended {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	wantSeq(t, got, 0, n)
}

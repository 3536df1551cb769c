package spool

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Tests of what Open and Peek do with damaged files: torn and corrupt
// records, a corrupt ack file, records that do not decode.

// segmentFiles returns the segment files of dir, oldest first.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	for i := range 10 {
		if err := s.Append(results(i*10, i*10+10)...); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	files := segmentFiles(t, dir)
	path := files[len(files)-1]
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the last record in its middle, as a crash mid-write would.
	recLen := int64(len(appendRecord(nil, 99, func(b []byte) []byte { r := result(99); return encodeResult(b, &r) })))
	if err := os.Truncate(path, fi.Size()-recLen/2); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, Options{})
	if s.Dropped() != 0 {
		t.Fatalf("Dropped = %d after a torn tail, want 0: the torn result was never appended", s.Dropped())
	}
	if fi2, _ := os.Stat(path); fi2.Size() != fi.Size()-recLen {
		t.Fatalf("segment is %d bytes, want the torn record cut to %d", fi2.Size(), fi.Size()-recLen)
	}
	if err := s.Append(results(99, 120)...); err != nil {
		t.Fatal(err)
	}
	wantSeq(t, peekAll(t, s), 0, 120)
	s.Close()
	// The repaired spool opens cleanly and holds the same.
	s = open(t, dir, Options{})
	wantSeq(t, peekAll(t, s), 0, 120)
}

func TestCorruptMiddle(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 4 << 10}
	s := open(t, dir, opts)
	for i := range 100 {
		if err := s.Append(result(i)); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.segs) < 3 {
		t.Fatalf("%d segments, want at least 3", len(s.segs))
	}
	second := s.segs[1]
	first, next := int(second.first), int(second.next)
	s.Close()

	// Flip a byte in the fourth record of the second segment.
	data, err := os.ReadFile(second.path)
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for range 3 {
		_, _, n, err := parseRecord(data[off:])
		if err != nil {
			t.Fatal(err)
		}
		off += n
	}
	data[off+recordHeader+5] ^= 0x40
	if err := os.WriteFile(second.path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, opts)
	lost := next - (first + 3)
	if s.Dropped() != uint64(lost) {
		t.Fatalf("Dropped = %d, want the %d results after the corrupt one in its segment", s.Dropped(), lost)
	}
	b, err := s.Peek(1000)
	if err != nil {
		t.Fatal(err)
	}
	if b.Dropped != uint64(lost) {
		t.Fatalf("Batch.Dropped = %d, want %d", b.Dropped, lost)
	}
	var got []int64
	for _, r := range b.Results {
		got = append(got, r.Timestamp)
	}
	want := append(seq(0, first+3), seq(next, 100)...)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if s.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", s.Len(), len(want))
	}
	if err := s.Ack(b); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Peek(10); b.Dropped != 0 {
		t.Fatalf("drops reported again after their batch was acked: %d", b.Dropped)
	}
	s.Close()
	// Counted once: the damaged segment was cut, and the count reported.
	s = open(t, dir, opts)
	if s.Dropped() != 0 || s.Len() != 0 {
		t.Fatalf("after reopen Dropped %d, Len %d; want 0, 0", s.Dropped(), s.Len())
	}
}

func TestCorruptLastSegment(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	for i := range 20 {
		if err := s.Append(result(i)); err != nil {
			t.Fatal(err)
		}
	}
	g := s.segs[0]
	s.Close()
	// Damage result 12's record: the newest segment is cut there, and the
	// 7 valid results after it are counted as lost, not passed off as a
	// torn write.
	data, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for range 12 {
		_, _, n, _ := parseRecord(data[off:])
		off += n
	}
	data[off+recordHeader+1] ^= 1
	if err := os.WriteFile(g.path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, Options{})
	if s.Dropped() != 7 {
		t.Fatalf("Dropped = %d, want 7", s.Dropped())
	}
	if err := s.Append(results(20, 22)...); err != nil {
		t.Fatal(err)
	}
	if got, want := peekAll(t, s), append(seq(0, 12), 20, 21); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCorruptFoundByRead(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 4 << 10})
	if err := s.Append(results(0, 10)...); err != nil {
		t.Fatal(err)
	}
	// Damage the segment being written behind the open spool's back.
	g := s.segs[0]
	f, err := os.OpenFile(g.path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, g.end-3); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wantSeq(t, peekAll(t, s), 0, 9)
	if s.Dropped() != 1 {
		t.Fatalf("Dropped = %d, want 1", s.Dropped())
	}
	if err := s.Append(results(10, 12)...); err != nil {
		t.Fatal(err)
	}
	// Result 9 was the damaged one; 10 and 11 went to a new segment.
	if got, want := drain(t, s, 100), append(seq(0, 9), 10, 11); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestAckFile(t *testing.T) {
	dir := t.TempDir()
	if a, err := readAck(dir); err != nil || a != (ackState{}) {
		t.Fatalf("missing ack file read as %+v, %v; want zero", a, err)
	}
	want := ackState{head: 1 << 40, unreported: 7}
	if err := writeAck(dir, want); err != nil {
		t.Fatal(err)
	}
	if a, err := readAck(dir); err != nil || a != want {
		t.Fatalf("read %+v, %v; want %+v", a, err, want)
	}
	// The in-place write used on a full disk.
	want = ackState{head: 9, unreported: 0}
	if err := overwriteAck(dir, want.encode()); err != nil {
		t.Fatal(err)
	}
	if a, err := readAck(dir); err != nil || a != want {
		t.Fatalf("read %+v, %v; want %+v", a, err, want)
	}
	b := want.encode()
	b[5] ^= 1
	if err := os.WriteFile(filepath.Join(dir, ackName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readAck(dir); !errors.Is(err, errCorrupt) {
		t.Fatalf("corrupt ack file read with %v", err)
	}
}

func TestCorruptAckFile(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 2 << 10}
	s := open(t, dir, opts)
	if err := s.Append(results(0, 100)...); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(results(100, 200)...); err != nil {
		t.Fatal(err)
	}
	b, err := s.Peek(150)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(b); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, ackName), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The first segment (0..99) was deleted; the second holds 100..199.
	// Without the ack file the spool resends all it has, and loses nothing.
	s = open(t, dir, opts)
	if s.Dropped() != 0 {
		t.Fatalf("Dropped = %d", s.Dropped())
	}
	wantSeq(t, peekAll(t, s), 100, 200)
}

func TestUndecodableCountedOnce(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	r := result(1)
	if err := s.Append(result(0), r, result(2)); err != nil {
		t.Fatal(err)
	}
	// A record of a future encoding: valid frame, unknown version.
	b := appendRecord(nil, 3, func(p []byte) []byte { return append(p, codecVersion+1, 0, 0) })
	if _, err := s.w.Write(b); err != nil {
		t.Fatal(err)
	}
	g := s.segs[0]
	g.end += int64(len(b))
	g.disk += int64(len(b))
	g.next++
	s.nextSeq++
	if err := s.Append(result(4)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := peekAll(t, s); !reflect.DeepEqual(got, []int64{0, 1, 2, 4}) {
			t.Fatalf("got %v", got)
		}
	}
	if s.Dropped() != 1 {
		t.Fatalf("Dropped = %d, want 1", s.Dropped())
	}
}

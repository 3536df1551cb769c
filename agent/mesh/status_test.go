package mesh

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleStatus() Status {
	return Status{
		Host: "web1", Seq: 42, Time: time.UnixMilli(1_790_000_000_123), Uptime: 36 * time.Hour,
		Load1: 0.52, Load5: 0.48, Load15: 1.5, MemUsed: 3 << 30, MemTotal: 8 << 30, CPU: 12.5,
		RxBytesPerSec: 12345, TxBytesPerSec: 678, Users: 2,
		Processes: []Process{{Name: "postgres", CPU: 150.5, RSS: 512 << 20}, {Name: "<script>alert(1)</script>", CPU: 1, RSS: 1}},
		Errors:    []string{"Nov 21 kernel: oom", "Nov 21 sshd: error"},
		Checks:    []Check{{Name: "disk/check_disk", State: StateOK}, {Name: "web/http", State: StateCritical}},
	}
}

func TestStatusRoundTrip(t *testing.T) {
	s := sampleStatus()
	b, err := s.Encode(MaxStatusBytes)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	want := s.normalize()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if got.Checks[0].Name != "web/http" {
		t.Errorf("checks not sorted worst first: %v", got.Checks)
	}
	if len(b) > 300 {
		t.Errorf("sample status is %d bytes, want a compact encoding (< 300)", len(b))
	}
}

func TestStatusNormalize(t *testing.T) {
	s := Status{Host: "h\x00\nost", MemUsed: 10 << 20, MemTotal: 5<<20 + 1234, CPU: 250, Load1: -1, Users: -3, Time: time.UnixMilli(1)}
	for range 20 {
		s.Processes = append(s.Processes, Process{Name: strings.Repeat("é", 100)})
		s.Errors = append(s.Errors, strings.Repeat("x", 1000)+"\xff")
	}
	b, err := s.Encode(MaxStatusBytes)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "h??ost" || got.MemUsed != 5<<20 || got.MemTotal != 5<<20 || got.CPU != 100 || got.Load1 != 0 || got.Users != 0 {
		t.Errorf("not clamped: %+v", got)
	}
	if len(got.Processes) != MaxProcesses || len(got.Processes[0].Name) > MaxProcNameLen || len(got.Errors) != MaxErrorLines || len(got.Errors[0]) > MaxErrorLineLen {
		t.Errorf("not cut: %d processes, name %d bytes, %d errors", len(got.Processes), len(got.Processes[0].Name), len(got.Errors))
	}
}

func TestStatusEncodeTrims(t *testing.T) {
	s := sampleStatus()
	for i := range 200 {
		s.Checks = append(s.Checks, Check{Name: strings.Repeat("c", 100) + string(rune('a'+i%26)), State: StateOK})
	}
	s.Checks = append(s.Checks, Check{Name: "zz/critical", State: StateCritical})
	b, err := s.Encode(1200)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 1200 {
		t.Fatalf("%d bytes, limit 1200", len(b))
	}
	got, _ := DecodeStatus(b)
	if len(got.Checks) == 0 || got.Checks[0].State != StateCritical || got.Checks[1].State != StateCritical {
		t.Errorf("trimming should keep the critical checks: %v", got.Checks[:min(3, len(got.Checks))])
	}
	if len(got.Errors) != 2 || len(got.Processes) != 2 {
		t.Errorf("checks should go before errors and processes")
	}
	if _, err := (Status{Host: strings.Repeat("h", 250)}).Encode(20); !errors.Is(err, ErrStatusTooBig) {
		t.Errorf("Encode with an impossible limit: %v", err)
	}
}

func TestDecodeStatusRefuses(t *testing.T) {
	good, _ := sampleStatus().Encode(MaxStatusBytes)
	f := func(name string, b []byte, want string) {
		t.Helper()
		_, err := DecodeStatus(b)
		if !errors.Is(err, ErrBadStatus) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	f("empty", nil, "version")
	f("version", append([]byte{1}, good[1:]...), "version")
	f("trailing", append(append([]byte(nil), good...), 0), "trailing")
	f("truncated", good[:len(good)-3], "truncated")
	f("too big", make([]byte, MaxStatusBytes+1), "over")
	f("empty host", append([]byte{statusVersion, 0}, good[6:]...), "empty host")
	f("control in host", append([]byte{statusVersion, 4, 'a', '\n', 'b', 'c'}, good[6:]...), "printable")
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] = 9
	f("state", bad, "state")
	f("overlong varint", []byte{statusVersion, 1, 'h', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "number")
	if _, err := DecodeStatus((&Status{Host: "h"}).mustAppend(func(b []byte) []byte { return b })); err != nil {
		t.Errorf("minimal status: %v", err)
	}
}

// mustAppend encodes s without normalizing, then lets edit change the bytes.
func (s *Status) mustAppend(edit func([]byte) []byte) []byte {
	return edit(s.appendTo(nil))
}

func TestRing(t *testing.T) {
	r := newRing(3)
	if _, ok := r.latest(); ok || len(r.list()) != 0 {
		t.Fatal("empty ring has statuses")
	}
	for i := uint64(1); i <= 5; i++ {
		r.add(Status{Seq: i})
	}
	l, _ := r.latest()
	got := r.list()
	if l.Seq != 5 || len(got) != 3 || got[0].Seq != 5 || got[2].Seq != 3 {
		t.Fatalf("latest %d, list %v", l.Seq, got)
	}
}

// FuzzDecodeStatus feeds the decoder arbitrary gossip: it must not panic,
// and what it accepts must survive a re-encoding unchanged in meaning.
func FuzzDecodeStatus(f *testing.F) {
	good, _ := sampleStatus().Encode(MaxStatusBytes)
	f.Add(good)
	f.Add([]byte{1})
	f.Add((&Status{Host: "h"}).appendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeStatus(b)
		if err != nil {
			if !errors.Is(err, ErrBadStatus) {
				t.Fatalf("error not wrapping ErrBadStatus: %v", err)
			}
			return
		}
		again, err := s.Encode(MaxStatusBytes)
		if err != nil {
			t.Fatalf("accepted status does not encode: %v", err)
		}
		s2, err := DecodeStatus(again)
		if err != nil {
			t.Fatalf("re-encoded status refused: %v", err)
		}
		if !reflect.DeepEqual(s.normalize(), s2) {
			t.Fatalf("re-encoding changed the status:\n%+v\n%+v", s.normalize(), s2)
		}
	})
}

package mesh

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// onWire returns s as peers decode it.
func onWire(t testing.TB, s Status) Status {
	t.Helper()
	b, err := s.Encode(MaxStatusBytes)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMaterialUpdate(t *testing.T) {
	base := onWire(t, sampleStatus())
	f := func(name string, edit func(*Status), want bool) {
		t.Helper()
		cur := base
		cur.Processes = append([]Process(nil), base.Processes...)
		cur.Time, cur.Uptime = base.Time.Add(time.Minute), base.Uptime+time.Minute
		edit(&cur)
		got, material := materialUpdate(base, cur.normalize())
		if material != want {
			t.Errorf("%s: material %v, want %v", name, material, want)
		}
		if !got.Time.Equal(cur.Time) || got.Uptime != cur.Uptime {
			t.Errorf("%s: time and uptime not taken", name)
		}
		if !want && !reflect.DeepEqual(onWire(t, got).Processes, base.Processes) {
			t.Errorf("%s: a change below the thresholds changed the status", name)
		}
	}
	f("nothing", func(*Status) {}, false)
	f("load jitter", func(s *Status) { s.Load1 += 0.05 }, false)
	f("load step", func(s *Status) { s.Load1 += 0.2 }, true)
	f("high load, small share", func(s *Status) { s.Load15 = 1.6 }, false)
	f("cpu jitter", func(s *Status) { s.CPU += 2 }, false)
	f("cpu step", func(s *Status) { s.CPU += 6 }, true)
	f("memory jitter", func(s *Status) { s.MemUsed += 50 << 20 }, false)
	f("memory step", func(s *Status) { s.MemUsed += 200 << 20 }, true)
	f("memory total", func(s *Status) { s.MemTotal += 1 << 30 }, true)
	f("rx jitter", func(s *Status) { s.RxBytesPerSec += 10000 }, false)
	f("rx step", func(s *Status) { s.RxBytesPerSec += 100000 }, true)
	f("user", func(s *Status) { s.Users++ }, true)
	f("idle process order", func(s *Status) {
		s.Processes = append(s.Processes, Process{Name: "cron", CPU: 0.5})
	}, false)
	f("busy process", func(s *Status) { s.Processes = append(s.Processes, Process{Name: "backup", CPU: 80}) }, true)
	f("process cpu", func(s *Status) { s.Processes[0].CPU += 20 }, true)
	f("error line", func(s *Status) { s.Errors = append(s.Errors, "Nov 21 disk full") }, true)
	f("check state", func(s *Status) { s.Checks = []Check{{Name: "web/http", State: StateOK}} }, true)

	// Below the threshold the gossiped value stays as it was.
	cur := base
	cur.Load1, cur.CPU = base.Load1+0.05, base.CPU+20
	got, _ := materialUpdate(base, cur.normalize())
	if got.Load1 != base.Load1 || got.CPU != cur.CPU {
		t.Errorf("load1 %v (want the old %v), cpu %v (want the new %v)", got.Load1, base.Load1, got.CPU, cur.CPU)
	}
}

func TestHeartbeatEvery(t *testing.T) {
	f := func(interval, down time.Duration, want int) {
		t.Helper()
		if got := heartbeatEvery(interval, down); got != want {
			t.Errorf("interval %s, down %s: every %d intervals, want %d", interval, down, got, want)
		}
	}
	f(time.Minute, DefaultDown, 10)
	f(time.Minute, 6*time.Minute, 2)
	f(200*time.Millisecond, 3*time.Second, 5)
	f(time.Minute, time.Minute, 1)
}

func TestDeltaRoundTrip(t *testing.T) {
	base := onWire(t, sampleStatus())
	f := func(name string, edit func(*Status), maxLen int) {
		t.Helper()
		s := base
		s.Seq, s.Time, s.Uptime = base.Seq+1, base.Time.Add(time.Minute+123*time.Millisecond), base.Uptime+time.Minute
		edit(&s)
		s = onWire(t, s)
		full, _ := s.Encode(MaxStatusBytes)
		d := encodeDelta(base, s, full)
		if d == nil {
			t.Fatalf("%s: no delta", name)
		}
		if len(d) > maxLen {
			t.Errorf("%s: delta of %d bytes, want at most %d (whole status %d)", name, len(d), maxLen, len(full))
		}
		dd, err := decodeDelta(d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if dd.base != uint32(base.Seq) || !dd.newerThan(base.Seq) || dd.newerThan(s.Seq) {
			t.Errorf("%s: base %d, newer than base %v, newer than itself %v", name, dd.base, dd.newerThan(base.Seq), dd.newerThan(s.Seq))
		}
		got, err := dd.apply(base)
		if err != nil {
			t.Fatalf("%s: apply: %v", name, err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Errorf("%s: applied\n got %+v\nwant %+v", name, got, s)
		}
	}
	f("heartbeat", func(*Status) {}, 16)
	f("load", func(s *Status) { s.Load1, s.Load5 = 2.5, 1.25 }, 20)
	f("rebooted clock", func(s *Status) { s.Uptime = 5 * time.Second; s.Time = base.Time.Add(-time.Hour) }, 24)
	f("everything", func(s *Status) {
		s.CPU, s.MemUsed, s.Users, s.RxBytesPerSec = 90, 1<<30, 7, 1e6
		s.Processes = []Process{{Name: "x", CPU: 99}}
		s.Errors = nil
		s.Checks = []Check{{Name: "a/b", State: StateWarning}}
	}, 60)
}

func TestDecodeDeltaRefuses(t *testing.T) {
	base := onWire(t, sampleStatus())
	s := base
	s.Seq, s.Time, s.Load1 = base.Seq+1, base.Time.Add(time.Minute), 3
	full, _ := s.Encode(MaxStatusBytes)
	good := encodeDelta(base, s, full)
	f := func(name string, b []byte, want string) {
		t.Helper()
		_, err := decodeDelta(b)
		if !errors.Is(err, ErrBadStatus) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	f("empty", nil, "version")
	f("version", append([]byte{9}, good[1:]...), "version")
	f("too big", make([]byte, MaxStatusBytes+1), "over")
	f("trailing", append(append([]byte(nil), good...), 0), "trailing")
	f("truncated", good[:len(good)-1], "truncated")
	f("no base", []byte{deltaVersion, 1, 'h', 0, 0}, "base")
	f("seq step 0", []byte{deltaVersion, 1, 'h', 0, 0, 0, 1, 0, 0, 0, 0}, "seq step")
	f("mask", []byte{deltaVersion, 1, 'h', 0, 0, 0, 1, 1, 0, 0, 0xff, 0xff, 0x7f}, "mask")
	f("elapsed", []byte{deltaVersion, 1, 'h', 0, 0, 0, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0}, "elapsed")

	// A delta that would make memory used exceed total is refused on apply.
	bad := base
	bad.Seq, bad.MemUsed, bad.MemTotal = base.Seq+1, 16<<30, 32<<30
	full, _ = bad.Encode(MaxStatusBytes)
	d, err := decodeDelta(encodeDelta(base, bad, full))
	if err != nil {
		t.Fatal(err)
	}
	small := base
	small.MemTotal = 1 << 30
	small.MemUsed = 1 << 29
	d.mask &^= 1 << fieldMemTotal
	if _, err := d.apply(small); !errors.Is(err, ErrBadStatus) {
		t.Errorf("memory used over total: %v", err)
	}
}

// TestTakeDelta feeds one node deltas: one on its base is taken, a
// duplicate or an old one is counted as replayed, one whose base it lacks
// is counted (and the status asked for), its own name is refused.
func TestTakeDelta(t *testing.T) {
	m, err := New(testOptions(), func(context.Context) Status { return Status{} })
	if err != nil {
		t.Fatal(err)
	}
	m.queue, m.relay = newQueueForTest(), newQueueForTest()
	d := (*delegate)(m)
	now := time.Now().Truncate(time.Millisecond)
	s1 := onWire(t, Status{Host: "web2", Seq: 10, Time: now.Add(-2 * time.Minute), Load1: 1, MemTotal: 1 << 30})
	b1, _ := s1.Encode(MaxStatusBytes)
	d.NotifyMsg(envelope("web2", b1))
	step := func(base Status, load float64) (Status, []byte) {
		s := base
		s.Seq, s.Time, s.Load1 = base.Seq+1, base.Time.Add(time.Minute), load
		s = onWire(t, s)
		full, _ := s.Encode(MaxStatusBytes)
		return s, envelopeOf(msgDelta, "web3", encodeDelta(base, s, full))
	}
	s2, d2 := step(s1, 2)
	s3, d3 := step(s2, 3)
	latest := func() Status {
		m.mu.Lock()
		defer m.mu.Unlock()
		s, _ := m.table.hosts["web2"].statuses.latest()
		return s
	}
	// d3 before d2: web2's base (s2) is missing.
	d.NotifyMsg(d3)
	if m.c.noBase.Get() != 1 || latest().Seq != s1.Seq {
		t.Fatalf("delta on a missing base: no_base %d, latest seq %d", m.c.noBase.Get(), latest().Seq)
	}
	d.NotifyMsg(d2)
	d.NotifyMsg(d3)
	if got := latest(); !reflect.DeepEqual(got, s3) {
		t.Fatalf("after two deltas:\n got %+v\nwant %+v", got, s3)
	}
	if m.relay.NumQueued() != 1 { // the newer delta of web2 replaced the older
		t.Errorf("%d relayed, want the latest delta queued", m.relay.NumQueued())
	}
	replayed := m.c.replayed.Get()
	d.NotifyMsg(d2)
	d.NotifyMsg(d3)
	if m.c.replayed.Get() != replayed+2 || latest().Seq != s3.Seq {
		t.Errorf("replayed deltas: counted %d, latest seq %d", m.c.replayed.Get()-replayed, latest().Seq)
	}
	own := s3
	own.Host = m.opts.Name
	_, dOwn := step(own, 9)
	d.NotifyMsg(dOwn)
	if m.c.own.Get() != 1 {
		t.Errorf("a delta about this node: own_name %d", m.c.own.Get())
	}
	if m.c.received.Get() != 3 {
		t.Errorf("%d statuses received, want 3", m.c.received.Get())
	}
}

// TestParseWant: a want names one valid host name and the sequence
// number the sender has, and nothing else; a malformed one is counted.
func TestParseWant(t *testing.T) {
	good := append(header(msgWant, "web2"), 4, 'w', 'e', 'b', '1', 0x96, 0x01)
	sender, host, have, err := parseWant(good)
	if err != nil || sender != "web2" || host != "web1" || have != 150 {
		t.Fatalf("parseWant: %q %q %d %v", sender, host, have, err)
	}
	for name, b := range map[string][]byte{
		"no host":    header(msgWant, "web2"),
		"no seq":     append(header(msgWant, "web2"), 1, 'h'),
		"truncated":  good[:len(good)-1],
		"trailing":   append(append([]byte(nil), good...), 0),
		"empty host": append(header(msgWant, "web2"), 0, 1),
		"control":    append(header(msgWant, "web2"), 2, 'a', '\n', 1),
		"long host":  append(header(msgWant, "web2"), 9, 'a'),
		"type":       append([]byte{msgDigest}, good[1:]...),
	} {
		if _, _, _, err := parseWant(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	m, err := New(testOptions(), func(context.Context) Status { return Status{} })
	if err != nil {
		t.Fatal(err)
	}
	(*delegate)(m).NotifyMsg(good[:len(good)-1])
	if m.c.bad.Get() != 1 {
		t.Errorf("a malformed want: %d counted", m.c.bad.Get())
	}
}

// TestCatchUp: a peer that has a status this node still keeps gets a
// delta from it; one that has none, or one long gone, the whole status.
func TestCatchUp(t *testing.T) {
	h := &hostRecord{name: "web2", statuses: newRing(3)}
	base := onWire(t, sampleStatus())
	var statuses []Status
	for i := range 4 {
		s := base
		s.Seq, s.Time, s.Load1 = base.Seq+uint64(i), base.Time.Add(time.Duration(i)*time.Minute), float64(i)
		s = onWire(t, s)
		statuses = append(statuses, s)
		h.statuses.add(s)
	}
	latest := statuses[3]
	for _, have := range []uint64{statuses[1].Seq, statuses[2].Seq} {
		b, ok := catchUp(h, have, MaxStatusBytes)
		if !ok || b[0] != deltaVersion {
			t.Fatalf("have %d: not a delta", have)
		}
		d, err := decodeDelta(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.apply(statuses[have-base.Seq])
		if err != nil || !reflect.DeepEqual(got, latest) {
			t.Errorf("have %d: caught up to %+v, %v", have, got, err)
		}
	}
	for _, have := range []uint64{0, statuses[0].Seq} { // none; gone from the ring
		b, ok := catchUp(h, have, MaxStatusBytes)
		if !ok || b[0] != statusVersion {
			t.Errorf("have %d: want the whole status", have)
		}
	}
}

// TestDeltaWithoutBaseRelayed: a node that missed a status still relays
// the next delta of its host (once), so the spread does not stall at it.
func TestDeltaWithoutBaseRelayed(t *testing.T) {
	m, err := New(testOptions(), func(context.Context) Status { return Status{} })
	if err != nil {
		t.Fatal(err)
	}
	m.queue, m.relay = newQueueForTest(), newQueueForTest()
	base := onWire(t, Status{Host: "web2", Seq: 7, Time: time.Now().Add(-time.Minute), MemTotal: 1 << 30})
	next := base
	next.Seq, next.Load1 = 8, 1
	full, _ := next.Encode(MaxStatusBytes)
	msg := envelopeOf(msgDelta, "web3", encodeDelta(base, next, full))
	d := (*delegate)(m)
	d.NotifyMsg(msg)
	d.NotifyMsg(msg)
	if m.c.noBase.Get() != 2 || m.relay.NumQueued() != 1 {
		t.Fatalf("no_base %d, relayed %d: want 2 and 1", m.c.noBase.Get(), m.relay.NumQueued())
	}
	if len(m.View().Hosts) != 0 && len(m.View().Hosts[0].Statuses) != 0 {
		t.Errorf("a delta without its base made a status")
	}
}

// FuzzDecodeDelta feeds the delta decoder arbitrary bytes: it must not
// panic; what it accepts, applied to a status, gives a status that
// encodes and decodes again.
func FuzzDecodeDelta(f *testing.F) {
	base := sampleStatus().normalize()
	for _, edit := range []func(*Status){func(*Status) {}, func(s *Status) { s.Load1, s.Users = 9, 3 },
		func(s *Status) { s.Checks, s.Processes, s.Errors = nil, nil, []string{"x"} }} {
		s := base
		s.Seq++
		edit(&s)
		full, _ := s.Encode(MaxStatusBytes)
		f.Add(encodeDelta(base, s, full))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDelta(b)
		if err != nil {
			if !errors.Is(err, ErrBadStatus) {
				t.Fatalf("error not wrapping ErrBadStatus: %v", err)
			}
			return
		}
		s, err := d.apply(base)
		if err != nil {
			if !errors.Is(err, ErrBadStatus) {
				t.Fatalf("apply error not wrapping ErrBadStatus: %v", err)
			}
			return
		}
		enc, err := s.Encode(MaxStatusBytes)
		if err != nil {
			t.Fatalf("applied delta does not encode: %v", err)
		}
		if _, err := DecodeStatus(enc); err != nil {
			t.Fatalf("applied delta, re-encoded, refused: %v", err)
		}
	})
}

package mesh

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func testOptions() Options {
	return Options{Name: "self", Cluster: "c", Keys: [][]byte{testKey}, AllowJoin: MustParseRanges("127.")}
}

// TestLiveness runs the watch loop in a synctest bubble: a peer silent for
// Down is marked down, comes back when seen, and is removed after Remove
// of silence; the state file follows and a new mesh restores it.
func TestLiveness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := testOptions()
		opts.Down, opts.Remove = 30*time.Minute, 10*24*time.Hour
		opts.StateFile = filepath.Join(t.TempDir(), "state.json")
		m, err := New(opts, func(context.Context) Status { return Status{} })
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		alive := []member{{"self", "127.0.0.1:7946"}, {"web1", "127.0.0.2:7946"}, {"web2", "127.0.0.3:7946"}}
		m.members = func() []member {
			mu.Lock()
			defer mu.Unlock()
			return append([]member(nil), alive...)
		}
		setAlive := func(ms ...member) {
			mu.Lock()
			alive = ms
			mu.Unlock()
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { m.watch(ctx); close(done) }()
		up := func(name string) (bool, bool) {
			for _, h := range m.View().Hosts {
				if h.Name == name {
					return h.Up, true
				}
			}
			return false, false
		}

		time.Sleep(time.Minute)
		if u, ok := up("web2"); !ok || !u {
			t.Fatal("web2 not up after being seen")
		}
		// web2 stops answering.
		setAlive(member{"self", "127.0.0.1:7946"}, member{"web1", "127.0.0.2:7946"})
		time.Sleep(29 * time.Minute)
		if u, _ := up("web2"); !u {
			t.Fatal("web2 down before 30 min of silence")
		}
		time.Sleep(2 * time.Minute)
		if u, ok := up("web2"); !ok || u {
			t.Fatalf("web2 not down after 31 min of silence (listed %v)", ok)
		}
		if u, _ := up("web1"); !u {
			t.Fatal("web1 should stay up")
		}
		sf, err := loadState(opts.StateFile)
		if err != nil {
			t.Fatal(err)
		}
		if len(sf.Hosts) != 3 || sf.Hosts[2].Name != "web2" || !sf.Hosts[2].Down {
			t.Fatalf("state file: %+v", sf.Hosts)
		}

		// A restart remembers web2 down.
		m2, err := New(opts, func(context.Context) Status { return Status{} })
		if err != nil {
			t.Fatal(err)
		}
		v := m2.View()
		if len(v.Hosts) != 2 || v.Hosts[1].Name != "web2" || v.Hosts[1].Up {
			t.Fatalf("restored view: %+v", v.Hosts)
		}

		// web2 comes back, then goes away for good.
		setAlive(member{"self", "127.0.0.1:7946"}, member{"web1", "127.0.0.2:7946"}, member{"web2", "127.0.0.3:7946"})
		time.Sleep(time.Minute)
		if u, _ := up("web2"); !u {
			t.Fatal("web2 not back up")
		}
		setAlive(member{"self", "127.0.0.1:7946"}, member{"web1", "127.0.0.2:7946"})
		time.Sleep(10*24*time.Hour - time.Hour)
		if _, ok := up("web2"); !ok {
			t.Fatal("web2 removed before 10 days")
		}
		time.Sleep(2 * time.Hour)
		if _, ok := up("web2"); ok {
			t.Fatal("web2 still listed after 10 days of silence")
		}
		cancel()
		<-done
	})
}

// TestOffer checks the replay rules of the host table.
func TestOffer(t *testing.T) {
	now := time.Unix(1_790_000_000, 0)
	p := newPeers("self", time.Minute, time.Hour, 3)
	f := func(s Status, via string, want verdict) {
		t.Helper()
		if got := p.offer(s, via, now); got != want {
			t.Errorf("offer(%s seq %d via %s) = %d, want %d", s.Host, s.Seq, via, got, want)
		}
	}
	f(Status{Host: "a", Seq: 5, Time: now}, "a", accepted)
	f(Status{Host: "a", Seq: 5, Time: now}, "b", replayed)
	f(Status{Host: "a", Seq: 4, Time: now}, "b", replayed)
	f(Status{Host: "a", Seq: 6, Time: now.Add(time.Hour)}, "b", future)
	f(Status{Host: "a", Seq: 6, Time: now}, "b", accepted)
	f(Status{Host: "self", Seq: 1 << 62, Time: now}, "b", ownStatus)
	if h := p.hosts["a"]; h.reportedBy != "b" || h.lastSeq != 6 {
		t.Errorf("record %+v", h)
	}
}

func TestNewRefuses(t *testing.T) {
	f := func(edit func(*Options)) {
		t.Helper()
		o := testOptions()
		edit(&o)
		if _, err := New(o, func(context.Context) Status { return Status{} }); err == nil {
			t.Errorf("New accepted %+v", o)
		}
	}
	f(func(o *Options) { o.Cluster = "" })
	f(func(o *Options) { o.Keys = nil })
	f(func(o *Options) { o.Keys = [][]byte{[]byte("short")} })
	f(func(o *Options) { o.AllowJoin = nil })
	f(func(o *Options) { o.Name = "bad\nname" })
	f(func(o *Options) { o.Scan = MustParseRanges("10.0.0.0/8") })
	f(func(o *Options) { o.Down, o.Remove = time.Hour, time.Minute })
}

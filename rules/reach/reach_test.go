package reach

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prophasis/prophasis/wire"
)

func view(host, addr string, peers ...wire.MeshPeer) wire.MeshView {
	return wire.MeshView{Host: host, Addr: addr, Interval: wire.Millis(time.Minute), Peers: peers}
}

func peer(host string, alive bool) wire.MeshPeer {
	return wire.MeshPeer{Host: host, Alive: alive, LastSeen: 1000}
}

func TestVerdicts(t *testing.T) {
	now := time.Unix(1e9, 0)
	vs := New()
	if r := vs.Of("web3", now); r.Verdict != NoMesh || r.Text != "" {
		t.Fatalf("no views: %+v", r)
	}
	vs.Report(view("web1", "", peer("web2", true)), "", now)
	if r := vs.Of("web3", now); r.Verdict != NoData || r.Text != "web3 unreachable from the server; no mesh peer reports on it" {
		t.Fatalf("unknown host: %+v", r)
	}
	for i, alive := range []bool{true, true, false, true, true} {
		host := []string{"a", "b", "c", "d", "e"}[i]
		vs.Report(view(host, "", peer("web3", alive)), "", now)
	}
	// web3's own view says nothing about itself.
	vs.Report(view("web3", "", peer("a", true)), "", now)
	r := vs.Of("web3", now)
	if r.Verdict != Alive || r.Alive != 4 || r.Peers != 5 || r.Text != "web3 unreachable from the server, but alive according to 4 of 5 peers" {
		t.Fatalf("alive: %+v", r)
	}
	for _, host := range []string{"a", "b", "d", "e"} {
		vs.Report(view(host, "", peer("web3", false)), "", now)
	}
	if r := vs.Of("web3", now); r.Verdict != Down || r.Text != "web3 down according to all 5 peers" {
		t.Fatalf("down: %+v", r)
	}
}

// TestViewsAge: a view counts for FreshIntervals of its interval (at
// least MinFresh), then no longer.
func TestViewsAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vs := New()
		vs.Report(view("a", "", peer("web3", true)), "", time.Now())
		vs.Report(wire.MeshView{Host: "b", Interval: wire.Millis(time.Second), Peers: []wire.MeshPeer{peer("web3", false)}}, "", time.Now())
		if r := vs.Of("web3", time.Now()); r.Alive != 1 || r.Peers != 2 {
			t.Fatalf("fresh: %+v", r)
		}
		time.Sleep(MinFresh + time.Second) // b's 1 s interval: counts for MinFresh only
		if r := vs.Of("web3", time.Now()); r.Alive != 1 || r.Peers != 1 {
			t.Fatalf("after %s: %+v", MinFresh, r)
		}
		time.Sleep(3*time.Minute - MinFresh)
		if r := vs.Of("web3", time.Now()); r.Verdict != NoMesh {
			t.Fatalf("after 3 intervals: %+v", r)
		}
	})
}

func TestSeeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vs := New()
		ch := vs.SeedsChanged()
		vs.Report(view("a", "127.0.0.2:7946"), "127.0.0.2:7946", time.Now())
		vs.Report(view("b", "127.0.0.3:7946"), "127.0.0.3:7946", time.Now())
		synctest.Wait()
		select {
		case <-ch:
			t.Fatal("the waiters woke before the seeds settled")
		default:
		}
		time.Sleep(SeedsSettle)
		synctest.Wait()
		select {
		case <-ch:
		default:
			t.Fatal("new seeds did not wake the waiters")
		}
		ch = vs.SeedsChanged()
		vs.Report(view("a", "127.0.0.2:7946"), "127.0.0.2:7946", time.Now())
		time.Sleep(2 * SeedsSettle)
		synctest.Wait()
		select {
		case <-ch:
			t.Fatal("the same seeds woke the waiters")
		default:
		}
		if got := vs.Seeds("a"); !slices.Equal(got, []string{"127.0.0.3:7946"}) {
			t.Fatalf("seeds for a: %v", got)
		}
		if got := vs.Seeds("c"); !slices.Equal(got, []string{"127.0.0.2:7946", "127.0.0.3:7946"}) {
			t.Fatalf("seeds for c: %v", got)
		}
		time.Sleep(SeedAge + time.Minute)
		vs.Report(view("b", "127.0.0.3:7946"), "127.0.0.3:7946", time.Now())
		if got := vs.Seeds("c"); !slices.Equal(got, []string{"127.0.0.3:7946"}) {
			t.Fatalf("a's old address still a seed: %v", got)
		}
	})
}

// TestSilentPeersDoNotCountAlive: a peer that still has the host up (its
// down period is long) but has not heard from it for Recent does not count
// as seeing it alive; the silence is measured on the agent's clock, then
// aged on the server's, so a skewed agent clock does not matter.
func TestSilentPeersDoNotCountAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vs := New()
		skew := -time.Hour // the agents' clocks are an hour behind
		agentNow := time.Now().Add(skew)
		for _, h := range []string{"a", "b"} {
			vs.Report(wire.MeshView{Host: h, Interval: wire.Millis(time.Minute), Time: agentNow.UnixMilli(),
				Peers: []wire.MeshPeer{{Host: "web3", Alive: true, LastSeen: agentNow.Add(-10 * time.Second).UnixMilli()}}}, "", time.Now())
		}
		if r := vs.Of("web3", time.Now()); r.Verdict != Alive || r.Alive != 2 {
			t.Fatalf("heard 10 s ago: %+v", r)
		}
		time.Sleep(Recent - 5*time.Second)
		if r := vs.Of("web3", time.Now()); r.Verdict != Down || r.Text != "web3 down according to all 2 peers" {
			t.Fatalf("heard %s ago: %+v", Recent+5*time.Second, r)
		}
		// A fresh view from a peer that hears it again.
		agentNow = time.Now().Add(skew)
		vs.Report(wire.MeshView{Host: "a", Interval: wire.Millis(time.Minute), Time: agentNow.UnixMilli(),
			Peers: []wire.MeshPeer{{Host: "web3", Alive: true, LastSeen: agentNow.UnixMilli()}}}, "", time.Now())
		if r := vs.Of("web3", time.Now()); r.Text != "web3 unreachable from the server, but alive according to 1 of 2 peers" {
			t.Fatalf("heard again by a: %+v", r)
		}
	})
}

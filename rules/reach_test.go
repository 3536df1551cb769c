package rules_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/rules/stale"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// TestStaleHostCarriesMeshReachability: when a host's results stop, the
// unknown event's reason (what alerts carry) and the host's state say what
// the other agents' mesh views see of it.
func TestStaleHostCarriesMeshReachability(t *testing.T) {
	views := reach.New()
	e := &env{dir: t.TempDir(), reach: views}
	e.open(t)
	e.plugin(t, store.Plugin{Name: "p", Kind: "exec", Entrypoint: "p", Classifier: `return "ok"`})
	e.push(t, result("web3", "p", "c", 0, 1))
	e.mu.Lock()
	e.events = nil
	e.mu.Unlock()

	now := t0.Add(10 * time.Minute)
	for i, alive := range []bool{true, true, false} {
		views.Report(wire.MeshView{Host: []string{"web1", "web2", "web4"}[i], Interval: wire.Millis(time.Minute),
			Peers: []wire.MeshPeer{{Host: "web3", Alive: alive, LastSeen: now.UnixMilli()}}}, "", time.Now())
	}
	k := stale.Key{Host: "web3", Plugin: "p", Check: "c"}
	e.e.Overdue(context.Background(), []stale.Overdue{{Key: k, Last: t0, Period: time.Minute}}, now)
	if err := e.e.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	const sentence = "web3 unreachable from the server, but alive according to 2 of 3 peers"
	e.mu.Lock()
	evs := append([]store.Event(nil), e.events...)
	e.mu.Unlock()
	if len(evs) != 2 {
		t.Fatalf("events %+v, want the check's and the host's change to unknown", evs)
	}
	for _, ev := range evs {
		if ev.To != -1 || !strings.Contains(ev.Reason, sentence) {
			t.Errorf("%s event to %d, reason %q: want unknown with %q", ev.Subject.Kind, ev.To, ev.Reason, sentence)
		}
	}
	hs := e.e.HostStates()
	if len(hs) != 1 || hs[0].Reachability == nil || hs[0].Reachability.Text != sentence || hs[0].Reachability.Verdict != reach.Alive {
		t.Fatalf("host states %+v, want reachability %q", hs, sentence)
	}

	// The peers' views change: the host's state says so at once, with no
	// new event (the state stays unknown).
	for _, h := range []string{"web1", "web2", "web4"} {
		views.Report(wire.MeshView{Host: h, Interval: wire.Millis(time.Minute),
			Peers: []wire.MeshPeer{{Host: "web3", Alive: false}}}, "", time.Now())
	}
	if r := e.e.HostStates()[0].Reachability; r == nil || r.Text != "web3 down according to all 3 peers" {
		t.Fatalf("reachability %+v, want down according to all 3 peers", r)
	}
	// At the next overdue tick the system log says the verdict changed.
	e.e.Overdue(context.Background(), []stale.Overdue{{Key: k, Last: t0, Period: time.Minute}}, now.Add(10*time.Second))
	if err := e.e.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	logs, err := e.st.SystemLog(context.Background(), store.LogQuery{Component: "mesh"})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].Host != "web3" || logs[0].Message != "the agent mesh's view changed: web3 down according to all 3 peers" {
		t.Fatalf("system log %+v", logs)
	}

	// A result ends it: no reachability on a reporting host.
	e.push(t, result("web3", "p", "c", 11, 1))
	if r := e.e.HostStates()[0].Reachability; r != nil {
		t.Fatalf("reachability %+v after a result, want none", r)
	}
}

// TestStaleHostWithoutMesh: without mesh views the reason is as before.
func TestStaleHostWithoutMesh(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "p", Kind: "exec", Entrypoint: "p", Classifier: `return "ok"`})
	e.push(t, result("h", "p", "c", 0, 1))
	e.takeEvents()
	k := stale.Key{Host: "h", Plugin: "p", Check: "c"}
	e.e.Overdue(context.Background(), []stale.Overdue{{Key: k, Last: t0, Period: time.Minute}}, t0.Add(10*time.Minute))
	if err := e.e.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.events {
		if strings.Contains(ev.Reason, "peer") {
			t.Errorf("reason %q mentions the mesh, which is off", ev.Reason)
		}
	}
	if hs := e.e.HostStates(); hs[0].Reachability == nil || hs[0].Reachability.Verdict != reach.NoMesh {
		t.Errorf("host states %+v, want reachability no_mesh", hs)
	}
}

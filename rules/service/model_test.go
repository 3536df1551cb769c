package service

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/store"
)

const (
	U = classify.Unknown
	O = classify.OK
	m = classify.Minor
	M = classify.Major
	C = classify.Critical
)

func mustNew(t testing.TB, services ...store.Service) *Model {
	t.Helper()
	md, err := New(services)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return md
}

func hosts(names ...string) []store.Member {
	out := make([]store.Member, len(names))
	for i, n := range names {
		out[i] = store.Member{Host: n}
	}
	return out
}

// show renders changes one per line: "Website ok>failed: reason".
func show(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s %s>%s: %s\n", c.Service, c.From, c.To, c.Reason)
	}
	return b.String()
}

// expect applies Set and compares the changes it returns.
func expect(t *testing.T, md *Model, k MemberKey, s classify.State, f Flags, want string) {
	t.Helper()
	if got := show(md.Set(k, s, f)); got != want {
		t.Fatalf("Set(%s, %s, %+v):\n got %q\nwant %q", k, s, f, got, want)
	}
}

func wantState(t *testing.T, md *Model, service string, st State, reason string) {
	t.Helper()
	gs, gr := md.State(service)
	if gs != st || gr != reason {
		t.Fatalf("State(%s) = %s %q, want %s %q", service, gs, gr, st, reason)
	}
}

// website is the example of the issue: the router is a dependency, the
// three web servers a redundancy group of which one must be up.
func website(k int) store.Service {
	return store.Service{
		Name:             "Website",
		Dependencies:     hosts("router1"),
		RedundancyGroups: []store.RedundancyGroup{{Name: "web", K: k, Members: hosts("web1", "web2", "web3")}},
	}
}

func TestWebsiteExample(t *testing.T) {
	md := mustNew(t, website(1))
	// Nothing is known yet: unknown members are impaired by default.
	wantState(t, md, "Website", Degraded, "degraded: dependency host router1 is unknown (no state yet); "+
		"redundancy group web has 0 of 3 up, 3 impaired (needs 1); web1 is unknown (no state yet), web2 is unknown (no state yet), web3 is unknown (no state yet)")
	expect(t, md, HostKey("router1"), O, Flags{}, "")
	expect(t, md, HostKey("web1"), O, Flags{}, "")
	expect(t, md, HostKey("web2"), O, Flags{}, "")
	expect(t, md, HostKey("web3"), O, Flags{}, "Website degraded>ok: ok: every member is up\n")

	expect(t, md, HostKey("router1"), C, Flags{}, "Website ok>failed: failed: dependency host router1 is critical\n")
	expect(t, md, HostKey("router1"), O, Flags{}, "Website failed>ok: ok: every member is up\n")
	expect(t, md, HostKey("web1"), C, Flags{}, "Website ok>degraded: degraded: redundancy group web has 2 of 3 up (needs 1); web1 is critical\n")
	expect(t, md, HostKey("web2"), C, Flags{}, "") // still degraded
	wantState(t, md, "Website", Degraded, "degraded: redundancy group web has 1 of 3 up (needs 1); web1 is critical, web2 is critical")
	expect(t, md, HostKey("web3"), C, Flags{},
		"Website degraded>failed: failed: redundancy group web has 0 of 3 up (needs 1); web1 is critical, web2 is critical, web3 is critical\n")
	// The same state again changes nothing.
	expect(t, md, HostKey("web3"), C, Flags{}, "")
	expect(t, md, HostKey("web2"), O, Flags{}, "Website failed>degraded: degraded: redundancy group web has 1 of 3 up (needs 1); web1 is critical, web3 is critical\n")
}

func TestKOfN(t *testing.T) {
	md := mustNew(t, website(2))
	for _, h := range []string{"router1", "web1", "web2", "web3"} {
		md.Set(HostKey(h), O, Flags{})
	}
	wantState(t, md, "Website", OK, "ok: every member is up")
	expect(t, md, HostKey("web1"), C, Flags{}, "Website ok>degraded: degraded: redundancy group web has 2 of 3 up (needs 2); web1 is critical\n")
	expect(t, md, HostKey("web3"), C, Flags{}, "Website degraded>failed: failed: redundancy group web has 1 of 3 up (needs 2); web1 is critical, web3 is critical\n")
	// An impaired member still serves: it counts towards k, but the
	// service is degraded.
	expect(t, md, HostKey("web3"), M, Flags{}, "Website failed>degraded: degraded: redundancy group web has 1 of 3 up, 1 impaired (needs 2); web1 is critical, web3 is major\n")
	expect(t, md, HostKey("web1"), O, Flags{}, "")
	wantState(t, md, "Website", Degraded, "degraded: redundancy group web has 2 of 3 up, 1 impaired (needs 2); web3 is major")
	expect(t, md, HostKey("web3"), O, Flags{}, "Website degraded>ok: ok: every member is up\n")
	// Both kinds of failure at once are both named.
	md.Set(HostKey("web1"), C, Flags{})
	md.Set(HostKey("web2"), C, Flags{})
	md.Set(HostKey("router1"), C, Flags{})
	wantState(t, md, "Website", Failed, "failed: dependency host router1 is critical; redundancy group web has 1 of 3 up (needs 2); web1 is critical, web2 is critical")
}

func TestCheckMemberReason(t *testing.T) {
	md := mustNew(t, store.Service{Name: "db", Dependencies: []store.Member{{Host: "db1", Check: "disk", Plugin: "res"}}})
	expect(t, md, CheckKey("db1", "disk", "res"), O, Flags{}, "db degraded>ok: ok: every member is up\n")
	expect(t, md, CheckKey("db1", "disk", "res"), M, Flags{}, "db ok>degraded: degraded: dependency check disk/res on db1 is major\n")
	// Another plugin of the same check is not a member.
	expect(t, md, CheckKey("db1", "disk", "other"), C, Flags{}, "")
}

func TestNestedServices(t *testing.T) {
	md := mustNew(t,
		store.Service{Name: "shop", Dependencies: []store.Member{{Service: "db"}},
			RedundancyGroups: []store.RedundancyGroup{{Name: "front", K: 1, Members: []store.Member{{Service: "web-a"}, {Service: "web-b"}}}}},
		store.Service{Name: "db", Dependencies: hosts("db1")},
		store.Service{Name: "web-a", Dependencies: hosts("a1")},
		store.Service{Name: "web-b", Dependencies: hosts("b1")},
	)
	for _, h := range []string{"a1", "b1"} {
		md.Set(HostKey(h), O, Flags{})
	}
	// The change travels up, member first.
	expect(t, md, HostKey("db1"), O, Flags{}, "db degraded>ok: ok: every member is up\nshop degraded>ok: ok: every member is up\n")
	expect(t, md, HostKey("db1"), C, Flags{},
		"db ok>failed: failed: dependency host db1 is critical\nshop ok>failed: failed: dependency service db is failed\n")
	expect(t, md, HostKey("db1"), M, Flags{},
		"db failed>degraded: degraded: dependency host db1 is major\nshop failed>degraded: degraded: dependency service db is degraded\n")
	expect(t, md, HostKey("db1"), O, Flags{}, "db degraded>ok: ok: every member is up\nshop degraded>ok: ok: every member is up\n")
	expect(t, md, HostKey("a1"), C, Flags{},
		"web-a ok>failed: failed: dependency host a1 is critical\nshop ok>degraded: degraded: redundancy group front has 1 of 2 up (needs 1); service web-a is failed\n")
	expect(t, md, HostKey("b1"), C, Flags{},
		"web-b ok>failed: failed: dependency host b1 is critical\nshop degraded>failed: failed: redundancy group front has 0 of 2 up (needs 1); service web-a is failed, service web-b is failed\n")
	// A member service that changes without changing its state stops
	// the walk there.
	expect(t, md, HostKey("b1"), U, Flags{}, "web-b failed>degraded: degraded: dependency host b1 is unknown\nshop failed>degraded: degraded: redundancy group front has 0 of 2 up, 1 impaired (needs 1); service web-a is failed, service web-b is degraded\n")
	expect(t, md, HostKey("b1"), m, Flags{}, "")
}

func TestDiamondRecomputesEachServiceOnce(t *testing.T) {
	// top depends on left and right, both on host h: one change of h is
	// one change of each, top last.
	md := mustNew(t,
		store.Service{Name: "top", Dependencies: []store.Member{{Service: "left"}, {Service: "right"}}},
		store.Service{Name: "left", Dependencies: hosts("h")},
		store.Service{Name: "right", RedundancyGroups: []store.RedundancyGroup{{Name: "g", K: 1, Members: hosts("h", "h2")}}},
	)
	md.Set(HostKey("h2"), O, Flags{})
	got := md.Set(HostKey("h"), O, Flags{})
	if names := serviceNames(got); !slices.Equal(names, []string{"left", "right", "top"}) {
		t.Fatalf("changes %v, want left, right, top once each:\n%s", names, show(got))
	}
	got = md.Set(HostKey("h"), C, Flags{})
	if names := serviceNames(got); !slices.Equal(names, []string{"left", "right", "top"}) || got[2].To != Failed || got[1].To != Degraded {
		t.Fatalf("changes:\n%s", show(got))
	}
}

func serviceNames(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Service)
	}
	return out
}

func TestTrendMembers(t *testing.T) {
	md := mustNew(t, store.Service{
		Name:         "storage",
		Dependencies: []store.Member{{Trend: "disk-full", Host: "db1"}},
		RedundancyGroups: []store.RedundancyGroup{{Name: "growth", K: 1, Members: []store.Member{
			{Trend: "ingest-growth"}, {Host: "db2"},
		}}},
	})
	if !md.Uses(TrendKey("disk-full", "db1")) || md.Uses(TrendKey("disk-full", "")) || md.Uses(TrendKey("disk-full", "db2")) {
		t.Fatal("Uses does not match the configured trend members")
	}
	md.Set(HostKey("db2"), O, Flags{})
	md.Set(TrendKey("ingest-growth", ""), O, Flags{})
	expect(t, md, TrendKey("disk-full", "db1"), O, Flags{}, "storage degraded>ok: ok: every member is up\n")
	// The whole rule's key is not the narrowed one.
	expect(t, md, TrendKey("disk-full", ""), C, Flags{}, "")
	expect(t, md, TrendKey("disk-full", "db1"), C, Flags{}, "storage ok>failed: failed: dependency trend rule disk-full on db1 is critical\n")
	expect(t, md, TrendKey("disk-full", "db1"), O, Flags{}, "storage failed>ok: ok: every member is up\n")
	expect(t, md, TrendKey("ingest-growth", ""), C, Flags{},
		"storage ok>degraded: degraded: redundancy group growth has 1 of 2 up (needs 1); trend rule ingest-growth is critical\n")
}

func TestPerServiceRules(t *testing.T) {
	svc := func(name string, r store.ServiceRules) store.Service {
		return store.Service{Name: name, Dependencies: hosts("h"), Rules: r}
	}
	md := mustNew(t,
		svc("default", store.ServiceRules{}),
		svc("major-is-down", store.ServiceRules{Down: []string{"major", "critical"}}),
		svc("unknown-is-down", store.ServiceRules{Down: []string{"critical", "unknown"}}),
		svc("unknown-is-fine", store.ServiceRules{Impaired: []string{"minor", "major"}}),
		svc("only-critical-matters", store.ServiceRules{Impaired: []string{"critical"}, Down: []string{"unknown"}}),
	)
	want := func(st classify.State, states ...State) {
		t.Helper()
		md.Set(HostKey("h"), st, Flags{})
		for i, name := range []string{"default", "major-is-down", "unknown-is-down", "unknown-is-fine", "only-critical-matters"} {
			if got, why := md.State(name); got != states[i] {
				t.Errorf("h %s: %s is %s (%s), want %s", st, name, got, why, states[i])
			}
		}
	}
	want(O, OK, OK, OK, OK, OK)
	want(m, Degraded, Degraded, Degraded, Degraded, OK)
	want(M, Degraded, Failed, Degraded, Degraded, OK)
	want(C, Failed, Failed, Failed, Failed, Degraded)
	want(U, Degraded, Degraded, Failed, OK, Failed)
}

func TestMaintenanceAndAcknowledgement(t *testing.T) {
	md := mustNew(t,
		store.Service{Name: "strict", Dependencies: hosts("h")},
		store.Service{Name: "maint", Dependencies: hosts("h"), Rules: store.ServiceRules{IgnoreMaintenance: true}},
		store.Service{Name: "ack", Dependencies: hosts("h"), Rules: store.ServiceRules{IgnoreAcknowledged: true}},
	)
	md.Set(HostKey("h"), O, Flags{})
	// By default a member in maintenance counts by its state; the reason
	// says it is in maintenance.
	got := md.Set(HostKey("h"), C, Flags{Maintenance: true})
	if show(got) != "ack ok>failed: failed: dependency host h is critical (in maintenance)\n"+
		"strict ok>failed: failed: dependency host h is critical (in maintenance)\n" {
		t.Fatalf("critical in maintenance:\n%s", show(got))
	}
	wantState(t, md, "maint", OK, "ok: every member is up")
	// A change of flags alone recomputes.
	got = md.Set(HostKey("h"), C, Flags{Acknowledged: true})
	if show(got) != "ack failed>ok: ok: every member is up\nmaint ok>failed: failed: dependency host h is critical (acknowledged)\n" {
		t.Fatalf("acknowledged instead:\n%s", show(got))
	}
	wantState(t, md, "strict", Failed, "failed: dependency host h is critical (acknowledged)")
	expect(t, md, HostKey("h"), C, Flags{}, "ack ok>failed: failed: dependency host h is critical\n")
}

func TestNoMembersIsOK(t *testing.T) {
	md := mustNew(t, store.Service{Name: "empty"})
	wantState(t, md, "empty", OK, "ok: no members")
	if st, why := md.State("nope"); st != OK || why != "" || md.Has("nope") || !md.Has("empty") {
		t.Fatalf("unknown service: %s %q", st, why)
	}
}

func TestSetIgnoresWhatNoServiceUses(t *testing.T) {
	md := mustNew(t,
		store.Service{Name: "a", Dependencies: []store.Member{{Service: "b"}}},
		store.Service{Name: "b", Dependencies: hosts("h")},
	)
	expect(t, md, HostKey("other"), C, Flags{}, "")
	// Service states are computed, never set.
	expect(t, md, ServiceKey("b"), C, Flags{}, "")
	if st, _ := md.State("b"); st != Degraded {
		t.Fatalf("b = %s after setting its key, want degraded (unchanged)", st)
	}
}

func TestLongGroupReasonIsBounded(t *testing.T) {
	names := make([]string, 8)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i)
	}
	md := mustNew(t, store.Service{Name: "farm", RedundancyGroups: []store.RedundancyGroup{{Name: "nodes", K: 1, Members: hosts(names...)}}})
	for _, n := range names {
		md.Set(HostKey(n), C, Flags{})
	}
	wantState(t, md, "farm", Failed, "failed: redundancy group nodes has 0 of 8 up (needs 1); "+
		"n0 is critical, n1 is critical, n2 is critical, n3 is critical, n4 is critical and 3 more")
}

func TestImpact(t *testing.T) {
	md := mustNew(t,
		store.Service{Name: "site", Dependencies: []store.Member{{Service: "web"}}},
		store.Service{Name: "web", RedundancyGroups: []store.RedundancyGroup{{Name: "g", K: 1, Members: hosts("web1", "web2")}}},
		store.Service{Name: "checks", Dependencies: []store.Member{{Host: "db1", Check: "disk", Plugin: "df"}}},
		store.Service{Name: "trends", Dependencies: []store.Member{{Trend: "disk-full", Host: "db1"}}},
		store.Service{Name: "all-trends", Dependencies: []store.Member{{Trend: "disk-full"}}},
		store.Service{Name: "top", Dependencies: []store.Member{{Service: "site"}, {Service: "trends"}}},
	)
	f := func(host string, want ...string) {
		t.Helper()
		if got := md.Impact(host); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("Impact(%s) = %v, want %v", host, got, want)
		}
	}
	f("web1", "site", "top", "web")
	f("db1", "checks", "top", "trends")
	f("nowhere")
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	f := func(want string, services ...store.Service) {
		t.Helper()
		_, err := New(services)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("New: %v, want an error containing %q", err, want)
		}
	}
	f("service dependency cycle: a -> b -> a",
		store.Service{Name: "a", Dependencies: []store.Member{{Service: "b"}}},
		store.Service{Name: "b", RedundancyGroups: []store.RedundancyGroup{{Name: "g", K: 1, Members: []store.Member{{Service: "a"}}}}})
	f("service dependency cycle: a -> a", store.Service{Name: "a", Dependencies: []store.Member{{Service: "a"}}})
	f(`service "a": member service "ghost" is not defined`, store.Service{Name: "a", Dependencies: []store.Member{{Service: "ghost"}}})
	f(`service "a" is defined twice`, store.Service{Name: "a"}, store.Service{Name: "a"})
	f(`service "a": redundancy group "g": k = 3 must be between 1 and its number of members (2)`,
		store.Service{Name: "a", RedundancyGroups: []store.RedundancyGroup{{Name: "g", K: 3, Members: hosts("x", "y")}}})
	f(`service "a": rules.down: "fatal" is not a state`, store.Service{Name: "a", Rules: store.ServiceRules{Down: []string{"fatal"}}})
	f(`service "a": rules.impaired: "ok" is not a state`, store.Service{Name: "a", Rules: store.ServiceRules{Impaired: []string{"ok"}}})
	f(`service "a": rules: a state is in both down and impaired`,
		store.Service{Name: "a", Rules: store.ServiceRules{Down: []string{"major"}, Impaired: []string{"major"}}})
	f(`service "a": dependencies: member {host: "h", check: "c", plugin: "", service: "", trend: ""} is not one of`,
		store.Service{Name: "a", Dependencies: []store.Member{{Host: "h", Check: "c"}}})
}

func TestStateNames(t *testing.T) {
	b, err := json.Marshal(map[string]State{"a": OK, "b": Degraded, "c": Failed})
	if err != nil || string(b) != `{"a":"ok","b":"degraded","c":"failed"}` {
		t.Fatalf("JSON %s %v", b, err)
	}
	var s State
	if err := json.Unmarshal([]byte(`"failed"`), &s); err != nil || s != Failed {
		t.Fatalf("decode: %s %v", s, err)
	}
	if err := json.Unmarshal([]byte(`"critical"`), &s); err == nil {
		t.Fatal("decoded a service state from a member state name")
	}
	// The numbers are those of prophasis_service_state.
	if OK != 0 || Degraded != 1 || Failed != 2 {
		t.Fatal("service state numbers changed")
	}
}

// TestIncrementalMatchesFromScratch drives a random configuration with
// random member changes and checks, after each, that every service's state
// equals what a model built afresh with the same member states says.
func TestIncrementalMatchesFromScratch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	services := randomServices(rng, 60, 8, 12)
	md := mustNew(t, services...)
	keys := memberKeys(md)
	type set struct {
		k MemberKey
		s classify.State
		f Flags
	}
	var history []set
	states := []classify.State{U, O, O, O, m, M, C}
	for step := range 400 {
		x := set{keys[rng.IntN(len(keys))], states[rng.IntN(len(states))], Flags{Maintenance: rng.IntN(5) == 0, Acknowledged: rng.IntN(5) == 0}}
		history = append(history, x)
		before := map[string]State{}
		for _, n := range md.Services() {
			before[n], _ = md.State(n)
		}
		changes := md.Set(x.k, x.s, x.f)
		fresh := mustNew(t, services...)
		for _, h := range history {
			fresh.Set(h.k, h.s, h.f)
		}
		changed := map[string]bool{}
		for _, c := range changes {
			if c.From != before[c.Service] || c.From == c.To || changed[c.Service] {
				t.Fatalf("step %d: bad change %+v (was %s)", step, c, before[c.Service])
			}
			changed[c.Service] = true
		}
		for _, n := range md.Services() {
			got, why := md.State(n)
			want, _ := fresh.State(n)
			if got != want {
				t.Fatalf("step %d: %s is %s (%s) incrementally, %s from scratch", step, n, got, why, want)
			}
			if (got != before[n]) != changed[n] {
				t.Fatalf("step %d: %s went %s -> %s but the changes say %v", step, n, before[n], got, changed[n])
			}
		}
	}
}

// memberKeys lists the host, check and trend keys the model uses.
func memberKeys(md *Model) []MemberKey {
	var out []MemberKey
	for k := range md.members {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b MemberKey) int { return strings.Compare(a.String(), b.String()) })
	return out
}

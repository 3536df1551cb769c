package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestHostCRUD(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	clock := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	st.now = func() time.Time { return clock }

	h, err := st.CreateHost(ctx, Host{Name: "web1", Address: "10.0.0.1", Labels: map[string]string{"env": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if h.ID == 0 || !h.CreatedAt.Equal(clock) || !h.UpdatedAt.Equal(clock) {
		t.Fatalf("created host meta = %+v", h.Meta)
	}
	_, err = st.CreateHost(ctx, Host{Name: "web1"})
	wantErr(t, err, ErrConflict, `host "web1" already exists`)

	got, err := st.Host(ctx, "web1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Address != "10.0.0.1" || got.Labels["env"] != "prod" {
		t.Fatalf("read back %+v", got)
	}
	_, err = st.Host(ctx, "nope")
	wantErr(t, err, ErrNotFound, `host "nope" not found`)

	clock = clock.Add(time.Hour)
	up, err := st.UpdateHost(ctx, "web1", Host{Address: "10.0.0.2", Description: "front"})
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != "web1" || up.Address != "10.0.0.2" || len(up.Labels) != 0 || !up.UpdatedAt.Equal(clock) || !up.CreatedAt.Equal(clock.Add(-time.Hour)) {
		t.Fatalf("updated host = %+v", up)
	}
	_, err = st.UpdateHost(ctx, "nope", Host{})
	wantErr(t, err, ErrNotFound)

	// Rename; the old name is gone, the new one taken.
	if _, err := st.CreateHost(ctx, Host{Name: "web2"}); err != nil {
		t.Fatal(err)
	}
	_, err = st.UpdateHost(ctx, "web1", Host{Name: "web2"})
	wantErr(t, err, ErrConflict, `"web2" already exists`)
	if _, err := st.UpdateHost(ctx, "web1", Host{Name: "web3"}); err != nil {
		t.Fatal(err)
	}
	hosts, err := st.Hosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 2 || hosts[0].Name != "web2" || hosts[1].Name != "web3" {
		t.Fatalf("hosts = %+v", hosts)
	}

	if err := st.DeleteHost(ctx, "web3"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, st.DeleteHost(ctx, "web3"), ErrNotFound)
	hosts, _ = st.Hosts(ctx)
	if len(hosts) != 1 {
		t.Fatalf("after delete: %+v", hosts)
	}
}

func TestHostValidation(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	f := func(h Host, parts ...string) {
		t.Helper()
		_, err := st.CreateHost(ctx, h)
		wantErr(t, err, ErrInvalid, parts...)
	}
	f(Host{}, "host: name is required")
	f(Host{Name: "web 1"}, `host "web 1": name must match`)
	f(Host{Name: "-web"}, "name must match")
	f(Host{Name: "web/1"}, "name must match")
	f(Host{Name: strings.Repeat("a", 129)}, "name must match")
	f(Host{Name: "web1", Address: strings.Repeat("a", 300)}, "address is 300 bytes long; the limit is 255")
	f(Host{Name: "web1", Description: "\xff"}, "not valid UTF-8")
	f(Host{Name: "web1", Labels: map[string]string{"bad-name": "x"}}, `label name "bad-name"`)
	f(Host{Name: "web1", Labels: map[string]string{"__name__": "x"}}, "reserved")
	f(Host{Name: "web1", Labels: map[string]string{"a": strings.Repeat("v", 2000)}}, "label a is 2000 bytes")
	hosts, _ := st.Hosts(ctx)
	if len(hosts) != 0 {
		t.Fatalf("invalid hosts were stored: %+v", hosts)
	}
	// The longest allowed name and dotted names work.
	for _, name := range []string{strings.Repeat("a", 128), "db-1.eu.example.com", "9lives", "a_b"} {
		if _, err := st.CreateHost(ctx, Host{Name: name}); err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
	}
}

func TestDeleteInUseRefused(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	wantErr(t, st.DeleteHost(ctx, "web1"), ErrConflict, `host "web1" is still used by group web, service shop; remove it there first`)
	wantErr(t, st.DeleteHost(ctx, "db1"), ErrConflict, "group all, check cpu, service db")
	wantErr(t, st.DeleteGroup(ctx, "web"), ErrConflict, "group all", "check cpu", "alert_rule page")
	wantErr(t, st.DeleteSchedule(ctx, "minutely"), ErrConflict, "check cpu")
	wantErr(t, st.DeletePlugin(ctx, "load"), ErrConflict, "check cpu", "service shop")
	wantErr(t, st.DeleteCheck(ctx, "cpu"), ErrConflict, "service shop")
	wantErr(t, st.DeleteService(ctx, "db"), ErrConflict, "service shop")
	// Nothing was deleted.
	doc, err := st.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Hosts) != 3 || len(doc.Groups) != 2 || len(doc.Checks) != 1 || len(doc.Services) != 2 {
		t.Fatalf("export after refused deletes: %+v", doc)
	}
	// In dependency order, everything can go.
	for _, del := range []func() error{
		func() error { return st.DeleteAlertRule(ctx, "page") },
		func() error { return st.DeleteService(ctx, "shop") },
		func() error { return st.DeleteService(ctx, "db") },
		func() error { return st.DeleteCheck(ctx, "cpu") },
		func() error { return st.DeleteGroup(ctx, "all") },
		func() error { return st.DeleteGroup(ctx, "web") },
		func() error { return st.DeleteHost(ctx, "web1") },
		func() error { return st.DeleteHost(ctx, "db1") },
		func() error { return st.DeletePlugin(ctx, "load") },
		func() error { return st.DeleteSchedule(ctx, "minutely") },
	} {
		if err := del(); err != nil {
			t.Fatal(err)
		}
	}
}

// seed creates a small configuration through the single-entity methods:
// hosts web1, web2, db1; groups web (web1, web2) and all (db1, web); plugins
// load and disk; schedule minutely; check cpu; services db and shop; alert
// modules email, webhook and slack; alert rule page.
func seed(t testing.TB, st Store) {
	t.Helper()
	ctx := context.Background()
	seedModules(t, st, "email", "webhook", "slack")
	for _, h := range []string{"web1", "web2", "db1"} {
		must[Host](t)(st.CreateHost(ctx, Host{Name: h, Address: h + ".example.com"}))
	}
	must[Group](t)(st.CreateGroup(ctx, Group{Name: "web", Hosts: []string{"web2", "web1"}}))
	must[Group](t)(st.CreateGroup(ctx, Group{Name: "all", Hosts: []string{"db1"}, Groups: []string{"web"}}))
	must[Plugin](t)(st.CreatePlugin(ctx, Plugin{Name: "load", Version: "1.0.0"}))
	must[Plugin](t)(st.CreatePlugin(ctx, Plugin{Name: "disk", Version: "2.1"}))
	must[Schedule](t)(st.CreateSchedule(ctx, Schedule{Name: "minutely", Intervals: []Interval{{Period: Duration(time.Minute)}}}))
	must[Check](t)(st.CreateCheck(ctx, Check{Name: "cpu", Plugins: []string{"load"}, Groups: []string{"web"}, Hosts: []string{"db1"}, Schedule: "minutely"}))
	must[Service](t)(st.CreateService(ctx, Service{Name: "db", Dependencies: []Member{{Host: "db1"}}}))
	must[Service](t)(st.CreateService(ctx, Service{
		Name:         "shop",
		Dependencies: []Member{{Service: "db"}},
		RedundancyGroups: []RedundancyGroup{{
			Name: "frontends", K: 1,
			Members: []Member{{Host: "web1"}, {Host: "web2", Check: "cpu", Plugin: "load"}},
		}},
	}))
	must[AlertRule](t)(st.CreateAlertRule(ctx, AlertRule{
		Name: "page", To: []string{"critical"}, Modules: []string{"email"},
		Scope: Scope{Groups: []string{"web"}},
	}))
}

// seedModules creates command alert modules with the given names.
func seedModules(t testing.TB, st Store, names ...string) {
	t.Helper()
	for _, n := range names {
		must[AlertModule](t)(st.CreateAlertModule(context.Background(), AlertModule{Name: n, Kind: "command"}))
	}
}

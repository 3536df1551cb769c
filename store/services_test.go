package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestServiceCRUD(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	shop := must[Service](t)(st.Service(ctx, "shop"))
	if !slices.Equal(shop.Dependencies, []Member{{Service: "db"}}) || len(shop.RedundancyGroups) != 1 {
		t.Fatalf("shop = %+v", shop)
	}
	rg := shop.RedundancyGroups[0]
	wantMembers := []Member{{Host: "web2", Check: "cpu", Plugin: "load"}, {Host: "web1"}}
	if rg.Name != "frontends" || rg.K != 1 || !slices.Equal(rg.Members, wantMembers) {
		t.Fatalf("redundancy group = %+v", rg)
	}

	up := must[Service](t)(st.UpdateService(ctx, "shop", Service{
		Description: "the shop",
		RedundancyGroups: []RedundancyGroup{
			{Name: "web", K: 2, Members: []Member{{Host: "web2"}, {Host: "web1"}}},
			{Name: "data", K: 1, Members: []Member{{Service: "db"}}},
		},
	}))
	if len(up.Dependencies) != 0 || len(up.RedundancyGroups) != 2 || up.RedundancyGroups[0].Name != "data" ||
		!slices.Equal(up.RedundancyGroups[1].Members, []Member{{Host: "web1"}, {Host: "web2"}}) {
		t.Fatalf("updated shop = %+v", up)
	}
	svcs := must[[]Service](t)(st.Services(ctx))
	if len(svcs) != 2 {
		t.Fatalf("services %+v", svcs)
	}
}

func TestServiceValidation(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	f := func(sv Service, kind error, parts ...string) {
		t.Helper()
		_, err := st.CreateService(ctx, sv)
		wantErr(t, err, kind, parts...)
	}
	f(Service{Name: "x", Dependencies: []Member{{}}}, ErrInvalid, "must be exactly one of {host}, {host, check, plugin} or {service}")
	f(Service{Name: "x", Dependencies: []Member{{Host: "web1", Service: "db"}}}, ErrInvalid, "exactly one of")
	f(Service{Name: "x", Dependencies: []Member{{Host: "web1", Check: "cpu"}}}, ErrInvalid, "exactly one of")
	f(Service{Name: "x", Dependencies: []Member{{Host: "web1"}, {Host: "web1"}}}, ErrInvalid, "host web1 is listed twice")
	f(Service{Name: "x", Dependencies: []Member{{Host: "nope"}}}, ErrInvalid, `service "x": unknown host "nope"`)
	f(Service{Name: "x", Dependencies: []Member{{Host: "web1", Check: "nope", Plugin: "load"}}}, ErrInvalid, `unknown check "nope"`)
	f(Service{Name: "x", Dependencies: []Member{{Service: "nope"}}}, ErrInvalid, `unknown service "nope"`)
	f(Service{Name: "x", RedundancyGroups: []RedundancyGroup{{Name: "r", K: 3, Members: []Member{{Host: "web1"}, {Host: "web2"}}}}},
		ErrInvalid, `redundancy group "r": k = 3 must be between 1 and its number of members (2)`)
	f(Service{Name: "x", RedundancyGroups: []RedundancyGroup{{Name: "r", K: 0, Members: []Member{{Host: "web1"}}}}}, ErrInvalid, "k = 0")
	f(Service{Name: "x", RedundancyGroups: []RedundancyGroup{{Name: "r", K: 1}}}, ErrInvalid, "needs at least one member")
	f(Service{Name: "x", RedundancyGroups: []RedundancyGroup{
		{Name: "r", K: 1, Members: []Member{{Host: "web1"}}}, {Name: "r", K: 1, Members: []Member{{Host: "web2"}}},
	}}, ErrInvalid, `redundancy group "r" is defined twice`)
	f(Service{Name: "x", Dependencies: []Member{{Service: "x"}}}, ErrConflict, "service dependency cycle: x -> x")

	// db -> shop -> db closes a cycle through a redundancy group.
	_, err := st.UpdateService(ctx, "db", Service{RedundancyGroups: []RedundancyGroup{{Name: "r", K: 1, Members: []Member{{Service: "shop"}}}}})
	wantErr(t, err, ErrConflict, "service dependency cycle: db -> shop -> db")
	db := must[Service](t)(st.Service(ctx, "db"))
	if len(db.RedundancyGroups) != 0 {
		t.Fatalf("db changed by a refused update: %+v", db)
	}
}

func TestAlertRuleCRUD(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	a := must[AlertRule](t)(st.CreateAlertRule(ctx, AlertRule{
		Name: "mail", From: []string{"critical", "ok"}, To: []string{"unknown", "major", "critical"},
		Modules: []string{"webhook", "email"}, Delay: Duration(5 * time.Minute), Repeat: Duration(time.Hour),
		Scope: Scope{Hosts: []string{"web2", "web1"}, Checks: []string{"cpu"}, Services: []string{"shop"}},
	}))
	// States sort mildest first, names alphabetically.
	if !slices.Equal(a.From, []string{"ok", "critical"}) || !slices.Equal(a.To, []string{"major", "critical", "unknown"}) ||
		!slices.Equal(a.Modules, []string{"email", "webhook"}) || !slices.Equal(a.Scope.Hosts, []string{"web1", "web2"}) ||
		a.Delay != Duration(5*time.Minute) || a.Repeat != Duration(time.Hour) {
		t.Fatalf("alert rule = %+v", a)
	}
	// Renaming a host follows into the rule's scope.
	must[Host](t)(st.UpdateHost(ctx, "web1", Host{Name: "web1-new"}))
	a = must[AlertRule](t)(st.AlertRule(ctx, "mail"))
	if !slices.Equal(a.Scope.Hosts, []string{"web1-new", "web2"}) {
		t.Fatalf("scope after rename = %v", a.Scope.Hosts)
	}
	wantErr(t, st.DeleteHost(ctx, "web2"), ErrConflict, "alert_rule mail")

	f := func(a AlertRule, parts ...string) {
		t.Helper()
		_, err := st.CreateAlertRule(ctx, a)
		wantErr(t, err, ErrInvalid, parts...)
	}
	f(AlertRule{Name: "x"}, "needs at least one module")
	f(AlertRule{Name: "x", Modules: []string{"email"}, To: []string{"bad"}}, `to: unknown state "bad"`)
	f(AlertRule{Name: "x", Modules: []string{"email"}, From: []string{"ok", "ok"}}, `from lists "ok" twice`)
	f(AlertRule{Name: "x", Modules: []string{"email"}, Repeat: Duration(time.Second)}, "repeat 1s must be 0s (never) or between 1m and 366d")
	f(AlertRule{Name: "x", Modules: []string{"email"}, Scope: Scope{Groups: []string{"nope"}}}, `alert_rule "x": unknown group "nope"`)
	up := must[AlertRule](t)(st.UpdateAlertRule(ctx, "mail", AlertRule{Modules: []string{"email"}}))
	if len(up.Scope.Hosts) != 0 || len(up.To) != 0 {
		t.Fatalf("updated %+v", up)
	}
	if err := st.DeleteAlertRule(ctx, "mail"); err != nil {
		t.Fatal(err)
	}
	if rules := must[[]AlertRule](t)(st.AlertRules(ctx)); len(rules) != 1 {
		t.Fatalf("rules %+v", rules)
	}
}

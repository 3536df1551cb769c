package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
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
	f(Service{Name: "x", Dependencies: []Member{{}}}, ErrInvalid, "must be exactly one of {host}, {host, check, plugin}, {service}, {trend} or {trend, host}")
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

// seedTrend adds the trend rule disk-full to a seeded store.
func seedTrend(t *testing.T, st Store) {
	t.Helper()
	must[TrendRule](t)(st.CreateTrendRule(context.Background(), TrendRule{
		Name: "disk-full", Selector: `prophasis_value{plugin="disk"}`, Window: Duration(time.Hour), Expr: `"ok"`,
	}))
}

func TestServiceTrendMembers(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	seedTrend(t, st)
	sv := must[Service](t)(st.CreateService(ctx, Service{
		Name:         "storage",
		Dependencies: []Member{{Trend: "disk-full", Host: "db1"}},
		RedundancyGroups: []RedundancyGroup{{Name: "all", K: 1, Members: []Member{
			{Trend: "disk-full"}, {Host: "web1"},
		}}},
	}))
	if !slices.Equal(sv.Dependencies, []Member{{Trend: "disk-full", Host: "db1"}}) ||
		!slices.Equal(sv.RedundancyGroups[0].Members, []Member{{Host: "web1"}, {Trend: "disk-full"}}) {
		t.Fatalf("storage = %+v", sv)
	}
	if got := sv.Dependencies[0].String(); got != "trend rule disk-full on db1" {
		t.Fatalf("member string %q", got)
	}

	// The rule cannot go while the service uses it; renaming it follows.
	wantErr(t, st.DeleteTrendRule(ctx, "disk-full"), ErrConflict, `trend_rule "disk-full" is still used by service storage`)
	must[TrendRule](t)(st.UpdateTrendRule(ctx, "disk-full", TrendRule{
		Name: "disk-fills", Selector: `prophasis_value{plugin="disk"}`, Window: Duration(time.Hour), Expr: `"ok"`,
	}))
	sv = must[Service](t)(st.Service(ctx, "storage"))
	if !slices.Equal(sv.Dependencies, []Member{{Trend: "disk-fills", Host: "db1"}}) {
		t.Fatalf("after renaming the rule: %+v", sv.Dependencies)
	}
	// So can the host it narrows to not go.
	wantErr(t, st.DeleteHost(ctx, "db1"), ErrConflict, "service storage")
	must[Service](t)(st.UpdateService(ctx, "storage", Service{Dependencies: []Member{{Host: "web2"}}}))
	if err := st.DeleteTrendRule(ctx, "disk-fills"); err != nil {
		t.Fatalf("delete an unused trend rule: %v", err)
	}

	f := func(m Member, kind error, parts ...string) {
		t.Helper()
		_, err := st.CreateService(ctx, Service{Name: "x", Dependencies: []Member{m}})
		wantErr(t, err, kind, parts...)
		if _, err := st.Service(ctx, "x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a refused service was written: %v", err)
		}
	}
	f(Member{Trend: "nope"}, ErrInvalid, `service "x": unknown trend_rule "nope"`)
	f(Member{Trend: "disk-fills"}, ErrInvalid, `unknown trend_rule "disk-fills"`)
	f(Member{Trend: "disk-full", Check: "cpu"}, ErrInvalid, "exactly one of")
	f(Member{Trend: "disk-full", Service: "db"}, ErrInvalid, "exactly one of")
	f(Member{Trend: "Bad Name"}, ErrInvalid, `"Bad Name" is not a valid name`)
}

func TestServiceRules(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	rules := ServiceRules{Down: []string{"unknown", "critical"}, Impaired: []string{"major"}, IgnoreAcknowledged: true}
	sv := must[Service](t)(st.CreateService(ctx, Service{Name: "mail", Dependencies: []Member{{Host: "db1"}}, Rules: rules}))
	want := ServiceRules{Down: []string{"critical", "unknown"}, Impaired: []string{"major"}, IgnoreAcknowledged: true}
	if !reflect.DeepEqual(sv.Rules, want) {
		t.Fatalf("rules = %+v, want %+v (sorted mildest first)", sv.Rules, want)
	}
	// JSON leaves default rules out and shows set ones by name.
	b, _ := json.Marshal(sv)
	if !strings.Contains(string(b), `"rules":{"down":["critical","unknown"],"impaired":["major"],"ignore_acknowledged":true}`) {
		t.Fatalf("JSON %s", b)
	}
	b, _ = json.Marshal(must[Service](t)(st.Service(ctx, "db")))
	if strings.Contains(string(b), "rules") {
		t.Fatalf("default rules in JSON: %s", b)
	}
	// Empty lists mean the defaults, stored as nothing.
	sv = must[Service](t)(st.UpdateService(ctx, "mail", Service{Dependencies: []Member{{Host: "db1"}}, Rules: ServiceRules{Down: []string{}, IgnoreMaintenance: true}}))
	if !reflect.DeepEqual(sv.Rules, ServiceRules{IgnoreMaintenance: true}) {
		t.Fatalf("rules after update = %#v", sv.Rules)
	}

	f := func(r ServiceRules, parts ...string) {
		t.Helper()
		_, err := st.UpdateService(ctx, "mail", Service{Dependencies: []Member{{Host: "web1"}}, Rules: r})
		wantErr(t, err, ErrInvalid, parts...)
	}
	f(ServiceRules{Down: []string{"bad"}}, `service "mail": rules.down: unknown state "bad" (member states are ok, minor, major, critical, unknown)`)
	f(ServiceRules{Impaired: []string{"degraded"}}, `rules.impaired: unknown state "degraded"`)
	f(ServiceRules{Down: []string{"ok"}}, `rules.down: "ok" cannot be listed`)
	f(ServiceRules{Impaired: []string{"major", "major"}}, `rules.impaired lists "major" twice`)
	f(ServiceRules{Down: []string{"critical", "unknown"}, Impaired: []string{"unknown"}}, `rules: "unknown" is in both down and impaired`)
	// Nothing of a refused update was written.
	sv = must[Service](t)(st.Service(ctx, "mail"))
	if !slices.Equal(sv.Dependencies, []Member{{Host: "db1"}}) || !reflect.DeepEqual(sv.Rules, ServiceRules{IgnoreMaintenance: true}) {
		t.Fatalf("mail changed by refused updates: %+v", sv)
	}
}

func TestServiceRulesEffective(t *testing.T) {
	f := func(r ServiceRules, down, impaired []string) {
		t.Helper()
		e := r.Effective()
		if !slices.Equal(e.Down, down) || !slices.Equal(e.Impaired, impaired) {
			t.Fatalf("Effective(%+v) = down %v impaired %v, want %v %v", r, e.Down, e.Impaired, down, impaired)
		}
	}
	f(ServiceRules{}, []string{"critical"}, []string{"minor", "major", "unknown"})
	f(ServiceRules{Down: []string{"critical", "unknown"}}, []string{"critical", "unknown"}, []string{"minor", "major"})
	f(ServiceRules{Impaired: []string{"minor"}}, []string{"critical"}, []string{"minor"})
	f(ServiceRules{Impaired: []string{"major", "critical"}}, []string{}, []string{"major", "critical"})
	// Effective does not touch the rules it is called on.
	r := ServiceRules{Down: []string{"major", "critical"}}
	r.Effective()
	if !slices.Equal(r.Down, []string{"major", "critical"}) || r.Impaired != nil {
		t.Fatalf("Effective changed its receiver: %+v", r)
	}
}

// servicesDoc is a configuration using trend members and service rules.
const servicesDoc = `
hosts:
  - name: router1
  - name: web1
  - name: web2
  - name: web3
trend_rules:
  - name: disk-full
    selector: prophasis_value{plugin="disk"}
    window: 6h
    expr: '"ok"'
services:
  - name: storage
    dependencies:
      - trend: disk-full
        host: web1
      - trend: disk-full
  - name: website
    dependencies:
      - host: router1
      - service: storage
    redundancy_groups:
      - name: web
        k: 2
        members: [{host: web1}, {host: web2}, {host: web3}]
    rules:
      down: [critical, unknown]
      impaired: [major]
      ignore_maintenance: true
`

func TestApplyServicesRoundTrip(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	doc, err := ParseDocumentYAML([]byte(servicesDoc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx, doc, false); err != nil {
		t.Fatal(err)
	}
	web := must[Service](t)(st.Service(ctx, "website"))
	if !reflect.DeepEqual(web.Rules, ServiceRules{Down: []string{"critical", "unknown"}, Impaired: []string{"major"}, IgnoreMaintenance: true}) {
		t.Fatalf("website rules %+v", web.Rules)
	}
	exported, err := st.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	y, err := exported.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{
		"- trend: disk-full\n", "- host: web1\n        trend: disk-full\n",
		"rules:\n      down: [critical, unknown]\n      impaired: [major]\n      ignore_maintenance: true\n",
	} {
		if !strings.Contains(string(y), part) {
			t.Fatalf("export lacks %q:\n%s", part, y)
		}
	}
	if strings.Count(string(y), "    rules:") != 1 {
		t.Fatalf("export shows default rules:\n%s", y)
	}
	doc2, err := ParseDocumentYAML(y)
	if err != nil {
		t.Fatalf("parse export: %v\n%s", err, y)
	}
	if diff, err := st.Apply(ctx, doc2, false); err != nil || !diff.Empty() {
		t.Fatalf("re-apply export: %v\n%s", err, diff)
	}

	// Changing the rules is an update with field details.
	doc2.Services[1].Rules.Down = []string{"critical"}
	doc2.Services[1].Rules.IgnoreMaintenance = false
	diff, err := st.Apply(ctx, doc2, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := "~ service website: rules.down [critical, unknown] -> [critical]; rules.ignore_maintenance true -> false\n"; !strings.HasPrefix(diff.String(), want) {
		t.Fatalf("diff:\n%s\nwant first line %q", diff, want)
	}

	// A document dropping the trend rule but keeping a service that uses
	// it is refused, naming both; nothing changes.
	doc3, _ := ParseDocumentYAML([]byte(servicesDoc))
	doc3.TrendRules = nil
	_, err = st.Apply(ctx, doc3, false)
	wantErr(t, err, ErrInvalid, `service "storage": unknown trend_rule "disk-full"`)
	must[TrendRule](t)(st.TrendRule(ctx, "disk-full"))

	// Dropping both goes through: the service is deleted before the rule.
	doc3.Services = doc3.Services[1:]
	doc3.Services[0].Dependencies = []Member{{Host: "router1"}}
	diff, err = st.Apply(ctx, doc3, false)
	if err != nil {
		t.Fatalf("apply without the rule and its service: %v", err)
	}
	if !strings.Contains(diff.String(), "- service storage\n") || !strings.Contains(diff.String(), "- trend_rule disk-full\n") {
		t.Fatalf("diff:\n%s", diff)
	}

	// Bad rules in a document are refused at validation.
	doc4, _ := ParseDocumentYAML([]byte(servicesDoc))
	doc4.Services[1].Rules.Impaired = []string{"critical"}
	_, err = st.Apply(ctx, doc4, false)
	wantErr(t, err, ErrInvalid, `service "website": rules: "critical" is in both down and impaired`)
	if _, err := st.Service(ctx, "storage"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused apply wrote: %v", err)
	}
}

// TestServiceMembersSurviveMigration builds a database at the schema before
// 0006, with members of every older form, and opens it: the rebuilt members
// table keeps them.
func TestServiceMembersSurviveMigration(t *testing.T) {
	ctx := context.Background()
	path := testDSN(t)
	var db *sql.DB
	var err error
	if testBackend == dialectPostgres {
		db, err = openPostgresPool(path, false)
	} else {
		db, err = sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	}
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(testBackend)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.version >= 6 {
			break
		}
		if _, err := db.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("migration %d: %v", m.version, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO hosts (id, name, created_at, updated_at) VALUES (1, 'web1', 0, 0)`,
		`INSERT INTO plugins (id, name, created_at, updated_at) VALUES (1, 'http', 0, 0)`,
		`INSERT INTO schedules (id, name, created_at, updated_at) VALUES (1, 'm', 0, 0)`,
		`INSERT INTO checks (id, name, schedule_id, created_at, updated_at) VALUES (1, 'home', 1, 0, 0)`,
		`INSERT INTO services (id, name, created_at, updated_at) VALUES (1, 'db', 0, 0), (2, 'shop', 0, 0)`,
		`INSERT INTO service_redundancy_groups (id, service_id, name, k) VALUES (1, 2, 'web', 1)`,
		`INSERT INTO service_members (service_id, redundancy_group_id, host_id, check_id, plugin_id, member_service_id) VALUES
			(1, NULL, 1, NULL, NULL, NULL), (2, NULL, NULL, NULL, NULL, 1), (2, 1, 1, 1, 1, NULL)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	st, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	defer st.Close()
	shop := must[Service](t)(st.Service(ctx, "shop"))
	if !slices.Equal(shop.Dependencies, []Member{{Service: "db"}}) || len(shop.RedundancyGroups) != 1 ||
		!slices.Equal(shop.RedundancyGroups[0].Members, []Member{{Host: "web1", Check: "home", Plugin: "http"}}) ||
		!reflect.DeepEqual(shop.Rules, ServiceRules{}) {
		t.Fatalf("shop after migration: %+v", shop)
	}
	db1 := must[Service](t)(st.Service(ctx, "db"))
	if !slices.Equal(db1.Dependencies, []Member{{Host: "web1"}}) {
		t.Fatalf("db after migration: %+v", db1)
	}
	// The rebuilt table still enforces the member forms.
	_, err = st.(*sqlStore).w.ExecContext(ctx, `INSERT INTO service_members (service_id, host_id, member_service_id) VALUES (2, 1, 1)`)
	if err == nil || !strings.Contains(err.Error(), map[string]string{dialectSQLite: "CHECK constraint failed", dialectPostgres: "violates check constraint"}[testBackend]) {
		t.Fatalf("a member of two forms was accepted: %v", err)
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

package store

import (
	"context"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fullRule is an alert rule using every field.
func fullRule() AlertRule {
	return AlertRule{
		Name: "escalate", Description: "wake someone", From: []string{"ok"}, To: []string{"critical", "major"},
		Scope:   Scope{Hosts: []string{"web1"}, Plugins: []string{"load"}, TrendRules: []string{"disk-full"}},
		Modules: []string{"email"}, Delay: Duration(2 * time.Minute), Repeat: Duration(time.Hour),
		Condition: `subject.labels.env == "prod"`,
		Escalations: []Escalation{
			{After: Duration(15 * time.Minute), Modules: []string{"webhook"}},
			{After: Duration(time.Hour), Modules: []string{"slack", "email"}},
		},
		NoRecovery: true, Disabled: true,
	}
}

func TestAlertRuleNewFields(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	seedTrend(t, st)
	a := must[AlertRule](t)(st.CreateAlertRule(ctx, fullRule()))
	got := must[AlertRule](t)(st.AlertRule(ctx, "escalate"))
	if !reflect.DeepEqual(a, got) {
		t.Fatalf("created %+v\nread back %+v", a, got)
	}
	if a.Condition != `subject.labels.env == "prod"` || !a.NoRecovery || !a.Disabled || len(a.Escalations) != 2 ||
		!slices.Equal(a.Escalations[1].Modules, []string{"email", "slack"}) || a.Escalations[0].After != Duration(15*time.Minute) ||
		!slices.Equal(a.Scope.Plugins, []string{"load"}) || !slices.Equal(a.Scope.TrendRules, []string{"disk-full"}) {
		t.Fatalf("rule %+v", a)
	}

	// Renames of plugins and trend rules follow into the scope.
	must[Plugin](t)(st.UpdatePlugin(ctx, "load", Plugin{Name: "cpu-load", Version: "1.0.0"}))
	r := must[TrendRule](t)(st.TrendRule(ctx, "disk-full"))
	r.Name = "disk-soon"
	must[TrendRule](t)(st.UpdateTrendRule(ctx, "disk-full", r))
	got = must[AlertRule](t)(st.AlertRule(ctx, "escalate"))
	if !slices.Equal(got.Scope.Plugins, []string{"cpu-load"}) || !slices.Equal(got.Scope.TrendRules, []string{"disk-soon"}) {
		t.Fatalf("scope after renames %+v", got.Scope)
	}
	// What the rule names cannot be deleted.
	wantErr(t, st.DeletePlugin(ctx, "cpu-load"), ErrConflict, "alert_rule escalate")
	wantErr(t, st.DeleteTrendRule(ctx, "disk-soon"), ErrConflict, "alert_rule escalate")
	wantErr(t, st.DeleteAlertModule(ctx, "email"), ErrConflict, "alert rule escalate")
	wantErr(t, st.DeleteAlertModule(ctx, "webhook"), ErrConflict, "alert rule escalate") // an escalation's only

	// Modules, the rule's and its escalations', must exist.
	bad := fullRule()
	bad.Name = "x"
	bad.Escalations[0].Modules = []string{"pager"}
	_, err := st.CreateAlertRule(ctx, bad)
	wantErr(t, err, ErrInvalid, `alert_rule "x": unknown alert_module "pager"`)
	bad.Escalations = nil
	bad.Modules = []string{"sms"}
	_, err = st.CreateAlertRule(ctx, bad)
	wantErr(t, err, ErrInvalid, `unknown alert_module "sms"`)

	// An update without the new fields clears them; the diff says so.
	up := must[AlertRule](t)(st.UpdateAlertRule(ctx, "escalate", AlertRule{Modules: []string{"email"}}))
	want := `description "wake someone" -> ""; from [ok] -> []; to [major, critical] -> []; scope.hosts [web1] -> []; ` +
		`scope.plugins [cpu-load] -> []; scope.trend_rules [disk-soon] -> []; delay 2m -> 0s; repeat 1h -> 0s; ` +
		`condition "subject.labels.env == \"prod\"" -> ""; escalations [15m [webhook], 1h [email, slack]] -> []; ` +
		`no_recovery true -> false; disabled true -> false`
	if d := strings.Join(diffAlertRule(&got, &up), "; "); d != want {
		t.Fatalf("diff\n got %s\nwant %s", d, want)
	}
	if up.Condition != "" || up.NoRecovery || up.Disabled || up.Escalations == nil || len(up.Escalations) != 0 {
		t.Fatalf("updated %+v", up)
	}
}

func TestAlertRuleNewFieldsValidation(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	f := func(mod func(a *AlertRule), parts ...string) {
		t.Helper()
		a := AlertRule{Name: "x", Modules: []string{"email"}}
		mod(&a)
		_, err := st.CreateAlertRule(ctx, a)
		wantErr(t, err, ErrInvalid, parts...)
	}
	esc := func(after time.Duration, mods ...string) Escalation {
		return Escalation{After: Duration(after), Modules: mods}
	}
	f(func(a *AlertRule) { a.Condition = strings.Repeat("x", MaxAlertConditionBytes+1) },
		`alert rule "x": condition is 4097 bytes long; the limit is 4096`)
	f(func(a *AlertRule) { a.Escalations = []Escalation{esc(0, "email")} }, "escalations[0].after 0s must be more than 0s")
	f(func(a *AlertRule) { a.Escalations = []Escalation{esc(367*24*time.Hour, "email")} }, "escalations[0].after 52w3d must be more than 0s and at most 366d")
	f(func(a *AlertRule) { a.Escalations = []Escalation{esc(time.Hour, "email"), esc(time.Minute, "slack")} },
		"escalations[1].after 1m must be later than the step before (1h)")
	f(func(a *AlertRule) { a.Escalations = []Escalation{esc(time.Hour, "email"), esc(time.Hour, "slack")} },
		"escalations[1].after 1h must be later")
	f(func(a *AlertRule) { a.Escalations = []Escalation{esc(time.Hour)} }, "escalations[0] needs at least one module")
	f(func(a *AlertRule) { a.Escalations = []Escalation{esc(time.Hour, "a b")} }, `escalations[0].modules: "a b" is not a valid name`)
	f(func(a *AlertRule) { a.Escalations = []Escalation{esc(time.Hour, "email", "email")} }, `escalations[0].modules lists "email" twice`)
	f(func(a *AlertRule) {
		for i := range MaxEscalations + 1 {
			a.Escalations = append(a.Escalations, esc(time.Duration(i+1)*time.Minute, "email"))
		}
	}, "escalations has 17 steps; the limit is 16")
	f(func(a *AlertRule) { a.Scope.Plugins = []string{"nope"} }, `alert_rule "x": unknown plugin "nope"`)
	f(func(a *AlertRule) { a.Scope.TrendRules = []string{"nope"} }, `unknown trend_rule "nope"`)
	f(func(a *AlertRule) { a.Scope.TrendRules = []string{"../x"} }, `scope.trend_rules: "../x" is not a valid name`)
	if rules := must[[]AlertRule](t)(st.AlertRules(ctx)); len(rules) != 1 {
		t.Fatalf("a refused rule was stored: %+v", rules)
	}
	// Sixteen increasing steps are fine.
	must[AlertRule](t)(st.CreateAlertRule(ctx, AlertRule{Name: "long", Modules: []string{"email"}, Escalations: func() []Escalation {
		var out []Escalation
		for i := range MaxEscalations {
			out = append(out, esc(time.Duration(i+1)*time.Minute, "email"))
		}
		return out
	}()}))
}

func TestAlertConditionCodeChecker(t *testing.T) {
	st, c := newCheckerStore(t)
	ctx := context.Background()
	seedModules(t, st, "email")
	_, err := st.CreateAlertRule(ctx, AlertRule{Name: "x", Modules: []string{"email"}, Condition: "BAD"})
	wantErr(t, err, ErrInvalid, `alert rule "x": condition: does not compile: found BAD`)
	if !errors.Is(err, errBadCode) {
		t.Fatalf("the checker's error is not wrapped: %v", err)
	}
	// Apply checks conditions too, and changes nothing on refusal.
	_, err = st.Apply(ctx, Document{Hosts: []Host{{Name: "web1"}}, AlertRules: []AlertRule{{Name: "y", Modules: []string{"email"}, Condition: "BAD"}}}, false)
	wantErr(t, err, ErrInvalid, `alert rule "y": condition`)
	c.calls = nil
	a := must[AlertRule](t)(st.CreateAlertRule(ctx, AlertRule{Name: "x", Modules: []string{"email"}, Condition: "to == 'critical'"}))
	if a.Condition == "" || !slices.Contains(c.calls, "condition") {
		t.Fatalf("rule %+v, checker calls %v", a, c.calls)
	}
	// No condition: nothing to check.
	c.calls = nil
	must[AlertRule](t)(st.CreateAlertRule(ctx, AlertRule{Name: "z", Modules: []string{"email"}}))
	if slices.Contains(c.calls, "condition") {
		t.Fatalf("an empty condition was checked: %v", c.calls)
	}
	if rules := must[[]AlertRule](t)(st.AlertRules(ctx)); len(rules) != 2 {
		t.Fatalf("rules %+v", rules)
	}
}

// TestApplyAlertRuleAndSilenceRoundTrip applies a document with every new
// field, exports it, and applies the export: no changes; a change of one
// field is one update naming it.
func TestApplyAlertRuleAndSilenceRoundTrip(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	must[Plugin](t)(st.CreatePlugin(ctx, Plugin{Name: "load"}))
	seedModules(t, st, "email", "webhook", "slack")
	yml := `
hosts:
  - name: web1
trend_rules:
  - name: disk-full
    selector: up
    window: 1h
    expr: '"ok"'
alert_rules:
  - name: page
    to: [critical]
    scope: {hosts: [web1], plugins: [load], trend_rules: [disk-full]}
    modules: [email]
    condition: 'hour(now) >= 8'
    escalations:
      - {after: 15m, modules: [webhook]}
      - {after: 1h, modules: [slack]}
    no_recovery: true
silences:
  - name: patch-night
    scope: {hosts: [web1]}
    weekly: {days: [sun, tue], at: "02:00", duration: 2h, timezone: Europe/London}
    comment: kernel updates
  - name: move
    start: 2026-12-01T09:00:00+01:00
    end: 2026-12-01T17:00:00+01:00
    scope: {plugins: [load], trend_rules: [disk-full]}
`
	doc, err := ParseDocumentYAML([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	diff, err := st.Apply(ctx, doc, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := (map[string]Counts{"host": {Created: 1}, "trend_rule": {Created: 1}, "alert_rule": {Created: 1}, "silence": {Created: 2}}); !reflect.DeepEqual(diff.Summary, want) {
		t.Fatalf("summary %+v", diff.Summary)
	}
	exp, err := st.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exp.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"condition: hour(now) >= 8", "- after: 15m", "no_recovery: true", "days: [tue, sun]",
		"timezone: Europe/London", "start: 2026-12-01T08:00:00Z", "trend_rules: [disk-full]"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("export lacks %q:\n%s", want, out)
		}
	}
	again, err := ParseDocumentYAML(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff, err = st.Apply(ctx, again, false); err != nil || !diff.Empty() {
		t.Fatalf("re-applying the export: %v %s", err, diff)
	}
	// One field changed: one update naming it.
	again.Silences[1].Weekly.At = "03:00"
	again.AlertRules[0].Escalations[1].After = Duration(2 * time.Hour)
	if diff, err = st.Apply(ctx, again, true); err != nil {
		t.Fatal(err)
	}
	if got := diff.String(); !strings.Contains(got, "~ alert_rule page: escalations [15m [webhook], 1h [slack]] -> [15m [webhook], 2h [slack]]") ||
		!strings.Contains(got, `~ silence patch-night: weekly "[tue, sun] 02:00 Europe/London for 2h" -> "[tue, sun] 03:00 Europe/London for 2h"`) {
		t.Fatalf("diff:\n%s", got)
	}
	// A document naming a module the server lacks is refused whole.
	again.AlertRules[0].Escalations[0].Modules = []string{"pager"}
	_, err = st.Apply(ctx, again, false)
	wantErr(t, err, ErrInvalid, `alert_rule "page": unknown alert module "pager"`)
	// Deleting the silences and the rule through apply.
	if diff, err = st.Apply(ctx, Document{Hosts: []Host{{Name: "web1"}}}, false); err != nil {
		t.Fatal(err)
	}
	if diff.Summary["silence"].Deleted != 2 || diff.Summary["alert_rule"].Deleted != 1 {
		t.Fatalf("summary %+v", diff.Summary)
	}
}

func TestAlertingExampleMatchesDocsAndApplies(t *testing.T) {
	example, err := os.ReadFile("testdata/alerting.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	body := string(example)
	body = body[strings.Index(body, "version: 1"):]
	if !strings.Contains(string(docs), body) {
		t.Fatal("docs/configuration.md does not contain store/testdata/alerting.yaml (from `version: 1` on); copy it over")
	}
	st := newTestStore(t)
	ctx := context.Background()
	doc, err := ParseDocumentYAML(example)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Apply(ctx, doc, false)
	wantErr(t, err, ErrInvalid, `alert_rule "page-prod": unknown alert module "ops-mail"`)
	seedModules(t, st, "ops-mail", "pager", "boss-sms", "team-chat")
	d := must[Diff](t)(st.Apply(ctx, doc, false))
	if want := (map[string]Counts{"host": {Created: 2}, "group": {Created: 1}, "service": {Created: 1}, "alert_rule": {Created: 3},
		"silence": {Created: 2}}); !reflect.DeepEqual(d.Summary, want) {
		t.Fatalf("summary %+v", d.Summary)
	}
	exp := must[Document](t)(st.Export(ctx))
	if d := must[Diff](t)(st.Apply(ctx, exp, false)); !d.Empty() {
		t.Fatalf("re-applying the export: %s", d)
	}
	w := exp.Silences[1].Weekly
	if at, _ := w.Clock(); at != 2*time.Hour || exp.AlertRules[1].Escalations[1].After != Duration(time.Hour) {
		t.Fatalf("export %+v %+v", w, exp.AlertRules[1])
	}
}

func TestAlertRuleThatMatchesNothingIsRefused(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	if _, err := st.CreateHost(ctx, Host{Name: "web1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateService(ctx, Service{Name: "shop", Dependencies: []Member{{Host: "web1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAlertModule(ctx, AlertModule{Name: "hook", Kind: "webhook", Config: []byte(`{"url":"http://127.0.0.1:9/"}`)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rule AlertRule
		want string
	}{
		{AlertRule{Name: "a", To: []string{"critical"}, Scope: Scope{Services: []string{"shop"}}, Modules: []string{"hook"}},
			`alert rule "a" matches nothing: its scope covers only services, whose states are ok, degraded and failed, but to lists only critical`},
		{AlertRule{Name: "b", From: []string{"degraded"}, Scope: Scope{Hosts: []string{"web1"}}, Modules: []string{"hook"}},
			`alert rule "b" matches nothing: its scope covers no services, and hosts, checks and trend rules are ok, minor, major, critical or unknown, but from lists only degraded`},
	} {
		_, err := st.CreateAlertRule(ctx, tc.rule)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.rule.Name, err, tc.want)
		}
	}
	for _, ok := range []AlertRule{
		{Name: "c", To: []string{"failed", "critical"}, Modules: []string{"hook"}},
		{Name: "d", To: []string{"failed", "critical"}, Scope: Scope{Services: []string{"shop"}, Hosts: []string{"web1"}}, Modules: []string{"hook"}},
		{Name: "e", To: []string{"ok"}, Scope: Scope{Services: []string{"shop"}}, Modules: []string{"hook"}},
	} {
		if _, err := st.CreateAlertRule(ctx, ok); err != nil {
			t.Errorf("%s: %v", ok.Name, err)
		}
	}
}

package store

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTrendRuleCRUD(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	changed := st.ConfigChanged()
	r := must[TrendRule](t)(st.CreateTrendRule(ctx, TrendRule{
		Name: "disk-full", Description: "fills within a day", Selector: `prophasis_value{plugin="disk"}`,
		Window: Duration(6 * time.Hour), Expr: `timeleft(window, 100) < duration("24h") ? "critical" : "ok"`,
	}))
	if r.ID == 0 || r.CreatedAt.IsZero() || r.Window != Duration(6*time.Hour) || r.Interval != 0 || r.EffectiveInterval() != time.Minute {
		t.Fatalf("created %+v", r)
	}
	select {
	case <-changed:
	default:
		t.Fatal("creating a trend rule did not wake ConfigChanged's watchers")
	}
	_, err := st.CreateTrendRule(ctx, TrendRule{Name: "disk-full", Selector: "x", Window: Duration(time.Hour), Expr: "ok"})
	wantErr(t, err, ErrConflict, `trend_rule "disk-full" already exists`)

	up := must[TrendRule](t)(st.UpdateTrendRule(ctx, "disk-full", TrendRule{
		Selector: "y", Window: Duration(time.Hour), Interval: Duration(5 * time.Minute), Expr: "ok", Disabled: true,
	}))
	if up.Name != "disk-full" || up.Description != "" || up.Selector != "y" || up.EffectiveInterval() != 5*time.Minute || !up.Disabled {
		t.Fatalf("updated %+v", up)
	}
	want := `description "fills within a day" -> ""; selector "prophasis_value{plugin=\"disk\"}" -> y; window 6h -> 1h; ` +
		`interval 0s -> 5m; expr changed (59 -> 2 bytes); disabled false -> true`
	if d := strings.Join(diffTrendRule(&r, &up), "; "); d != want {
		t.Fatalf("diff\n got %s\nwant %s", d, want)
	}
	must[TrendRule](t)(st.UpdateTrendRule(ctx, "disk-full", TrendRule{Name: "disk-soon", Selector: "y", Window: Duration(time.Hour), Expr: "ok"}))
	list := must[[]TrendRule](t)(st.TrendRules(ctx))
	if len(list) != 1 || list[0].Name != "disk-soon" {
		t.Fatalf("list %+v", list)
	}
	_, err = st.TrendRule(ctx, "disk-full")
	wantErr(t, err, ErrNotFound, `trend_rule "disk-full" not found`)
	if err := st.DeleteTrendRule(ctx, "disk-soon"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, st.DeleteTrendRule(ctx, "disk-soon"), ErrNotFound)
	if list := must[[]TrendRule](t)(st.TrendRules(ctx)); len(list) != 0 {
		t.Fatalf("after delete %+v", list)
	}
}

func TestTrendRuleValidation(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	f := func(mod func(r *TrendRule), parts ...string) {
		t.Helper()
		r := TrendRule{Name: "r", Selector: "up", Window: Duration(time.Hour), Expr: `"ok"`}
		mod(&r)
		_, err := st.CreateTrendRule(ctx, r)
		wantErr(t, err, ErrInvalid, parts...)
		if list := must[[]TrendRule](t)(st.TrendRules(ctx)); len(list) != 0 {
			t.Fatalf("refused rule stored: %+v", list)
		}
	}
	f(func(r *TrendRule) { r.Name = "" }, "trend rule: name is required")
	f(func(r *TrendRule) { r.Name = "a b" }, `trend rule "a b": name must match`)
	f(func(r *TrendRule) { r.Description = strings.Repeat("d", 1025) }, `trend rule "r": description is 1025 bytes long`)
	f(func(r *TrendRule) { r.Selector = "" }, `trend rule "r": selector is required`)
	f(func(r *TrendRule) { r.Selector = strings.Repeat("s", MaxTrendSelectorBytes+1) }, `selector is 4097 bytes long; the limit is 4096`)
	f(func(r *TrendRule) { r.Window = 0 }, `trend rule "r": window 0s must be more than 0s and at most 30d`)
	f(func(r *TrendRule) { r.Window = Duration(31 * 24 * time.Hour) }, `window 4w3d must be more than 0s and at most 30d`)
	f(func(r *TrendRule) { r.Interval = Duration(500 * time.Millisecond) }, `trend rule "r": interval 500ms must be 0s (the default, 1m) or between 1s and 1d`)
	f(func(r *TrendRule) { r.Interval = Duration(25 * time.Hour) }, `interval 1d1h`)
	f(func(r *TrendRule) { r.Expr = "" }, `trend rule "r": expr is required`)
	f(func(r *TrendRule) { r.Expr = strings.Repeat("e", MaxTrendExprBytes+1) }, `expr is 16385 bytes long; the limit is 16384`)
	f(func(r *TrendRule) { r.Expr = "\xff" }, `expr is not valid UTF-8`)
	// The bounds themselves are accepted.
	must[TrendRule](t)(st.CreateTrendRule(ctx, TrendRule{Name: "edge", Selector: strings.Repeat("s", MaxTrendSelectorBytes),
		Window: Duration(MaxTrendWindow), Interval: Duration(time.Second), Expr: strings.Repeat("e", MaxTrendExprBytes)}))
	must[TrendRule](t)(st.UpdateTrendRule(ctx, "edge", TrendRule{Selector: "s", Window: Duration(time.Millisecond), Interval: Duration(MaxTrendInterval), Expr: "e"}))
	// An update refused for one field leaves the rule as it was.
	_, err := st.UpdateTrendRule(ctx, "edge", TrendRule{Selector: "", Window: Duration(time.Hour), Expr: "e"})
	wantErr(t, err, ErrInvalid, "selector is required")
	if r := must[TrendRule](t)(st.TrendRule(ctx, "edge")); r.Selector != "s" || r.Interval != Duration(MaxTrendInterval) {
		t.Fatalf("refused update changed the rule: %+v", r)
	}
}

// loadRulesExample reads testdata/rules.yaml, the classification and trend
// rules example of docs/configuration.md.
func loadRulesExample(t testing.TB) Document {
	t.Helper()
	b, err := os.ReadFile("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseDocumentYAML(b)
	if err != nil {
		t.Fatalf("parse rules example: %v", err)
	}
	return doc
}

func TestRulesExampleMatchesDocs(t *testing.T) {
	example, err := os.ReadFile("testdata/rules.yaml")
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
		t.Fatal("docs/configuration.md does not contain store/testdata/rules.yaml (from `version: 1` on); copy it over")
	}
}

// TestApplyRuleFieldsRoundTrip checks that the rules example's check and
// trend rule fields survive apply, export and YAML, and that apply's diff
// names changes to them.
func TestApplyRuleFieldsRoundTrip(t *testing.T) {
	st := newExampleStore(t)
	ctx := context.Background()
	d := must[Diff](t)(st.Apply(ctx, loadRulesExample(t), false))
	if want := map[string]Counts{"host": {Created: 1}, "schedule": {Created: 1}, "check": {Created: 1}, "trend_rule": {Created: 1}}; !reflect.DeepEqual(d.Summary, want) {
		t.Fatalf("summary %+v", d.Summary)
	}
	doc := must[Document](t)(st.Export(ctx))
	y := must[[]byte](t)(doc.YAML())
	back := must[Document](t)(ParseDocumentYAML(y))
	if err := back.validate(); err != nil {
		t.Fatal(err)
	}
	var disks Check
	for _, c := range back.Checks {
		if c.Name == "disks" {
			disks = c
		}
	}
	if disks.Attempts != 3 || disks.Flapping != (Flapping{Window: 20, Start: 0.5, Stop: 0.25}) ||
		!strings.HasPrefix(disks.Classifiers["disk"], "if values[1] > 95 then return \"critical\" end\n") {
		t.Fatalf("disks after the round trip: %+v", disks)
	}
	if !strings.Contains(string(y), "      disk: |\n") {
		t.Fatalf("the classifier is not exported as a literal block:\n%s", y)
	}
	if len(back.TrendRules) != 1 || back.TrendRules[0].Name != "disk-full" || back.TrendRules[0].Window != Duration(6*time.Hour) ||
		back.TrendRules[0].Interval != Duration(5*time.Minute) || !strings.HasPrefix(back.TrendRules[0].Expr, "timeleft(window, 100)") {
		t.Fatalf("trend rules after the round trip: %+v", back.TrendRules)
	}

	for i := range back.Checks {
		if back.Checks[i].Name == "disks" {
			back.Checks[i].Attempts = 5
			back.Checks[i].Flapping.Window = 0
			back.Checks[i].Classifiers = nil
		}
	}
	back.TrendRules[0].Disabled = true
	back.TrendRules = append(back.TrendRules, TrendRule{Name: "load-rising", Selector: "prophasis_value{plugin=\"load\"}", Window: Duration(time.Hour), Expr: `"ok"`})
	d = must[Diff](t)(st.Apply(ctx, back, true))
	text := d.String()
	for _, l := range []string{
		`~ check disks: attempts 3 -> 5; flapping.window 20 -> 0; classifiers["disk"] removed`,
		"+ trend_rule load-rising",
		"~ trend_rule disk-full: disabled false -> true",
	} {
		if !strings.Contains(text, l+"\n") {
			t.Errorf("dry-run diff lacks %q", l)
		}
	}
	if t.Failed() {
		t.Fatalf("diff:\n%s", text)
	}
	must[Diff](t)(st.Apply(ctx, back, false))
	if c := must[Check](t)(st.Check(ctx, "disks")); c.Attempts != 5 || c.Classifiers != nil || c.Flapping.Start != 0.5 {
		t.Fatalf("disks after apply: %+v", c)
	}
	// Trend rules the document leaves out are deleted.
	back.TrendRules = nil
	d = must[Diff](t)(st.Apply(ctx, back, false))
	if d.Summary["trend_rule"].Deleted != 2 {
		t.Fatalf("diff %s", d)
	}
	if _, err := st.TrendRule(ctx, "disk-full"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("disk-full survived: %v", err)
	}
}

func TestApplyTrendRuleErrors(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	doc := Document{TrendRules: []TrendRule{
		{Name: "a", Selector: "up", Window: Duration(time.Hour), Expr: "x"},
		{Name: "a", Selector: "up", Window: Duration(time.Hour), Expr: "x"},
		{Name: "b", Selector: "", Window: Duration(time.Hour), Expr: "x"},
	}}
	_, err := st.Apply(ctx, doc, false)
	wantErr(t, err, ErrInvalid, `trend_rule "a" is defined twice`, `trend rule "b": selector is required`)
	_, err = ParseDocumentYAML([]byte("trend_rules:\n  - name: a\n    selector: up\n    window: 1h\n    expr: x\n    exprs: y\n"))
	wantErr(t, err, ErrInvalid, "line 6", "field exprs not found")
	if list := must[[]TrendRule](t)(st.TrendRules(ctx)); len(list) != 0 {
		t.Fatalf("refused apply stored %+v", list)
	}
}

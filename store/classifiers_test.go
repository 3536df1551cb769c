package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// badCodeChecker refuses any code containing "BAD", as the real checker
// refuses code that does not compile.
type badCodeChecker struct{ calls []string }

var errBadCode = errors.New("does not compile: found BAD")

func (c *badCodeChecker) CheckClassifier(name, source string) error {
	c.calls = append(c.calls, "classifier "+name)
	if strings.Contains(source, "BAD") {
		return errBadCode
	}
	return nil
}

func (c *badCodeChecker) CheckTrendRule(r TrendRule) error {
	c.calls = append(c.calls, "trend "+r.Name)
	if strings.Contains(r.Selector+r.Expr, "BAD") {
		return errBadCode
	}
	return nil
}

func (c *badCodeChecker) CheckAlertCondition(src string) error {
	c.calls = append(c.calls, "condition")
	if strings.Contains(src, "BAD") {
		return errBadCode
	}
	return nil
}

// CheckPluginParams refuses values containing BAD and names the manifest
// does not list among its parameters.
func (c *badCodeChecker) CheckPluginParams(manifest json.RawMessage, params map[string]string) error {
	c.calls = append(c.calls, "params")
	var m struct {
		Parameters []struct {
			Name     string `json:"name"`
			Required bool   `json:"required"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return err
	}
	known := map[string]bool{}
	for _, p := range m.Parameters {
		known[p.Name] = true
		if _, ok := params[p.Name]; p.Required && !ok {
			return fmt.Errorf("parameter %s is required", p.Name)
		}
	}
	for k, v := range params {
		if !known[k] {
			return fmt.Errorf("unknown parameter %s", k)
		}
		if strings.Contains(v, "BAD") {
			return errBadCode
		}
	}
	return nil
}

// newCheckerStore opens a store with a badCodeChecker, a schedule, a host
// and the plugins load and disk.
func newCheckerStore(t *testing.T) (*sqlStore, *badCodeChecker) {
	t.Helper()
	c := &badCodeChecker{}
	st, err := Open(context.Background(), testDSN(t), nil, WithCodeChecker(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := st.(*sqlStore)
	seedCheckDeps(t, s)
	return s, c
}

func seedCheckDeps(t *testing.T, st *sqlStore) {
	t.Helper()
	ctx := context.Background()
	must[Host](t)(st.CreateHost(ctx, Host{Name: "web1"}))
	must[Schedule](t)(st.CreateSchedule(ctx, Schedule{Name: "minutely", Intervals: []Interval{{Period: Duration(time.Minute)}}}))
	for _, p := range []string{"load", "disk"} {
		must[Plugin](t)(st.CreatePlugin(ctx, Plugin{Name: p}))
	}
}

func TestPluginClassifierFields(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	src := "function classify(results)\n  return 'ok'\nend\n"
	p := must[Plugin](t)(st.CreatePlugin(ctx, Plugin{Name: "load", Classifier: src, History: 20}))
	if p.Classifier != src || p.History != 20 || p.EffectiveHistory() != 20 {
		t.Fatalf("created %+v", p)
	}
	got := must[Plugin](t)(st.Plugin(ctx, "load"))
	if got.Classifier != src || got.History != 20 {
		t.Fatalf("read back %+v", got)
	}
	// An update replaces them: absent means the defaults.
	up := must[Plugin](t)(st.UpdatePlugin(ctx, "load", Plugin{}))
	if up.Classifier != "" || up.History != 0 || up.EffectiveHistory() != DefaultHistory {
		t.Fatalf("updated %+v", up)
	}
	if d := diffPlugin(&got, &up); strings.Join(d, "; ") != "classifier removed; history 20 -> 0" {
		t.Fatalf("diff %q", d)
	}

	f := func(p Plugin, parts ...string) {
		t.Helper()
		_, err := st.CreatePlugin(ctx, p)
		wantErr(t, err, ErrInvalid, parts...)
		if _, err := st.Plugin(ctx, p.Name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("refused plugin %q was stored (%v)", p.Name, err)
		}
	}
	f(Plugin{Name: "x", History: 5000}, `plugin "x": history 5000 must be between 0 and 1000`)
	f(Plugin{Name: "x", History: -1}, `plugin "x": history -1 must be between 0 and 1000`)
	f(Plugin{Name: "x", Classifier: strings.Repeat("-", MaxClassifierBytes+1)}, `plugin "x": classifier is 65537 bytes long; the limit is 65536`)
	f(Plugin{Name: "x", Classifier: "\xff"}, `plugin "x": classifier is not valid UTF-8`)
	must[Plugin](t)(st.CreatePlugin(ctx, Plugin{Name: "big", Classifier: strings.Repeat("-", MaxClassifierBytes), History: MaxHistory}))
}

func TestCheckRuleFields(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seedCheckDeps(t, st)
	c := must[Check](t)(st.CreateCheck(ctx, Check{
		Name: "web", Plugins: []string{"load", "disk"}, Hosts: []string{"web1"}, Schedule: "minutely",
		Attempts: 3, Flapping: Flapping{Window: 20, Start: 0.5, Stop: 0.25},
		Classifiers: map[string]string{"load": "return 'ok'"},
	}))
	if c.Attempts != 3 || c.EffectiveAttempts() != 3 || c.Flapping != (Flapping{20, 0.5, 0.25}) ||
		len(c.Classifiers) != 1 || c.Classifiers["load"] != "return 'ok'" {
		t.Fatalf("created %+v", c)
	}
	all := must[[]Check](t)(st.Checks(ctx))
	if len(all) != 1 || all[0].Classifiers["load"] != "return 'ok'" || all[0].Flapping.Stop != 0.25 {
		t.Fatalf("list %+v", all)
	}
	// Update: overrides are replaced as a whole; empty means none (nil).
	up := must[Check](t)(st.UpdateCheck(ctx, "web", Check{
		Plugins: []string{"disk", "load"}, Hosts: []string{"web1"}, Schedule: "minutely",
		Classifiers: map[string]string{"disk": "return 'minor'"},
	}))
	if up.Attempts != 0 || up.EffectiveAttempts() != 1 || up.Flapping != (Flapping{}) ||
		len(up.Classifiers) != 1 || up.Classifiers["disk"] != "return 'minor'" {
		t.Fatalf("updated %+v", up)
	}
	want := `attempts 3 -> 0; flapping.window 20 -> 0; flapping.start 0.5 -> 0; flapping.stop 0.25 -> 0; ` +
		`classifiers["disk"] set (14 bytes); classifiers["load"] removed`
	if d := strings.Join(diffCheck(&c, &up), "; "); d != want {
		t.Fatalf("diff\n got %s\nwant %s", d, want)
	}
	up = must[Check](t)(st.UpdateCheck(ctx, "web", Check{Plugins: []string{"disk", "load"}, Schedule: "minutely", Classifiers: map[string]string{}}))
	if up.Classifiers != nil {
		t.Fatalf("empty classifiers read back as %#v", up.Classifiers)
	}
	// Overrides go with their check; their plugin stays protected.
	must[Check](t)(st.UpdateCheck(ctx, "web", Check{Plugins: []string{"load"}, Schedule: "minutely", Classifiers: map[string]string{"load": "x"}}))
	wantErr(t, st.DeletePlugin(ctx, "load"), ErrConflict, "check web")
	if err := st.DeleteCheck(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.r.QueryRow(`SELECT count(*) FROM check_classifiers`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("check_classifiers rows after delete: %d, %v", n, err)
	}

	f := func(mod func(c *Check), parts ...string) {
		t.Helper()
		c := Check{Name: "x", Plugins: []string{"load", "disk"}, Schedule: "minutely"}
		mod(&c)
		_, err := st.CreateCheck(ctx, c)
		wantErr(t, err, ErrInvalid, parts...)
		if _, err := st.Check(ctx, "x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("refused check was stored (%v)", err)
		}
	}
	f(func(c *Check) { c.Attempts = 101 }, `check "x": attempts 101 must be between 0 and 100`)
	f(func(c *Check) { c.Attempts = -1 }, `attempts -1`)
	f(func(c *Check) { c.Flapping.Window = 1 }, `check "x": flapping.window 1 must be 0 (the default) or between 2 and 1000`)
	f(func(c *Check) { c.Flapping.Window = 1001 }, `flapping.window 1001`)
	f(func(c *Check) { c.Flapping = Flapping{Start: 0.2, Stop: 0.3} }, `flapping.start 0.2 and flapping.stop 0.3 must satisfy 0 <= stop < start <= 1`)
	f(func(c *Check) { c.Flapping = Flapping{Start: 0.3, Stop: 0.3} }, `must satisfy`)
	f(func(c *Check) { c.Flapping = Flapping{Start: 1.5, Stop: 0.3} }, `flapping.start 1.5`)
	f(func(c *Check) { c.Flapping = Flapping{Start: 0.5, Stop: -0.1} }, `flapping.stop -0.1`)
	f(func(c *Check) { c.Flapping = Flapping{Start: 0, Stop: 0.1} }, `must satisfy`)
	f(func(c *Check) { c.Flapping = Flapping{Start: math.NaN(), Stop: 0} }, `flapping.start NaN`)
	f(func(c *Check) { c.Classifiers = map[string]string{"http": "x"} },
		`check "x": classifiers["http"]: "http" is not one of the check's plugins [disk, load]`)
	f(func(c *Check) { c.Classifiers = map[string]string{"load": ""} }, `check "x": classifiers["load"] is empty`)
	f(func(c *Check) { c.Classifiers = map[string]string{"load": strings.Repeat("-", MaxClassifierBytes+1)} },
		`check "x": classifiers["load"] is 65537 bytes long; the limit is 65536`)
	// Start with stop 0 and a window alone are fine.
	must[Check](t)(st.CreateCheck(ctx, Check{Name: "ok1", Plugins: []string{"load"}, Schedule: "minutely", Flapping: Flapping{Start: 1}}))
	must[Check](t)(st.CreateCheck(ctx, Check{Name: "ok2", Plugins: []string{"load"}, Schedule: "minutely", Flapping: Flapping{Window: 2}}))
}

func TestCodeChecker(t *testing.T) {
	st, cc := newCheckerStore(t)
	ctx := context.Background()
	// Plugins: create and update.
	_, err := st.CreatePlugin(ctx, Plugin{Name: "http", Classifier: "BAD"})
	wantErr(t, err, ErrInvalid, `plugin "http": classifier: does not compile: found BAD`)
	if !errors.Is(err, errBadCode) {
		t.Fatalf("error %v does not wrap the checker's", err)
	}
	if _, err := st.Plugin(ctx, "http"); !errors.Is(err, ErrNotFound) {
		t.Fatal("refused plugin stored")
	}
	must[Plugin](t)(st.UpdatePlugin(ctx, "load", Plugin{Classifier: "good"}))
	_, err = st.UpdatePlugin(ctx, "load", Plugin{Classifier: "BAD"})
	wantErr(t, err, ErrInvalid, `plugin "load": classifier: does not compile`)
	if p := must[Plugin](t)(st.Plugin(ctx, "load")); p.Classifier != "good" {
		t.Fatalf("refused update changed the plugin: %+v", p)
	}
	// The built-in default ("") is not the checker's business.
	cc.calls = nil
	must[Plugin](t)(st.CreatePlugin(ctx, Plugin{Name: "mem"}))
	if len(cc.calls) != 0 {
		t.Fatalf("checker called for an empty classifier: %v", cc.calls)
	}

	// Checks: every override.
	base := Check{Name: "web", Plugins: []string{"disk", "load"}, Schedule: "minutely"}
	c := base
	c.Classifiers = map[string]string{"disk": "fine", "load": "BAD"}
	_, err = st.CreateCheck(ctx, c)
	wantErr(t, err, ErrInvalid, `check "web": classifiers["load"]: does not compile`)
	must[Check](t)(st.CreateCheck(ctx, base))
	_, err = st.UpdateCheck(ctx, "web", c)
	wantErr(t, err, ErrInvalid, `check "web": classifiers["load"]`)
	if got := must[Check](t)(st.Check(ctx, "web")); got.Classifiers != nil {
		t.Fatalf("refused update stored %v", got.Classifiers)
	}

	// Trend rules.
	r := TrendRule{Name: "disk-full", Selector: "disk_used", Window: Duration(time.Hour), Expr: "BAD"}
	_, err = st.CreateTrendRule(ctx, r)
	wantErr(t, err, ErrInvalid, `trend rule "disk-full": does not compile`)
	r.Expr = "ok"
	must[TrendRule](t)(st.CreateTrendRule(ctx, r))
	r.Selector = "BAD"
	_, err = st.UpdateTrendRule(ctx, "disk-full", r)
	wantErr(t, err, ErrInvalid, `trend rule "disk-full": does not compile`)

	// Apply: checks and trend rules it writes; nothing on refusal.
	doc := Document{
		Hosts:      []Host{{Name: "web1"}},
		Schedules:  []Schedule{{Name: "minutely", Intervals: []Interval{{Period: Duration(time.Minute)}}}},
		Checks:     []Check{{Name: "web", Plugins: []string{"load"}, Schedule: "minutely", Classifiers: map[string]string{"load": "BAD"}}},
		TrendRules: []TrendRule{{Name: "disk-full", Selector: "disk_used", Window: Duration(time.Hour), Expr: "ok"}},
	}
	_, err = st.Apply(ctx, doc, true)
	wantErr(t, err, ErrInvalid, `check "web": classifiers["load"]: does not compile`)
	_, err = st.Apply(ctx, doc, false)
	wantErr(t, err, ErrInvalid, `check "web": classifiers["load"]`)
	if got := must[Check](t)(st.Check(ctx, "web")); got.Classifiers != nil || len(got.Plugins) != 2 {
		t.Fatalf("refused apply changed the check: %+v", got)
	}
	doc.Checks[0].Classifiers["load"] = "fine"
	doc.TrendRules[0].Expr = "BAD again"
	_, err = st.Apply(ctx, doc, false)
	wantErr(t, err, ErrInvalid, `trend rule "disk-full": does not compile`)
	doc.TrendRules[0].Expr = "ok"
	must[Diff](t)(st.Apply(ctx, doc, false))
	// Unchanged entities are not re-checked.
	cc.calls = nil
	if d := must[Diff](t)(st.Apply(ctx, doc, false)); !d.Empty() {
		t.Fatalf("re-apply: %s", d)
	}
	if len(cc.calls) != 0 {
		t.Fatalf("unchanged entities re-checked: %v", cc.calls)
	}
}

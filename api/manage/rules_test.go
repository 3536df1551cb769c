package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/rules"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
	"github.com/prophasis/prophasis/wire"
)

// rulesAPI is the management API with a running rules engine over a real
// store and TSDB; results go in through ingest with the engine as hook.
type rulesAPI struct {
	*testAPI
	db  *tsdb.DB
	eng *rules.Engine
	now time.Time
}

const testLoadClassifier = `
if consecutive(values, function(v) return v > 8 end) >= 3 then return "critical" end
if values[1] > 4 then return "minor" end
return "ok"`

const diskFullExpr = `timeleft(window, 100) < duration("24h") ? "critical" : "ok"`

// newRulesAPI configures plugins load (testLoadClassifier) and bad (a
// classifier failing at run time), six hours of disk_used_percent samples
// for h1 (sda filling to full in about two hours, sdb in days) and the
// trend rule disk-full over them, then starts the engine.
func newRulesAPI(t *testing.T) *rulesAPI {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tsdb.Open(filepath.Join(dir, "tsdb"), tsdb.Options{}, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := store.Open(ctx, filepath.Join(dir, "p.db"), logger, store.WithCodeChecker(rules.CodeChecker{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, _, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, viewer, err := st.CreateToken(ctx, store.TokenSpec{Name: "viewer", Role: store.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []store.Plugin{
		{Name: "load", Kind: "exec", Entrypoint: "load.sh", Classifier: testLoadClassifier, History: 5},
		{Name: "bad", Kind: "exec", Entrypoint: "bad.sh", Classifier: "return values[1] .. nil"},
	} {
		if _, err := st.CreatePlugin(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().Truncate(time.Minute)
	app := db.Appender(ctx)
	for i := 360; i >= 0; i-- {
		ts := now.Add(-time.Duration(i) * time.Minute)
		hours := float64(360-i) / 60
		for dev, perHour := range map[string]float64{"sda": 8, "sdb": 1} {
			l := labels.FromStrings("__name__", "disk_used_percent", "host", "h1", "device", dev)
			if _, err := app.Append(0, l, ts.UnixMilli(), 50+perHour*hours); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTrendRule(ctx, store.TrendRule{Name: "disk-full", Selector: "disk_used_percent",
		Window: store.Duration(time.Hour), Interval: store.Duration(10 * time.Minute), Expr: diskFullExpr}); err != nil {
		t.Fatal(err)
	}

	eng := rules.New(st, db, logger, rules.Options{Shards: 2})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-eng.Started():
	case err := <-done:
		t.Fatalf("engine stopped at start: %v", err)
	}
	r := gin.New()
	Register(r.Group("/manage/v1", auth.Middleware(st, auth.Options{})), Deps{Store: st, Rules: eng, Logger: logger})
	in := ingest.New(db, st, eng, logger, ingest.Options{})
	return &rulesAPI{
		testAPI: &testAPI{t: t, st: st, in: in, handler: r, admin: admin, viewer: viewer},
		db:      db, eng: eng, now: now,
	}
}

// push stores results through ingest and waits until the engine judged them.
func (a *rulesAPI) push(rs ...wire.Result) {
	a.t.Helper()
	ctx := context.Background()
	if _, err := a.in.WriteBatch(ctx, wire.Batch{Results: rs}); err != nil {
		a.t.Fatal(err)
	}
	if err := a.eng.Sync(ctx); err != nil {
		a.t.Fatal(err)
	}
}

// result is a result minute minutes after an hour ago.
func (a *rulesAPI) result(host, plugin, check string, minute int, value float64) wire.Result {
	return wire.Result{Host: host, Plugin: plugin, Check: check, Value: &value, Message: fmt.Sprintf("%s %g", plugin, value),
		Timestamp: a.now.Add(-time.Hour + time.Duration(minute)*time.Minute).UnixMilli(), Duration: 0.01}
}

// waitTrends waits until the engine's first round of trend rules is done.
func (a *rulesAPI) waitTrends() {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(a.eng.TrendStates()) == 0 {
		if time.Now().After(deadline) {
			a.t.Fatal("the engine evaluated no trend rule in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStatesREST(t *testing.T) {
	a := newRulesAPI(t)
	for i := range 3 {
		a.push(a.result("web1", "load", "res", i, 9), a.result("db1", "load", "res", i, 1))
	}
	a.push(a.result("db1", "bad", "c", 0, 1))
	a.waitTrends()

	type states struct {
		Checks []rules.Status      `json:"checks"`
		Hosts  []rules.HostStatus  `json:"hosts"`
		Trends []rules.TrendStatus `json:"trends"`
	}
	get := func(query string) string {
		t.Helper()
		var s states
		a.ok("GET", "/states"+query, a.viewer, nil, &s)
		if s.Checks == nil || s.Hosts == nil || s.Trends == nil {
			t.Fatalf("GET /states%s: a list is null: %s", query, a.lastBody)
		}
		var parts []string
		for _, c := range s.Checks {
			parts = append(parts, fmt.Sprintf("%s/%s/%s=%s", c.Host, c.Plugin, c.Check, c.State))
		}
		parts = append(parts, "|")
		for _, h := range s.Hosts {
			parts = append(parts, fmt.Sprintf("%s=%s", h.Host, h.State))
		}
		parts = append(parts, "|")
		for _, tr := range s.Trends {
			parts = append(parts, fmt.Sprintf("%s:%s=%s", tr.Rule, tr.Labels["device"], tr.State))
		}
		return strings.Join(parts, " ")
	}
	f := func(query, want string) {
		t.Helper()
		if got := get(query); got != want {
			t.Errorf("GET /states%s\n got %s\nwant %s", query, got, want)
		}
	}
	f("", "db1/bad/c=unknown db1/load/res=ok web1/load/res=critical | db1=unknown web1=critical | disk-full:sda=critical disk-full:sdb=ok")
	f("?state=major", "web1/load/res=critical | web1=critical | disk-full:sda=critical")
	f("?state=ok", "db1/load/res=ok web1/load/res=critical | web1=critical | disk-full:sda=critical disk-full:sdb=ok")
	f("?state=unknown", "db1/bad/c=unknown | db1=unknown |")
	f("?host=db1", "db1/bad/c=unknown db1/load/res=ok | db1=unknown |")
	f("?host=h1", "| | disk-full:sda=critical disk-full:sdb=ok")
	f("?plugin=load&check=res&state=minor", "web1/load/res=critical | web1=critical |")
	f("?host=nobody", "| |")

	a.fails("GET", "/states?state=fatal", a.viewer, nil, "", 400, "bad_data", `state "fatal" must be one of ok, minor, major, critical, unknown`)
	a.fails("GET", "/states", "", nil, "", 401, "unauthorized")
	a.fails("GET", "/states", "pht_wrong", nil, "", 401, "unauthorized")
	a.ok("GET", "/states", a.admin, nil, nil)

	// Without an engine the routes say so.
	plain := newTestAPI(t)
	plain.fails("GET", "/states", plain.viewer, nil, "", 503, "unavailable", "rules engine is not running")
	plain.fails("POST", "/classifier-test", plain.viewer, map[string]any{"plugin": "load"}, "", 503, "unavailable")
	plain.fails("POST", "/trend-rules/backtest", plain.viewer, map[string]any{"name": "x"}, "", 503, "unavailable")
}

func TestClassifierTestREST(t *testing.T) {
	a := newRulesAPI(t)
	for i, v := range []float64{1, 9, 9, 9, 2} {
		a.push(a.result("web1", "load", "res", i, v))
	}
	ctx := context.Background()
	before, err := a.st.Events(ctx, store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}

	type steps struct {
		Steps []rules.TestStep `json:"steps"`
	}
	show := func(s steps) string {
		var parts []string
		for _, st := range s.Steps {
			rec := "-"
			if st.Recorded != nil {
				rec = st.Recorded.String()
			}
			parts = append(parts, fmt.Sprintf("%s:%s/%s", st.Message, st.State, rec))
		}
		return strings.Join(parts, " ")
	}

	// Replay of the configured classifier reproduces what was recorded.
	var got steps
	a.ok("POST", "/classifier-test", a.viewer, map[string]any{"plugin": "load", "check": "res", "host": "web1", "last": 3}, &got)
	if s, want := show(got), "load 9:minor/minor load 9:critical/critical load 2:ok/ok"; s != want {
		t.Errorf("replay\n got %s\nwant %s", s, want)
	}
	if got.Steps[2].Time != a.now.Add(-time.Hour+4*time.Minute).UnixMilli() || got.Steps[2].Value == nil || *got.Steps[2].Value != 2 {
		t.Errorf("last step %+v, want the fifth result's time and value", got.Steps[2])
	}
	// A candidate over the same results.
	a.ok("POST", "/classifier-test", a.viewer, map[string]any{"plugin": "load", "check": "res", "host": "web1", "last": 3,
		"source": `if consecutive(values, function(v) return v > 8 end) >= 2 then return "critical" end return "ok"`}, &got)
	if s, want := show(got), "load 9:critical/minor load 9:critical/critical load 2:ok/ok"; s != want {
		t.Errorf("replay of a candidate\n got %s\nwant %s", s, want)
	}

	// A given history, newest first, with a missing value.
	got = steps{}
	a.ok("POST", "/classifier-test", a.viewer,
		`{"plugin": "load", "history": {"values": [9, 9, 9, null], "messages": ["now"], "timestamps": [1700000000000]}}`, &got)
	if len(got.Steps) != 1 || got.Steps[0].State.String() != "critical" || got.Steps[0].Message != "now" ||
		got.Steps[0].Time != 1_700_000_000_000 || got.Steps[0].Recorded != nil {
		t.Errorf("given history: %+v", got.Steps)
	}
	if !strings.Contains(a.lastBody, `"state":"critical"`) {
		t.Errorf("states are not shown by name: %s", a.lastBody)
	}
	// A classifier failing at run time: a step with the error, not a 4xx.
	got = steps{}
	a.ok("POST", "/classifier-test", a.viewer, map[string]any{"plugin": "load", "source": "return values[1] .. nil",
		"history": map[string]any{"values": []any{nil}}}, &got)
	if len(got.Steps) != 1 || got.Steps[0].State.String() != "unknown" || !strings.Contains(got.Steps[0].Error, "line 1") {
		t.Errorf("failing classifier: %+v", got.Steps)
	}

	// A candidate for a plugin not created yet.
	got = steps{}
	a.ok("POST", "/classifier-test", a.viewer, map[string]any{"plugin": "new", "source": `return "major"`,
		"history": map[string]any{"values": []any{1}}}, &got)
	if len(got.Steps) != 1 || got.Steps[0].State.String() != "major" {
		t.Errorf("candidate for a new plugin: %+v", got.Steps)
	}

	bad := func(body any, status int, errorType string, parts ...string) {
		t.Helper()
		a.fails("POST", "/classifier-test", a.viewer, body, "", status, errorType, parts...)
	}
	bad(map[string]any{"host": "web1"}, 400, "bad_data", "plugin is required")
	bad(map[string]any{"plugin": "load"}, 400, "bad_data", "give a history, or a host")
	bad(map[string]any{"plugin": "nope", "history": map[string]any{"values": []any{1}}}, 400, "bad_data", `plugin "nope" does not exist: give source`)
	bad(map[string]any{"plugin": "load", "host": "web1", "last": 5000}, 400, "bad_data", "last 5000 must be between 1 and 1000")
	bad(map[string]any{"plugin": "load", "host": "nohost"}, 400, "bad_data", `no stored results for host "nohost"`)
	bad(map[string]any{"plugin": "load", "host": "web1", "source": "return ("}, 400, "bad_data", "does not compile")
	bad(`{"plugin": "load", "hist": {}}`, 400, "bad_data", `unknown field "hist"`)
	bad(`{"plugin": "load", "history": {"values": ["x"]}}`, 400, "bad_data", "invalid JSON body")
	bad(`{"plugin": "load", "history": {"values": [1], "states": ["bad"]}}`, 400, "bad_data", `unknown state "bad"`)
	bad(`{"plugin": "load", "history": {"values": [`+strings.Repeat("1,", 1001)+`1]}}`, 400, "bad_data", "history has 1002 entries, at most 1000")
	bad(`{"plugin": "load", "source": "`+strings.Repeat("x", maxEntityBytes)+`"}`, 413, "too_large")
	a.fails("POST", "/classifier-test", "", map[string]any{"plugin": "load", "host": "web1"}, "", 401, "unauthorized")

	// Tests change nothing: no events, no new states.
	after, err := a.st.Events(ctx, store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("classifier tests added events: %d before, %d after", len(before), len(after))
	}
	if s := a.eng.States(); len(s) != 1 || s[0].State.String() != "ok" {
		t.Errorf("states after the tests: %+v", s)
	}
}

func TestBacktestREST(t *testing.T) {
	a := newRulesAPI(t)
	type change struct {
		Labels  map[string]string `json:"labels"`
		At      time.Time         `json:"at"`
		From    string            `json:"from"`
		To      string            `json:"to"`
		Explain string            `json:"explain"`
	}
	type result struct {
		Rule    string    `json:"rule"`
		From    time.Time `json:"from"`
		Until   time.Time `json:"until"`
		Step    string    `json:"step"`
		Changes []change  `json:"changes"`
	}
	from, until := a.now.Add(-5*time.Hour), a.now
	// sda reaches 100 % at the end: full within 3 h from about 2h15m into
	// the range.
	rule := map[string]any{"selector": `disk_used_percent{device=~"sd."}`, "window": "1h",
		"expr": `timeleft(window, 100) < duration("3h") ? "critical" : "ok"`}
	var got result
	a.ok("POST", "/trend-rules/backtest", a.viewer, map[string]any{"rule": rule,
		"from": from.Format(time.RFC3339), "until": until.Unix(), "step": "10m"}, &got)
	if got.Rule != "backtest" || !got.From.Equal(from) || !got.Until.Equal(until) || got.Step != "10m" {
		t.Errorf("backtest header %+v", got)
	}
	var changes []string
	for _, c := range got.Changes {
		if c.Labels["host"] != "h1" || c.Labels["__name__"] != "disk_used_percent" || c.At.Before(from) || c.At.After(until) {
			t.Errorf("change %+v: want h1's disk_used_percent within the range", c)
		}
		if c.At.Sub(from)%(10*time.Minute) != 0 {
			t.Errorf("change at %s is not on a 10m step from %s", c.At, from)
		}
		if c.Explain == "" || !strings.Contains(c.Explain, "timeleft") {
			t.Errorf("change %+v has no explanation", c)
		}
		changes = append(changes, fmt.Sprintf("%s %q>%s", c.Labels["device"], c.From, c.To))
		if c.To == "critical" && (c.At.Before(from.Add(2*time.Hour)) || c.At.After(from.Add(2*time.Hour+30*time.Minute))) {
			t.Errorf("sda critical at %s, want about 2h15m after %s", c.At, from)
		}
	}
	if want := []string{`sda "">ok`, `sda "ok">critical`, `sdb "">ok`}; !slices.Equal(changes, want) {
		t.Errorf("changes %q, want %q", changes, want)
	}
	var raw struct {
		Data struct {
			Changes []map[string]any `json:"changes"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(a.lastBody), &raw); err != nil || len(raw.Data.Changes) == 0 {
		t.Fatalf("backtest body %s: %v", a.lastBody, err)
	}
	if at, _ := raw.Data.Changes[0]["at"].(string); !strings.HasSuffix(at, "Z") {
		t.Errorf("at %q is not RFC 3339 in UTC", at)
	}

	// The saved rule, with the defaults: until now, from a week before, and
	// the rule's 10m interval as the step.
	a.ok("POST", "/trend-rules/backtest", a.viewer, map[string]any{"name": "disk-full"}, &got)
	if got.Rule != "disk-full" || got.Step != "10m" || got.Until.Sub(got.From) != 7*24*time.Hour || time.Since(got.Until) > time.Minute {
		t.Errorf("saved rule with defaults: %+v", got)
	}
	if len(got.Changes) == 0 || got.Changes[0].Labels["device"] != "sda" || got.Changes[0].From != "" {
		t.Errorf("saved rule changes %+v: want sda's first state (from \"\") first", got.Changes)
	}
	// A 1m rule over the default week widens its step to fit the limit.
	a.ok("POST", "/trend-rules/backtest", a.viewer, map[string]any{"rule": rule}, &got)
	if got.Step != "2m" {
		t.Errorf("default step for a 1m rule over a week: %s, want 2m", got.Step)
	}

	bad := func(body any, status int, errorType string, parts ...string) {
		t.Helper()
		a.fails("POST", "/trend-rules/backtest", a.viewer, body, "", status, errorType, parts...)
	}
	bad(map[string]any{"rule": rule, "name": "disk-full"}, 400, "bad_data", "either rule or name, not both")
	bad(map[string]any{"from": "1h"}, 400, "bad_data", "give a rule to test, or the name of a saved one")
	bad(map[string]any{"name": "nope"}, 404, "not_found", "nope")
	bad(map[string]any{"rule": map[string]any{"window": "1h", "expr": `"ok"`}}, 400, "bad_data", "selector is required")
	bad(map[string]any{"rule": map[string]any{"selector": "up", "expr": `"ok"`}}, 400, "bad_data", "window 0s must be more than 0s")
	bad(map[string]any{"rule": map[string]any{"selector": "up", "window": "1h"}}, 400, "bad_data", "expr is required")
	bad(map[string]any{"rule": map[string]any{"name": "r", "selector": "{", "window": "1h", "expr": `"ok"`}}, 400, "bad_data", `rule "r": selector`)
	bad(map[string]any{"rule": map[string]any{"selector": "up", "window": "1h", "expr": `"fine"`}}, 400, "bad_data", "expression", "fine")
	bad(map[string]any{"rule": map[string]any{"selector": "up", "window": "1h", "expr": `nosuch(window)`}}, 400, "bad_data", "expression", "nosuch")
	bad(map[string]any{"rule": rule, "step": "1s"}, 400, "bad_data", "steps, at most 10000")
	bad(map[string]any{"rule": rule, "step": "0s"}, 400, "bad_data", `step "0s" must be more than 0s`)
	bad(map[string]any{"rule": rule, "step": "soon"}, 400, "bad_data", "step:")
	bad(map[string]any{"rule": rule, "from": "yesterday"}, 400, "bad_data", `from: "yesterday" is neither`)
	bad(map[string]any{"rule": rule, "until": true}, 400, "bad_data", "until:")
	bad(map[string]any{"rule": rule, "from": 2000, "until": 1000}, 400, "bad_data", "is after until")
	bad(`{"rule": {"selector": "up", "window": "1h", "expr": "\"ok\"", "every": "1m"}}`, 400, "bad_data", `unknown field "every"`)
	a.fails("POST", "/trend-rules/backtest", "", map[string]any{"name": "disk-full"}, "", 401, "unauthorized")

	// Nothing was saved.
	if rs, err := a.st.TrendRules(context.Background()); err != nil || len(rs) != 1 {
		t.Errorf("trend rules after backtests: %+v, %v", rs, err)
	}
}

func TestServiceStatesAndImpactREST(t *testing.T) {
	a := newRulesAPI(t)
	a.push(a.result("web1", "load", "res", 0, 9), a.result("db1", "load", "res", 0, 1))
	a.ok("POST", "/hosts", a.admin, map[string]any{"name": "web1"}, nil)
	a.ok("POST", "/hosts", a.admin, map[string]any{"name": "db1"}, nil)
	a.ok("POST", "/services", a.admin, map[string]any{"name": "shop",
		"dependencies": []map[string]string{{"host": "db1"}, {"host": "web1"}}}, nil)
	a.ok("POST", "/services", a.admin, map[string]any{"name": "reports",
		"dependencies": []map[string]string{{"host": "db1"}}}, nil)
	a.push(a.result("web1", "load", "res", 1, 9))

	var s struct {
		Services []rules.ServiceStatus `json:"services"`
	}
	a.ok("GET", "/states", a.viewer, nil, &s)
	if len(s.Services) != 2 || s.Services[0].Service != "reports" || s.Services[0].State.String() != "ok" ||
		s.Services[1].Service != "shop" || s.Services[1].State.String() != "degraded" || !strings.Contains(s.Services[1].Reason, "web1 is minor") {
		t.Fatalf("services %+v, want shop degraded by web1's minor load", s.Services)
	}
	a.ok("GET", "/states?state=minor", a.viewer, nil, &s)
	if len(s.Services) != 1 || s.Services[0].Service != "shop" {
		t.Errorf("state=minor: %+v, want the degraded one only (degraded counts as 1)", s.Services)
	}
	a.ok("GET", "/states?host=web1", a.viewer, nil, &s)
	if len(s.Services) != 1 || s.Services[0].Service != "shop" {
		t.Errorf("host=web1: %+v, want the services web1 affects", s.Services)
	}

	var impact struct {
		Host     string   `json:"host"`
		Services []string `json:"services"`
	}
	a.ok("GET", "/hosts/db1/impact", a.viewer, nil, &impact)
	if impact.Host != "db1" || strings.Join(impact.Services, ",") != "reports,shop" {
		t.Errorf("impact of db1: %+v", impact)
	}
	a.ok("GET", "/hosts/nobody/impact", a.viewer, nil, &impact)
	if impact.Services == nil || len(impact.Services) != 0 {
		t.Errorf("impact of an unknown host: %+v, want an empty list", impact)
	}
	a.fails("GET", "/hosts/db1/impact", "", nil, "", 401, "unauthorized")
}

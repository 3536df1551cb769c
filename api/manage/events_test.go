package manage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/store"
)

func TestTrendRulesREST(t *testing.T) {
	a := newTestAPI(t)
	rule := map[string]any{"name": "disk-full", "selector": `prophasis_value{plugin="disk"}`, "window": "6h", "expr": `"ok"`}
	a.fails("POST", "/trend-rules", a.viewer, rule, "", 403, "forbidden", "role viewer")
	var got store.TrendRule
	a.ok("POST", "/trend-rules", a.admin, rule, &got)
	if got.ID == 0 || got.Window.String() != "6h" || got.Interval != 0 || got.Disabled {
		t.Fatalf("created %+v", got)
	}
	a.fails("POST", "/trend-rules", a.admin, rule, "", 409, "conflict", `"disk-full" already exists`)
	a.fails("POST", "/trend-rules", a.admin, map[string]any{"name": "x", "selector": "up", "window": "31d", "expr": "e"}, "", 400, "bad_data",
		`trend rule "x": window 4w3d must be more than 0s and at most 30d`)
	a.fails("POST", "/trend-rules", a.admin, map[string]any{"name": "x", "window": "1h", "expr": "e"}, "", 400, "bad_data", `trend rule "x": selector is required`)
	a.fails("POST", "/trend-rules", a.admin, `{"name": "x", "selector": "up", "window": "1h", "expr": "e", "every": "1m"}`, "application/json",
		400, "bad_data", `unknown field "every"`)

	var list []store.TrendRule
	a.ok("GET", "/trend-rules", a.viewer, nil, &list)
	if len(list) != 1 || list[0].Name != "disk-full" {
		t.Fatalf("list %+v", list)
	}
	a.ok("GET", "/trend-rules/disk-full", a.viewer, nil, &got)
	a.fails("PUT", "/trend-rules/disk-full", a.viewer, rule, "", 403, "forbidden")
	a.ok("PUT", "/trend-rules/disk-full", a.admin, map[string]any{"selector": "up", "window": "1h", "interval": "5m", "expr": `"ok"`, "disabled": true}, &got)
	if got.Name != "disk-full" || got.Selector != "up" || got.Interval.String() != "5m" || !got.Disabled {
		t.Fatalf("updated %+v", got)
	}
	a.fails("DELETE", "/trend-rules/disk-full", a.viewer, nil, "", 403, "forbidden")
	a.ok("DELETE", "/trend-rules/disk-full", a.admin, nil, nil)
	a.fails("GET", "/trend-rules/disk-full", a.viewer, nil, "", 404, "not_found")
}

func TestPluginAndCheckRuleFieldsREST(t *testing.T) {
	a := newTestAPI(t)
	a.ok("POST", "/hosts", a.admin, store.Host{Name: "web1"}, nil)
	a.ok("POST", "/schedules", a.admin, map[string]any{"name": "m", "intervals": []any{map[string]string{"period": "1m"}}}, nil)
	var p store.Plugin
	a.ok("POST", "/plugins", a.admin, map[string]any{"name": "load", "classifier": `return "ok"`, "history": 30}, &p)
	if p.Classifier != `return "ok"` || p.History != 30 {
		t.Fatalf("plugin %+v", p)
	}
	a.fails("POST", "/plugins", a.admin, map[string]any{"name": "x", "history": 5000}, "", 400, "bad_data", `plugin "x": history 5000 must be between 0 and 1000`)
	var c store.Check
	a.ok("POST", "/checks", a.admin, map[string]any{"name": "web", "plugins": []string{"load"}, "hosts": []string{"web1"}, "schedule": "m",
		"attempts": 3, "flapping": map[string]any{"window": 10, "start": 0.4, "stop": 0.1}, "classifiers": map[string]string{"load": `return "minor"`}}, &c)
	if c.Attempts != 3 || c.Flapping.Window != 10 || c.Classifiers["load"] != `return "minor"` {
		t.Fatalf("check %+v", c)
	}
	a.fails("PUT", "/checks/web", a.admin, map[string]any{"plugins": []string{"load"}, "schedule": "m", "classifiers": map[string]string{"disk": "x"}},
		"", 400, "bad_data", `check "web": classifiers["disk"]: "disk" is not one of the check's plugins [load]`)
	a.fails("PUT", "/checks/web", a.admin, map[string]any{"plugins": []string{"load"}, "schedule": "m", "flapping": map[string]any{"start": 0.1, "stop": 0.4}},
		"", 400, "bad_data", `check "web": flapping.start 0.1 and flapping.stop 0.4 must satisfy`)
	// A check without flapping settings leaves the key out.
	a.ok("PUT", "/checks/web", a.admin, map[string]any{"plugins": []string{"load"}, "schedule": "m"}, nil)
	if strings.Contains(a.lastBody, "flapping") || strings.Contains(a.lastBody, "classifiers") {
		t.Fatalf("empty flapping or classifiers rendered: %s", a.lastBody)
	}
}

// refuseBad is a CodeChecker refusing code that contains "BAD".
type refuseBad struct{}

func (refuseBad) CheckClassifier(_, src string) error {
	if strings.Contains(src, "BAD") {
		return errors.New("line 1: syntax error near BAD")
	}
	return nil
}

func (refuseBad) CheckTrendRule(r store.TrendRule) error {
	if strings.Contains(r.Expr, "BAD") {
		return errors.New("unknown name BAD")
	}
	return nil
}

func (refuseBad) CheckAlertCondition(src string) error {
	if strings.Contains(src, "BAD") {
		return errors.New("unknown name BAD (1:1)")
	}
	return nil
}

func (refuseBad) CheckPluginParams(_ json.RawMessage, params map[string]string) error {
	for k, v := range params {
		if strings.Contains(v, "BAD") {
			return fmt.Errorf("parameter %s: BAD is not a value", k)
		}
	}
	return nil
}

func TestCodeCheckerREST(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"), nil, store.WithCodeChecker(refuseBad{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, _, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	Register(r.Group("/manage/v1", auth.Middleware(st, auth.Options{})), Deps{Store: st})
	a := &testAPI{t: t, st: st, handler: r, admin: admin}
	a.fails("POST", "/plugins", admin, map[string]any{"name": "load", "classifier": "BAD"}, "", 400, "bad_data",
		`plugin "load": classifier: line 1: syntax error near BAD`)
	a.fails("POST", "/trend-rules", admin, map[string]any{"name": "t", "selector": "up", "window": "1h", "expr": "BAD"}, "", 400, "bad_data",
		`trend rule "t": unknown name BAD`)
	if ps, _ := st.Plugins(ctx); len(ps) != 0 {
		t.Fatalf("refused plugin stored: %+v", ps)
	}
	a.ok("POST", "/plugins", admin, map[string]any{"name": "load", "classifier": "fine"}, nil)
}

func TestEventsREST(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	evs := []store.Event{
		{Time: 1_700_000_000_000, Kind: "state", Subject: store.Subject{Kind: "check", Host: "web1", Plugin: "load", Check: "res"}, From: 0, To: 2, Reason: "load 9"},
		{Time: 1_700_000_060_000, Kind: "state", Subject: store.Subject{Kind: "host", Host: "web1"}, From: 0, To: 2},
		{Time: 1_700_000_120_000, Kind: "state", Subject: store.Subject{Kind: "trend", Rule: "disk-full", Labels: map[string]string{"mount": "/"}}, From: -1, To: 3},
		{Time: 1_700_000_180_000, Kind: "flapping_start", Subject: store.Subject{Kind: "service", Service: "shop"}, From: 1, To: 1},
	}
	if err := a.st.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	var got []store.Event
	a.ok("GET", "/events", a.viewer, nil, &got)
	if len(got) != 4 || got[0].Kind != "flapping_start" || got[3].Reason != "load 9" || got[3].Subject.Plugin != "load" {
		t.Fatalf("events %+v", got)
	}
	// Empty subject fields are left out of the JSON.
	if strings.Contains(a.lastBody, `"plugin":""`) || !strings.Contains(a.lastBody, `"labels":{"mount":"/"}`) {
		t.Fatalf("body %s", a.lastBody)
	}
	f := func(query string, wantTimes ...int64) {
		t.Helper()
		var got []store.Event
		a.ok("GET", "/events?"+query, a.viewer, nil, &got)
		if len(got) != len(wantTimes) {
			t.Fatalf("%s: %+v", query, got)
		}
		for i, e := range got {
			if e.Time != wantTimes[i] {
				t.Fatalf("%s: event %d at %d, want %d", query, i, e.Time, wantTimes[i])
			}
		}
	}
	f("host=web1", 1_700_000_060_000, 1_700_000_000_000)
	f("host=web1&subject_kind=check&plugin=load&check=res", 1_700_000_000_000)
	f("rule=disk-full", 1_700_000_120_000)
	f("service=shop", 1_700_000_180_000)
	f("since=1700000060&until=2023-11-14T22:15:20Z", 1_700_000_120_000, 1_700_000_060_000)
	f("limit=1", 1_700_000_180_000)
	f("host=nobody")

	a.fails("GET", "/events?since=yesterday", a.viewer, nil, "", 400, "bad_data", `since: "yesterday" is neither`)
	a.fails("GET", "/events?until=NaN", a.viewer, nil, "", 400, "bad_data", "until:")
	a.fails("GET", "/events?since=20&until=10", a.viewer, nil, "", 400, "bad_data", "'since' is after 'until'")
	a.fails("GET", "/events?limit=0", a.viewer, nil, "", 400, "bad_data", `limit "0" must be an integer from 1 to 10000`)
	a.fails("GET", "/events?limit=10001", a.viewer, nil, "", 400, "bad_data", "limit")
	a.fails("GET", "/events?subject_kind=group", a.viewer, nil, "", 400, "bad_data", `subject_kind "group" must be one of check, host, trend, service`)
	a.fails("GET", "/events", "", nil, "", 401, "unauthorized")
	a.fails("GET", "/events", a.agent, nil, "", 403, "forbidden")
}

func TestSystemLogREST(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	if err := a.st.AppendSystemLog(ctx, []store.LogEntry{
		{Time: 1_700_000_000_000, Level: "info", Component: "trend", Message: "loaded"},
		{Time: 1_700_000_060_000, Level: "error", Component: "classifier", Host: "web1", Plugin: "load", Check: "res", Message: "line 3: boom"},
		{Time: 1_700_000_120_000, Level: "warn", Component: "classifier", Host: "web2", Plugin: "load", Message: "slow"},
	}); err != nil {
		t.Fatal(err)
	}
	f := func(query string, wantMsgs ...string) {
		t.Helper()
		var got []store.LogEntry
		a.ok("GET", "/system-log?"+query, a.viewer, nil, &got)
		var msgs []string
		for _, e := range got {
			msgs = append(msgs, e.Message)
		}
		if strings.Join(msgs, ",") != strings.Join(wantMsgs, ",") {
			t.Fatalf("%s: %v, want %v", query, msgs, wantMsgs)
		}
	}
	f("", "slow", "line 3: boom", "loaded")
	f("level=warn", "slow", "line 3: boom")
	f("level=error", "line 3: boom")
	f("component=classifier&host=web1&plugin=load&check=res", "line 3: boom")
	f("until=1700000059", "loaded")
	f("since=2023-11-14T22:15:00Z", "slow")
	f("limit=2", "slow", "line 3: boom")
	a.fails("GET", "/system-log?level=debug", a.viewer, nil, "", 400, "bad_data", `level "debug" must be one of info, warn, error`)
	a.fails("GET", "/system-log?limit=x", a.viewer, nil, "", 400, "bad_data", `limit "x"`)
	a.fails("GET", "/system-log?since=x", a.viewer, nil, "", 400, "bad_data", "since:")
	a.fails("GET", "/system-log", a.agent, nil, "", 403, "forbidden")
	// Nothing here writes: the log is read-only over the API.
	req := httptest.NewRequest("POST", "/manage/v1/system-log", nil)
	req.Header.Set("Authorization", "Bearer "+a.admin)
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code != 404 && rec.Code != 405 {
		t.Fatalf("POST /system-log: %d", rec.Code)
	}
}

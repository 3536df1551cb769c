package manage

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/rules/alert"
	"github.com/prophasis/prophasis/store"
)

// recordingSender keeps the notices the alert manager asks for.
type recordingSender struct {
	mu      sync.Mutex
	notices []string // "module status rule/subject"
}

func (s *recordingSender) Send(module string, n alert.Notice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notices = append(s.notices, module+" "+n.Status+" "+n.ID)
}

func (s *recordingSender) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.notices...)
}

// fakeTester is a ModuleTester failing with err.
type fakeTester struct {
	err   error
	tried []string
}

func (f *fakeTester) TestModule(_ context.Context, name string) error {
	f.tried = append(f.tried, name)
	return f.err
}

// alertsAPI is the management API with a running alert manager.
type alertsAPI struct {
	*testAPI
	m      *alert.Manager
	send   *recordingSender
	tester *fakeTester
}

// newAlertsAPI starts an alert manager with rule page (to critical, through
// module mail) and the API over it and a real store.
func newAlertsAPI(t *testing.T) *alertsAPI {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"), nil)
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
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	send := &recordingSender{}
	m := alert.New(send, nil, logger, alert.Options{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := m.SetConfig(ctx, alert.Config{Rules: []alert.Rule{{Name: "page", To: []string{"critical"}, Modules: []string{"mail"}, Recovery: true}}}); err != nil {
		t.Fatal(err)
	}
	tester := &fakeTester{}
	r := gin.New()
	Register(r.Group("/manage/v1", auth.Middleware(st, auth.Options{})), Deps{Store: st, Alerts: m, ModuleTester: tester, Logger: logger})
	return &alertsAPI{testAPI: &testAPI{t: t, st: st, handler: r, admin: admin, viewer: viewer}, m: m, send: send, tester: tester}
}

var web1Load = store.Subject{Kind: "check", Host: "web1", Plugin: "load", Check: "cpu"}

func TestAlertsAndAcksREST(t *testing.T) {
	a := newAlertsAPI(t)
	ctx := context.Background()
	a.m.Events([]store.Event{
		{Time: 1, Kind: "state", Subject: web1Load, From: 0, To: 3, Reason: "load 9"},
		{Time: 1, Kind: "state", Subject: store.Subject{Kind: "host", Host: "db1"}, From: 0, To: 1},
	})
	var alerts []alert.Alert
	a.ok("GET", "/alerts", a.viewer, nil, &alerts)
	if len(alerts) != 1 || alerts[0].ID != "page/check/web1/load/cpu" || alerts[0].Status != "firing" || alerts[0].State != "critical" ||
		alerts[0].Reason != "load 9" || alerts[0].Ack != nil {
		t.Fatalf("alerts %+v", alerts)
	}
	if got := a.send.sent(); len(got) != 1 || got[0] != "mail firing page/check/web1/load/cpu" {
		t.Fatalf("notices %v", got)
	}
	filter := func(query string, want int) {
		t.Helper()
		var got []alert.Alert
		a.ok("GET", "/alerts"+query, a.viewer, nil, &got)
		if len(got) != want {
			t.Fatalf("GET /alerts%s: %d alerts, want %d", query, len(got), want)
		}
	}
	filter("?rule=page&host=web1&status=firing", 1)
	filter("?rule=other", 0)
	filter("?host=web2", 0)
	filter("?status=pending", 0)
	a.fails("GET", "/alerts?status=resolved", a.viewer, nil, "", 400, "bad_data", `status "resolved" must be one of pending, firing`)

	// Acknowledging: admins only, a comment required, bad input refused
	// with the field named and nothing stored.
	ack := map[string]any{"subject": web1Load, "comment": "rebooting", "for": "2h"}
	a.fails("POST", "/acks", a.viewer, ack, "", 403, "forbidden")
	bad := func(body any, parts ...string) {
		t.Helper()
		a.fails("POST", "/acks", a.admin, body, "", 400, "bad_data", parts...)
	}
	bad(map[string]any{"subject": web1Load}, "comment is required")
	bad(map[string]any{"subject": web1Load, "comment": "  "}, "comment is required")
	bad(map[string]any{"subject": web1Load, "comment": "x", "for": "2h", "expires": "2099-01-01T00:00:00Z"}, "either expires or for, not both")
	bad(map[string]any{"subject": web1Load, "comment": "x", "for": "soon"}, "for: duration \"soon\"")
	bad(map[string]any{"subject": web1Load, "comment": "x", "for": "400d"}, `for "400d" must be more than 0s and at most 366d`)
	bad(map[string]any{"subject": web1Load, "comment": "x", "expires": "2001-01-01T00:00:00Z"}, "expires \"2001-01-01T00:00:00Z\" must be in the future")
	bad(map[string]any{"subject": web1Load, "comment": "x", "expires": "tomorrow"}, "expires: \"tomorrow\" is neither")
	bad(map[string]any{"subject": map[string]string{"kind": "rack"}, "comment": "x"}, `subject kind "rack" must be one of check, host, trend, service`)
	bad(map[string]any{"subject": map[string]string{"kind": "check", "host": "web1"}, "comment": "x"}, "subject.plugin is required for a subject of kind check")
	bad(map[string]any{"subject": web1Load, "comment": strings.Repeat("c", 5000)}, "comment is 5000 bytes long; the limit is 4096")
	bad(map[string]any{"subject": web1Load, "comment": "x", "by": "mallory"}, `unknown field "by"`)
	if acks, _ := a.st.Acks(ctx); len(acks) != 0 {
		t.Fatalf("refused acks were stored: %+v", acks)
	}

	var saved store.Ack
	before := time.Now()
	a.ok("POST", "/acks", a.admin, ack, &saved)
	if saved.SubjectKey != "check/web1/load/cpu" || saved.By == "" || saved.Comment != "rebooting" ||
		saved.Expires < before.Add(2*time.Hour).UnixMilli() || saved.Expires > time.Now().Add(2*time.Hour).UnixMilli() {
		t.Fatalf("ack %+v", saved)
	}
	a.ok("GET", "/alerts", a.viewer, nil, &alerts)
	if len(alerts) != 1 || alerts[0].Ack == nil || alerts[0].Ack.By != saved.By || alerts[0].Ack.Comment != "rebooting" ||
		alerts[0].Ack.Expires.UnixMilli() != saved.Expires {
		t.Fatalf("the manager did not hear of the ack: %+v", alerts)
	}
	var acks []store.Ack
	a.ok("GET", "/acks", a.viewer, nil, &acks)
	if len(acks) != 1 || acks[0].SubjectKey != saved.SubjectKey || acks[0].Subject.Plugin != "load" {
		t.Fatalf("acks %+v", acks)
	}
	// An expired ack is no longer listed.
	if err := a.st.SaveAck(ctx, store.Ack{SubjectKey: "host/db1", Subject: store.Subject{Kind: "host", Host: "db1"}, At: 1, Expires: 2}); err != nil {
		t.Fatal(err)
	}
	a.ok("GET", "/acks", a.viewer, nil, &acks)
	if len(acks) != 1 {
		t.Fatalf("expired ack listed: %+v", acks)
	}

	// Unacknowledging.
	key := "subject_key=check%2Fweb1%2Fload%2Fcpu"
	a.fails("DELETE", "/acks?"+key, a.viewer, nil, "", 403, "forbidden")
	a.fails("DELETE", "/acks", a.admin, nil, "", 400, "bad_data", "the subject_key parameter is required")
	a.fails("DELETE", "/acks?subject_key=host%2Fnope", a.admin, nil, "", 404, "not_found", `no acknowledgement of "host/nope"`)
	a.ok("DELETE", "/acks?"+key, a.admin, nil, nil)
	alerts = nil // decoding into the old slice would keep the old ack
	a.ok("GET", "/alerts", a.viewer, nil, &alerts)
	if alerts[0].Ack != nil {
		t.Fatalf("still acknowledged: %+v", alerts[0])
	}
	if acks, _ := a.st.Acks(ctx); len(acks) != 1 || acks[0].SubjectKey != "host/db1" {
		t.Fatalf("store acks after delete %+v", acks)
	}
	// Recovery closes the alert and notifies.
	a.m.Events([]store.Event{{Time: 2, Kind: "state", Subject: web1Load, From: 3, To: 0}})
	a.ok("GET", "/alerts", a.viewer, nil, &alerts)
	if len(alerts) != 0 {
		t.Fatalf("alerts after recovery %+v", alerts)
	}
	if got := a.send.sent(); len(got) != 2 || got[1] != "mail resolved page/check/web1/load/cpu" {
		t.Fatalf("notices %v", got)
	}
}

func TestAlertRoutesWithoutManager(t *testing.T) {
	a := newTestAPI(t)
	a.fails("GET", "/alerts", a.viewer, nil, "", 503, "unavailable", "the alert manager is not running")
	a.fails("POST", "/acks", a.admin, map[string]any{"subject": web1Load, "comment": "x"}, "", 503, "unavailable")
	a.fails("DELETE", "/acks?subject_key=host%2Fweb1", a.admin, nil, "", 503, "unavailable")
	if acks, _ := a.st.Acks(context.Background()); len(acks) != 0 {
		t.Fatalf("acks stored without a manager: %+v", acks)
	}
	a.fails("POST", "/alert-modules/x/test", a.admin, nil, "", 503, "unavailable", "alert modules are not running")
	// Reads of the store work without the manager.
	a.ok("GET", "/acks", a.viewer, nil, nil)
	a.ok("GET", "/alert-history", a.viewer, nil, nil)
	a.ok("GET", "/notifications", a.viewer, nil, nil)
}

func TestAlertHistoryREST(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	db1 := store.Subject{Kind: "host", Host: "db1"}
	if err := a.st.AppendAlertHistory(ctx, []store.AlertRecord{
		{Time: 1_700_000_000_000, AlertID: "page/check/web1/load/cpu", Rule: "page", Subject: web1Load, Status: "firing", State: "critical", From: "ok"},
		{Time: 1_700_000_060_000, AlertID: "down/host/db1", Rule: "down", Subject: db1, Status: "pending", State: "critical", From: "ok"},
		{Time: 1_700_000_120_000, AlertID: "page/check/web1/load/cpu", Rule: "page", Subject: web1Load, Status: "resolved", State: "ok", From: "critical",
			Ack: &store.Ack{By: "ann", Comment: "done"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := a.st.AppendNotifications(ctx, []store.NotificationRecord{
		{Time: 1_700_000_000_000, AlertID: "page/check/web1/load/cpu", Rule: "page", Module: "mail", Try: 1, Status: "firing", Payload: "CRITICAL"},
		{Time: 1_700_000_001_000, AlertID: "page/check/web1/load/cpu", Rule: "page", Module: "hook", Try: 1, Status: "firing", Error: "HTTP 500", Retry: true},
	}); err != nil {
		t.Fatal(err)
	}
	var recs []store.AlertRecord
	a.ok("GET", "/alert-history", a.viewer, nil, &recs)
	if len(recs) != 3 || recs[0].Status != "resolved" || recs[0].Ack == nil || recs[0].Ack.By != "ann" {
		t.Fatalf("history %+v", recs)
	}
	f := func(query string, want int) {
		t.Helper()
		var got []json.RawMessage
		a.ok("GET", query, a.viewer, nil, &got)
		if len(got) != want {
			t.Fatalf("GET %s: %d records, want %d", query, len(got), want)
		}
	}
	f("/alert-history?host=web1", 2)
	f("/alert-history?rule=down", 1)
	f("/alert-history?alert_id=page%2Fcheck%2Fweb1%2Fload%2Fcpu&limit=1", 1)
	f("/alert-history?since=1700000060&until=2023-11-14T22:15:20Z", 2)
	f("/alert-history?since=1700000060&until=2023-11-14T22:14:20Z", 1)
	f("/notifications", 2)
	f("/notifications?module=hook", 1)
	f("/notifications?rule=page&alert_id=page%2Fcheck%2Fweb1%2Fload%2Fcpu", 2)
	f("/notifications?since=1700000000.5", 1)
	var ns []store.NotificationRecord
	a.ok("GET", "/notifications?module=hook", a.viewer, nil, &ns)
	if ns[0].Error != "HTTP 500" || !ns[0].Retry || ns[0].Try != 1 {
		t.Fatalf("notification %+v", ns[0])
	}
	for _, path := range []string{"/alert-history", "/notifications"} {
		a.fails("GET", path+"?since=yesterday", a.viewer, nil, "", 400, "bad_data", `since: "yesterday" is neither`)
		a.fails("GET", path+"?until=x", a.viewer, nil, "", 400, "bad_data", "until:")
		a.fails("GET", path+"?since=20&until=10", a.viewer, nil, "", 400, "bad_data", "'since' is after 'until'")
		a.fails("GET", path+"?limit=0", a.viewer, nil, "", 400, "bad_data", `limit "0" must be an integer from 1 to 10000`)
		a.fails("GET", path, "", nil, "", 401, "unauthorized")
	}
}

func TestSilencesREST(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	a.ok("POST", "/hosts", a.admin, store.Host{Name: "web1"}, nil)
	body := map[string]any{"name": "patch", "scope": map[string]any{"hosts": []string{"web1"}}, "comment": "kernel",
		"weekly": map[string]any{"days": []string{"sun"}, "at": "02:00", "duration": "2h", "timezone": "Europe/London"}, "created_by": "mallory"}
	a.fails("POST", "/silences", a.viewer, body, "", 403, "forbidden")
	var s store.Silence
	a.ok("POST", "/silences", a.admin, body, &s)
	if s.ID == 0 || s.CreatedBy == "mallory" || s.CreatedBy == "" || s.Weekly == nil || s.Weekly.Timezone != "Europe/London" {
		t.Fatalf("created %+v", s)
	}
	creator := s.CreatedBy
	a.fails("POST", "/silences", a.admin, body, "", 409, "conflict", `silence "patch" already exists`)
	bad := func(body string, parts ...string) {
		t.Helper()
		a.fails("POST", "/silences", a.admin, body, "application/json", 400, "bad_data", parts...)
	}
	bad(`{"name": "x", "weekly": {"days": ["sunday"], "at": "02:00", "duration": "1h"}}`, `silence "x": weekly.days: "sunday" is not one of mon`)
	bad(`{"name": "x", "weekly": {"days": ["sun"], "at": "2am", "duration": "1h"}}`, `weekly.at "2am" must be a 24-hour time HH:MM`)
	bad(`{"name": "x", "weekly": {"days": ["sun"], "at": "02:00", "duration": "8d"}}`, "weekly.duration 1w1d must be more than 0s and at most 7d")
	bad(`{"name": "x", "weekly": {"days": ["sun"], "at": "02:00", "duration": "1h", "timezone": "Nowhere/Else"}}`, `weekly.timezone "Nowhere/Else" is not a known IANA time zone`)
	bad(`{"name": "x", "start": "2026-12-01T10:00:00Z", "end": "2026-12-01T09:00:00Z"}`, "end 2026-12-01T09:00:00Z must be after start")
	bad(`{"name": "x", "start": "tomorrow", "end": "2026-12-01T09:00:00Z"}`, "invalid JSON body")
	bad(`{"name": "x", "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z", "scope": {"hosts": ["ghost"]}}`, `silence "x": unknown host "ghost"`)
	bad(`{"name": "x", "weekly": {"days": ["sun"], "at": "02:00", "duration": "1h"}, "repeat": true}`, `unknown field "repeat"`)
	bad(`{"name": "x"}`, "give start and end (a one-off silence) or weekly")

	var list []store.Silence
	a.ok("GET", "/silences", a.viewer, nil, &list)
	if len(list) != 1 || list[0].Name != "patch" {
		t.Fatalf("list %+v", list)
	}
	a.ok("GET", "/silences/patch", a.viewer, nil, &s)
	a.fails("GET", "/silences/nope", a.viewer, nil, "", 404, "not_found")
	// PUT replaces the window and keeps who created it.
	a.fails("PUT", "/silences/patch", a.viewer, body, "", 403, "forbidden")
	s = store.Silence{}
	a.ok("PUT", "/silences/patch", a.admin, map[string]any{"start": "2026-12-01T09:00:00+01:00", "end": "2026-12-01T17:00:00+01:00", "created_by": "eve"}, &s)
	if s.Weekly != nil || s.Start.Format(time.RFC3339) != "2026-12-01T08:00:00Z" || s.CreatedBy != creator || len(s.Scope.Hosts) != 0 {
		t.Fatalf("updated %+v", s)
	}
	a.fails("PUT", "/silences/nope", a.admin, map[string]any{"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T17:00:00Z"}, "", 404, "not_found")
	// Silences are part of the document.
	a.do("GET", "/export", a.viewer, nil, "")
	if !strings.Contains(a.lastBody, "silences:") || !strings.Contains(a.lastBody, "name: patch") {
		t.Fatalf("export:\n%s", a.lastBody)
	}
	a.fails("DELETE", "/silences/patch", a.viewer, nil, "", 403, "forbidden")
	a.ok("DELETE", "/silences/patch", a.admin, nil, nil)
	if list, _ := a.st.Silences(ctx); len(list) != 0 {
		t.Fatalf("after delete %+v", list)
	}
}

func TestAlertModulesREST(t *testing.T) {
	a := newAlertsAPI(t)
	ctx := context.Background()
	mod := map[string]any{"name": "ops-mail", "kind": "email", "config": map[string]any{"host": "smtp.example.org", "password": "hunter2-secret"}}
	a.fails("POST", "/alert-modules", a.viewer, mod, "", 403, "forbidden")
	var m store.AlertModule
	a.ok("POST", "/alert-modules", a.admin, mod, &m)
	noSecret := func() {
		t.Helper()
		if strings.Contains(a.lastBody, "hunter2") {
			t.Fatalf("the answer leaks the secret: %s", a.lastBody)
		}
	}
	noSecret()
	var cfg map[string]string
	if err := json.Unmarshal(m.Config, &cfg); err != nil || m.ID == 0 || cfg["password"] != store.SecretPlaceholder || cfg["host"] != "smtp.example.org" {
		t.Fatalf("created %+v %s", m, m.Config)
	}
	var list []store.AlertModule
	a.ok("GET", "/alert-modules", a.viewer, nil, &list)
	noSecret()
	if len(list) != 1 || list[0].Kind != "email" {
		t.Fatalf("list %+v", list)
	}
	a.ok("GET", "/alert-modules/ops-mail", a.viewer, nil, &m)
	noSecret()
	// Writing back the redacted form keeps the secret.
	m.Description = "on call"
	a.ok("PUT", "/alert-modules/ops-mail", a.admin, m, &m)
	noSecret()
	stored, err := a.st.AlertModule(ctx, "ops-mail")
	if err != nil || !strings.Contains(string(stored.Config), "hunter2-secret") || stored.Description != "on call" {
		t.Fatalf("stored %+v %s %v", stored, stored.Config, err)
	}
	a.fails("POST", "/alert-modules", a.admin, map[string]any{"name": "x", "kind": "pigeon"}, "", 400, "bad_data", `alert module "x": kind "pigeon" must be one of`)
	a.fails("POST", "/alert-modules", a.admin, map[string]any{"name": "x", "kind": "slack", "config": map[string]any{"url": "<secret>"}}, "", 400, "bad_data", "config.url")
	a.fails("POST", "/alert-modules", a.admin, `{"name": "x", "kind": "email", "config": [1]}`, "application/json", 400, "bad_data", "config must be a JSON object")

	// An alert rule using it: deleting it is refused; the rule must name
	// existing modules.
	a.fails("POST", "/alert-rules", a.admin, map[string]any{"name": "page", "to": []string{"critical"}, "modules": []string{"sms"}}, "", 400, "bad_data",
		`alert_rule "page": unknown alert_module "sms"`)
	a.ok("POST", "/alert-rules", a.admin, map[string]any{"name": "page", "to": []string{"critical"}, "modules": []string{"ops-mail"},
		"condition": `to == "critical"`, "escalations": []any{map[string]any{"after": "15m", "modules": []string{"ops-mail"}}}, "no_recovery": true}, nil)
	if !strings.Contains(a.lastBody, `"escalations":[{"after":"15m","modules":["ops-mail"]}]`) || !strings.Contains(a.lastBody, `"no_recovery":true`) {
		t.Fatalf("rule %s", a.lastBody)
	}
	a.fails("DELETE", "/alert-modules/ops-mail", a.admin, nil, "", 409, "conflict", "alert rule page")

	// Testing a module: admins only; a failure is a 502 with the module's
	// error, secrets scrubbed.
	a.fails("POST", "/alert-modules/ops-mail/test", a.viewer, nil, "", 403, "forbidden")
	a.fails("POST", "/alert-modules/nope/test", a.admin, nil, "", 404, "not_found")
	var res map[string]any
	a.ok("POST", "/alert-modules/ops-mail/test", a.admin, nil, &res)
	if res["sent"] != true || len(a.tester.tried) != 1 || a.tester.tried[0] != "ops-mail" {
		t.Fatalf("test answered %v, tried %v", res, a.tester.tried)
	}
	a.tester.err = errors.New("smtp: 535 authentication failed for password hunter2-secret")
	a.fails("POST", "/alert-modules/ops-mail/test", a.admin, nil, "", 502, "execution", "alert module ops-mail: smtp: 535 authentication failed", "<secret>")
	noSecret()

	a.ok("DELETE", "/alert-rules/page", a.admin, nil, nil)
	a.fails("DELETE", "/alert-modules/ops-mail", a.viewer, nil, "", 403, "forbidden")
	a.ok("DELETE", "/alert-modules/ops-mail", a.admin, nil, nil)
	a.fails("GET", "/alert-modules/ops-mail", a.viewer, nil, "", 404, "not_found")
}

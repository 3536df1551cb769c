package rules_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prophasis/prophasis/rules"
	"github.com/prophasis/prophasis/rules/alert"
	"github.com/prophasis/prophasis/rules/notify"
	"github.com/prophasis/prophasis/store"
)

// hookReceiver is a real HTTP webhook receiver that keeps what it gets.
type hookReceiver struct {
	mu     sync.Mutex
	alerts []notify.Alert
	got    chan notify.Alert
}

func newHookReceiver(t testing.TB) (*hookReceiver, *httptest.Server) {
	h := &hookReceiver{got: make(chan notify.Alert, 1024)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var a notify.Alert
		if err := json.Unmarshal(body, &a); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		h.mu.Lock()
		h.alerts = append(h.alerts, a)
		h.mu.Unlock()
		h.got <- a
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hookReceiver) next(t testing.TB) notify.Alert {
	t.Helper()
	select {
	case a := <-h.got:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook within 10 s")
	}
	return notify.Alert{}
}

func (h *hookReceiver) none(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case a := <-h.got:
		t.Fatalf("unexpected webhook: %+v", a)
	case <-time.After(d):
	}
}

// startAlerting runs Alerting over the env's engine.
func startAlerting(t testing.TB, e *env) *rules.Alerting {
	al := rules.NewAlerting(e.st, e.db, e.e, discard(), rules.AlertingOptions{URL: "https://prophasis.example"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- al.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return al
}

// TestAlertingThroughAWebhook: a result turns a check critical → the rule
// fires through a real webhook; a service built on the host fails and its
// rule fires too; an acknowledgement is kept; recovery notifies; the
// history holds the lifecycle and every attempt.
func TestAlertingThroughAWebhook(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rcv, srv := newHookReceiver(t)
	e.plugin(t, store.Plugin{Name: "disk", Kind: "exec", Entrypoint: "d", Classifier: `if values[1] > 90 then return "critical" end return "ok"`})
	if _, err := e.st.CreateAlertModule(ctx, store.AlertModule{Name: "hook", Kind: "webhook",
		Config: json.RawMessage(`{"url":"` + srv.URL + `","secret":"s3cret"}`)}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, e.st, store.Document{
		Hosts:     []store.Host{{Name: "db1", Labels: map[string]string{"env": "prod"}}},
		Schedules: []store.Schedule{{Name: "1m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}},
		Checks:    []store.Check{{Name: "res", Plugins: []string{"disk"}, Hosts: []string{"db1"}, Schedule: "1m"}},
		Services:  []store.Service{{Name: "shop", Dependencies: []store.Member{{Host: "db1"}}}},
		AlertRules: []store.AlertRule{
			{Name: "prod-critical", To: []string{"critical"}, Modules: []string{"hook"}, Scope: store.Scope{Checks: []string{"res"}},
				Condition: `subject.labels.env == "prod"`},
			{Name: "shop-down", To: []string{"failed"}, Modules: []string{"hook"}, Scope: store.Scope{Services: []string{"shop"}}},
		},
	})
	e.sync(t)
	al := startAlerting(t, e)

	e.push(t, result("db1", "disk", "res", 0, 50))
	e.push(t, result("db1", "disk", "res", 1, 97))
	got := map[string]notify.Alert{}
	for range 2 {
		a := rcv.next(t)
		got[a.Rule] = a
	}
	if a := got["prod-critical"]; a.Status != "firing" || a.State != "critical" || a.Subject.Host != "db1" ||
		!strings.Contains(a.Reason, "value 97") || a.URL == "" {
		t.Errorf("check alert %+v", a)
	}
	if a := got["shop-down"]; a.Status != "firing" || a.Subject.Service != "shop" || !strings.Contains(a.Reason, "host db1 is critical") {
		t.Errorf("service alert %+v", a)
	}

	open, err := al.Alerts(ctx)
	if err != nil || len(open) != 2 {
		t.Fatalf("open alerts %+v, %v", open, err)
	}
	key := alert.SubjectKey(store.Subject{Kind: "check", Host: "db1", Plugin: "disk", Check: "res"})
	if err := al.Acknowledge(ctx, key, alert.Ack{By: "ann", Comment: "cleaning up"}); err != nil {
		t.Fatal(err)
	}

	e.push(t, result("db1", "disk", "res", 2, 40))
	got = map[string]notify.Alert{}
	for range 2 {
		a := rcv.next(t)
		got[a.Rule] = a
	}
	if a := got["prod-critical"]; a.Status != "resolved" || a.State != "ok" || a.Ack == nil || a.Ack.By != "ann" {
		t.Errorf("check recovery %+v, want resolved and carrying ann's acknowledgement", a)
	}
	if a := got["shop-down"]; a.Status != "resolved" {
		t.Errorf("service recovery %+v", a)
	}
	rcv.none(t, 100*time.Millisecond)

	// The history: each alert opened (firing) and resolved, each
	// notification attempt with its payload.
	deadline := time.Now().Add(5 * time.Second)
	for {
		hist, err := e.st.AlertHistory(ctx, store.AlertHistoryQuery{Rule: "prod-critical"})
		if err != nil {
			t.Fatal(err)
		}
		notes, err := e.st.Notifications(ctx, store.NotificationQuery{Rule: "prod-critical"})
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) >= 2 && len(notes) == 2 {
			if hist[0].Status != "resolved" || notes[0].Module != "hook" || notes[0].Error != "" || !strings.Contains(notes[0].Payload, `"status":"resolved"`) {
				t.Errorf("history %+v\nnotifications %+v", hist[0], notes[0])
			}
			if strings.Contains(notes[0].Payload, "s3cret") {
				t.Error("the webhook secret is in the recorded payload")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history %+v, notifications %+v", hist, notes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNotificationFailuresInTheSystemLog: a module whose receiver keeps
// failing: once the retries are spent, the failure is in the system log
// with the module, rule and error; the other alerts failing the same way
// within the minute is held back.
func TestNotificationFailuresInTheSystemLog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var tries atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		http.Error(w, "receiver down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	e.plugin(t, store.Plugin{Name: "disk", Kind: "exec", Entrypoint: "d", Classifier: `if values[1] > 90 then return "critical" end return "ok"`})
	if _, err := e.st.CreateAlertModule(ctx, store.AlertModule{Name: "hook", Kind: "webhook",
		Config: json.RawMessage(`{"url":"` + srv.URL + `"}`)}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, e.st, store.Document{
		Hosts:      []store.Host{{Name: "db1"}, {Name: "db2"}},
		Schedules:  []store.Schedule{{Name: "1m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}},
		Checks:     []store.Check{{Name: "res", Plugins: []string{"disk"}, Hosts: []string{"db1", "db2"}, Schedule: "1m"}},
		AlertRules: []store.AlertRule{{Name: "page", To: []string{"critical"}, Modules: []string{"hook"}}},
	})
	e.sync(t)
	al := rules.NewAlerting(e.st, e.db, e.e, discard(), rules.AlertingOptions{
		Dispatcher: notify.DispatcherOptions{MaxAttempts: 3, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- al.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	e.push(t, result("db1", "disk", "res", 0, 97))
	e.push(t, result("db2", "disk", "res", 0, 97))
	var logs []store.LogEntry
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if logs, err = e.st.SystemLog(ctx, store.LogQuery{Component: "notify"}); err != nil {
			t.Fatal(err)
		}
		if tries.Load() == 12 && len(logs) >= 1 { // two checks and two hosts, three tries each
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d tries, system log %+v", tries.Load(), logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the recorder gathers for 100 ms
	logs, _ = e.st.SystemLog(ctx, store.LogQuery{Component: "notify"})
	if len(logs) != 1 {
		t.Fatalf("four alerts failing the same way within a minute wrote %d lines, want 1: %+v", len(logs), logs)
	}
	if l := logs[0]; l.Level != "error" || !strings.Contains(l.Message, "alert module hook: the firing notification of rule page") ||
		!strings.Contains(l.Message, "failed for good after 3 tries") || !strings.Contains(l.Message, "503") {
		t.Errorf("system log line %+v", l)
	}
}

// TestExpiredAcksLeaveTheStore: acknowledgements that expired are deleted
// from the store (at start, and every 10 minutes while running, by the same
// sweep); one still valid stays.
func TestExpiredAcksLeaveTheStore(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now()
	for _, k := range []store.Ack{
		{SubjectKey: "check/db1/disk/res", Subject: store.Subject{Kind: "check", Host: "db1", Plugin: "disk", Check: "res"},
			By: "ann", Comment: "old", At: now.Add(-2 * time.Hour).UnixMilli(), Expires: now.Add(-time.Hour).UnixMilli()},
		{SubjectKey: "host/db2", Subject: store.Subject{Kind: "host", Host: "db2"},
			By: "ann", Comment: "still on it", At: now.UnixMilli(), Expires: now.Add(time.Hour).UnixMilli()},
	} {
		if err := e.st.SaveAck(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	startAlerting(t, e)
	deadline := time.Now().Add(5 * time.Second)
	for {
		acks, err := e.st.Acks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(acks) == 1 {
			if acks[0].SubjectKey != "host/db2" {
				t.Fatalf("kept %+v, want the valid one", acks[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("acks in the store after start: %+v", acks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServicesIgnoreAcknowledgedAndMaintainedMembers: a service whose rules
// ignore acknowledged members is ok again once its failed dependency is
// acknowledged; one ignoring maintenance is ok while a silence covers the
// member, and fails again when the silence is gone.
func TestServicesIgnoreAcknowledgedAndMaintainedMembers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.plugin(t, store.Plugin{Name: "disk", Kind: "exec", Entrypoint: "d", Classifier: `if values[1] > 90 then return "critical" end return "ok"`})
	mustApply(t, e.st, store.Document{
		Hosts:     []store.Host{{Name: "db1"}, {Name: "db2"}},
		Schedules: []store.Schedule{{Name: "1m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}},
		Checks:    []store.Check{{Name: "res", Plugins: []string{"disk"}, Hosts: []string{"db1", "db2"}, Schedule: "1m"}},
		Services: []store.Service{
			{Name: "acked", Dependencies: []store.Member{{Host: "db1"}}, Rules: store.ServiceRules{IgnoreAcknowledged: true}},
			{Name: "maint", Dependencies: []store.Member{{Host: "db2"}}, Rules: store.ServiceRules{IgnoreMaintenance: true}},
		},
	})
	e.sync(t)
	al := startAlerting(t, e)
	e.push(t, result("db1", "disk", "res", 0, 97), result("db2", "disk", "res", 0, 97))
	state := func(name string) string {
		for _, s := range e.e.ServiceStates() {
			if s.Service == name {
				return s.State.String()
			}
		}
		return "missing"
	}
	if state("acked") != "failed" || state("maint") != "failed" {
		t.Fatalf("services %+v, want both failed", e.e.ServiceStates())
	}
	if err := al.Acknowledge(ctx, alert.SubjectKey(store.Subject{Kind: "host", Host: "db1"}), alert.Ack{By: "ann", Comment: "known"}); err != nil {
		t.Fatal(err)
	}
	if state("acked") != "ok" {
		t.Errorf("acked: %s after acknowledging db1, want ok", state("acked"))
	}
	if _, err := e.st.CreateSilence(ctx, store.Silence{Name: "db2-upgrade", Scope: store.Scope{Hosts: []string{"db2"}},
		Start: time.Now().Add(-time.Minute), End: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "maint ok during the silence", func() bool { return state("maint") == "ok" })
	if err := e.st.DeleteSilence(ctx, "db2-upgrade"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "maint failed after the silence", func() bool { return state("maint") == "failed" })
	if err := al.Unacknowledge(ctx, alert.SubjectKey(store.Subject{Kind: "host", Host: "db1"})); err != nil {
		t.Fatal(err)
	}
	if state("acked") != "failed" {
		t.Errorf("acked: %s after the acknowledgement was removed, want failed", state("acked"))
	}
}

// waitUntil polls cond for up to 5 s: the alerting reloads its
// configuration asynchronously when the store changes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// TestAlertingEndToEnd is issue 5's "done when" on the real binary: a
// plugin result turns a host critical → the website service goes degraded
// → the matching rules fire through each module (a real SMTP server with
// AUTH, a real Alertmanager, a webhook receiver checking the HMAC
// signature) → an acknowledgement is shown with who gave it → recovery
// notifies every module → a maintenance window suppresses the
// notifications of what it covers while the state is still recorded → the
// history holds the lifecycle and every attempt; bad alert rules and
// cyclic services are refused and the server keeps serving; an
// acknowledgement stops repeats while an unacknowledged alert repeats; no
// API answer and no log line holds the SMTP password or the webhook
// secret. It takes a little over a minute: the shortest repeat is 1m.
func TestAlertingEndToEnd(t *testing.T) {
	const (
		smtpUser = "alerts"
		smtpPass = "smtp-pa55word-7Qz"
		hookKey  = "hook-s3cret-K9w"
	)
	mailSrv := startSMTP(t, smtpUser, smtpPass)
	hook := startHook(t, hookKey)
	am := startAM(t)
	s := startServer(t, "", "--log-level", "debug")

	// Every API answer is kept, to look for secrets at the end.
	var answersMu sync.Mutex
	var answers []string
	call := func(method, path string, body any) (int, []byte) {
		t.Helper()
		var r *bytes.Reader
		ct := ""
		if body != nil {
			b, _ := json.Marshal(body)
			r, ct = bytes.NewReader(b), "application/json"
		} else {
			r = bytes.NewReader(nil)
		}
		code, resp := s.do(method, path, ct, r)
		answersMu.Lock()
		answers = append(answers, method+" "+path+": "+string(resp))
		answersMu.Unlock()
		return code, resp
	}
	mustCall := func(method, path string, body any) []byte {
		t.Helper()
		code, resp := call(method, path, body)
		if code != 200 {
			t.Fatalf("%s %s: %d %s", method, path, code, resp)
		}
		return resp
	}
	list := func(path string, out any) {
		t.Helper()
		resp := mustCall("GET", path, nil)
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(resp, &env); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, resp)
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, resp)
		}
	}

	// Configuration, through the management API.
	mustCall("POST", "/manage/v1/plugins", map[string]any{"name": "diskpct", "kind": "exec", "entrypoint": "x",
		"classifier": `if values[1] > 90 then return "critical" end return "ok"`})
	for _, h := range []string{"router", "web1", "web2"} {
		mustCall("POST", "/manage/v1/hosts", map[string]any{"name": h})
	}
	mustCall("POST", "/manage/v1/schedules", map[string]any{"name": "1m", "intervals": []map[string]any{{"period": "1m"}}})
	mustCall("POST", "/manage/v1/checks", map[string]any{"name": "res", "plugins": []string{"diskpct"},
		"hosts": []string{"router", "web1", "web2"}, "schedule": "1m"})
	mustCall("POST", "/manage/v1/services", map[string]any{"name": "website",
		"dependencies":      []map[string]any{{"host": "router"}},
		"redundancy_groups": []map[string]any{{"name": "web", "k": 1, "members": []map[string]any{{"host": "web1"}, {"host": "web2"}}}}})
	mustCall("POST", "/manage/v1/alert-modules", map[string]any{"name": "mail", "kind": "email", "config": map[string]any{
		"host": "127.0.0.1", "port": mailSrv.port, "from": "Prophasis <prophasis@example.org>", "to": []string{"oncall@example.org"},
		"username": smtpUser, "password": smtpPass, "timeout": "10s"}})
	mustCall("POST", "/manage/v1/alert-modules", map[string]any{"name": "hook", "kind": "webhook",
		"config": map[string]any{"url": hook.URL, "secret": hookKey}})
	mustCall("POST", "/manage/v1/alert-modules", map[string]any{"name": "am", "kind": "alertmanager",
		"config": map[string]any{"urls": []string{am}}})
	mustCall("POST", "/manage/v1/alert-rules", map[string]any{"name": "host-critical", "to": []string{"critical"},
		"scope": map[string]any{"hosts": []string{"router", "web1", "web2"}}, "modules": []string{"mail", "hook", "am"}, "repeat": "1m"})
	mustCall("POST", "/manage/v1/alert-rules", map[string]any{"name": "website", "to": []string{"degraded", "failed"},
		"scope": map[string]any{"services": []string{"website"}}, "modules": []string{"hook"}})

	// The module's secrets are redacted in its answers.
	for m, field := range map[string]string{"mail": "password", "hook": "secret"} {
		var mod struct {
			Config map[string]any `json:"config"`
		}
		list("/manage/v1/alert-modules/"+m, &mod)
		if mod.Config[field] != "<secret>" {
			t.Errorf("GET /alert-modules/%s: config %v, want %s shown as <secret>", m, mod.Config, field)
		}
	}

	var lastTS int64
	push := func(host string, v float64) {
		t.Helper()
		ts := time.Now().UnixMilli()
		if ts <= lastTS {
			ts = lastTS + 1
		}
		lastTS = ts
		r := wire.Result{Host: host, Plugin: "diskpct", Check: "res", Value: val(v), Duration: 0.01, Timestamp: ts,
			Message: fmt.Sprintf("disk %g%% full", v)}
		code, body := s.do("POST", "/agent/v1/results", "application/json", resultsBody(t, r))
		if code != 200 || !strings.Contains(string(body), `"accepted":1`) {
			t.Fatalf("push %s %g: %d %s", host, v, code, body)
		}
	}
	promOne := func(q, want string) bool {
		n, body := s.query(q)
		return n == 1 && strings.Contains(body, `"`+want+`"`)
	}
	type openAlert struct {
		ID      string `json:"id"`
		Rule    string `json:"rule"`
		Status  string `json:"status"`
		State   string `json:"state"`
		Subject struct {
			Kind    string `json:"kind"`
			Host    string `json:"host"`
			Plugin  string `json:"plugin"`
			Check   string `json:"check"`
			Service string `json:"service"`
		} `json:"subject"`
		Notified []string `json:"notified"`
		Repeats  int      `json:"repeats"`
		Ack      *struct {
			By      string `json:"by"`
			Comment string `json:"comment"`
		} `json:"ack"`
		Silenced string `json:"silenced"`
	}
	openAlerts := func() map[string]openAlert {
		t.Helper()
		var l []openAlert
		list("/manage/v1/alerts", &l)
		out := map[string]openAlert{}
		for _, a := range l {
			out[a.ID] = a
		}
		return out
	}
	findHook := func(pred func(hookAlert) bool) *hookAlert {
		alerts, _, _ := hook.received()
		for i := range alerts {
			if pred(alerts[i]) {
				return &alerts[i]
			}
		}
		return nil
	}
	findMail := func(pred func(email) bool) *email {
		for _, m := range mailSrv.messages() {
			if m.user != smtpUser {
				t.Fatalf("an email was sent as %q, want AUTH as %q", m.user, smtpUser)
			}
			if e := parseEmail(t, m.data); pred(e) {
				return &e
			}
		}
		return nil
	}
	amFind := func(pred func(amAlert) bool) *amAlert {
		for _, a := range amList(t, am) {
			if pred(a) {
				return &a
			}
		}
		return nil
	}

	const (
		checkWeb1 = "host-critical/check/web1/diskpct/res"
		hostWeb1  = "host-critical/host/web1"
		checkWeb2 = "host-critical/check/web2/diskpct/res"
		hostWeb2  = "host-critical/host/web2"
	)

	// Everything fine: every host at 50 %, the website ok, nothing open.
	// (Before the first results the members are unknown and the website
	// degraded, so its rule may fire and resolve here; that is not what
	// the test is about.)
	for _, h := range []string{"router", "web1", "web2"} {
		push(h, 50)
	}
	waitFor(t, "the website ok", func() bool { return promOne(`prophasis_service_state{service="website"}`, "0") })
	waitFor(t, "no open alert with every host ok", func() bool { return len(openAlerts()) == 0 })

	// web1 fills its disk: web1's check and web1 as a host go critical and
	// the website degraded.
	push("web1", 97)
	var checkHook, hostHook, siteHook *hookAlert
	waitFor(t, "webhooks for web1's check, web1 and the degraded website", func() bool {
		checkHook = findHook(func(a hookAlert) bool { return a.ID == checkWeb1 && a.Status == "firing" })
		hostHook = findHook(func(a hookAlert) bool { return a.ID == hostWeb1 && a.Status == "firing" })
		siteHook = findHook(func(a hookAlert) bool {
			return a.Rule == "website" && a.Status == "firing" && a.State == "degraded" && strings.Contains(a.Reason, "web1")
		})
		return checkHook != nil && hostHook != nil && siteHook != nil
	})
	if a := checkHook; a.Rule != "host-critical" || a.State != "critical" || a.From != "ok" || a.Subject.Kind != "check" ||
		a.Subject.Host != "web1" || a.Subject.Plugin != "diskpct" || a.Subject.Check != "res" || !strings.Contains(a.Reason, "97") {
		t.Errorf("webhook for web1's check: %+v", *a)
	}
	if a := hostHook; a.State != "critical" || a.Subject.Kind != "host" || a.Subject.Host != "web1" {
		t.Errorf("webhook for host web1: %+v", *a)
	}
	if a := siteHook; a.Subject.Kind != "service" || a.Subject.Service != "website" || a.From != "ok" {
		t.Errorf("webhook for the website: %+v", *a)
	}
	var critMail *email
	waitDiag(t, "an email about web1's check, with its graph", func() bool {
		critMail = findMail(func(e email) bool {
			return strings.HasPrefix(e.subject, "[CRITICAL] web1 res/diskpct")
		})
		return critMail != nil
	}, func() string {
		_, notes := call("GET", "/manage/v1/notifications?module=mail", nil)
		subjects := []string{}
		for _, m := range mailSrv.messages() {
			subjects = append(subjects, parseEmail(t, m.data).subject)
		}
		return fmt.Sprintf("emails received: %q; the mail module's attempts: %s", subjects, notes)
	})
	if !strings.Contains(critMail.text, "web1") || !strings.Contains(critMail.text, "critical") || !strings.Contains(critMail.text, "host-critical") {
		t.Errorf("the email's body does not name web1, critical and the rule:\n%s", critMail.text)
	}
	if critMail.pngs != 1 {
		t.Errorf("the email about web1's check has %d PNG parts, want the graph:\n%s", critMail.pngs, critMail.raw)
	}
	var amCheck *amAlert
	waitFor(t, "web1's check alert in Alertmanager", func() bool {
		amCheck = amFind(func(a amAlert) bool {
			return a.Labels["alertname"] == "host-critical" && a.Labels["host"] == "web1" && a.Labels["kind"] == "check"
		})
		return amCheck != nil
	})
	if a := amCheck; a.Labels["severity"] != "critical" || a.Labels["plugin"] != "diskpct" || a.Labels["check"] != "res" ||
		a.Status.State != "active" || !a.EndsAt.After(time.Now()) || a.Annotations["prophasis_id"] != checkWeb1 {
		t.Errorf("Alertmanager's alert: %+v", *a)
	}
	if !promOne(`prophasis_service_state{service="website"}`, "1") {
		_, body := s.query(`prophasis_service_state{service="website"}`)
		t.Errorf("prophasis_service_state of the website: %s, want 1 (degraded)", body)
	}

	// The open alerts, through the management API and Prometheus's format.
	open := openAlerts()
	for _, id := range []string{checkWeb1, hostWeb1, "website/service/website"} {
		if a, ok := open[id]; !ok || a.Status != "firing" {
			t.Errorf("GET /manage/v1/alerts: no firing %s in %+v", id, open)
		}
	}
	if a := open[checkWeb1]; !slices.Contains(a.Notified, "mail") || !slices.Contains(a.Notified, "hook") || !slices.Contains(a.Notified, "am") {
		t.Errorf("web1's check alert notified %v, want mail, hook and am", a.Notified)
	}
	var prom struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	list("/api/v1/alerts", &prom)
	seen := map[string]bool{}
	for _, a := range prom.Alerts {
		if a.State == "firing" {
			seen[a.Labels["alertname"]+"/"+a.Labels["subject"]+"/"+a.Labels["host"]+a.Labels["service"]] = true
		}
	}
	for _, want := range []string{"host-critical/check/web1", "host-critical/host/web1", "website/service/website"} {
		if !seen[want] {
			t.Errorf("GET /api/v1/alerts lacks %s: %+v", want, prom.Alerts)
		}
	}

	// Acknowledge web1's check: the alert shows who and why.
	mustCall("POST", "/manage/v1/acks", map[string]any{"subject": map[string]any{"kind": "check", "host": "web1", "plugin": "diskpct", "check": "res"},
		"comment": "cleaning /var/log"})
	var acked openAlert
	waitFor(t, "the acknowledgement on web1's check alert", func() bool {
		acked = openAlerts()[checkWeb1]
		return acked.Ack != nil
	})
	if acked.Ack.By != "admin" || acked.Ack.Comment != "cleaning /var/log" {
		t.Errorf("acknowledgement %+v, want by admin (the admin token's principal) with the comment", *acked.Ack)
	}
	if a := openAlerts()[hostWeb1]; a.Ack != nil {
		t.Errorf("host web1's alert took the check's acknowledgement: %+v", *a.Ack)
	}

	// web1 recovers: every module hears of it.
	push("web1", 40)
	var resolvedHook *hookAlert
	waitFor(t, "resolved webhooks for web1 and the website", func() bool {
		resolvedHook = findHook(func(a hookAlert) bool { return a.ID == checkWeb1 && a.Status == "resolved" })
		return resolvedHook != nil &&
			findHook(func(a hookAlert) bool { return a.ID == hostWeb1 && a.Status == "resolved" }) != nil &&
			findHook(func(a hookAlert) bool { return a.Rule == "website" && a.Status == "resolved" && a.State == "ok" }) != nil
	})
	if a := resolvedHook; a.State != "ok" || a.From != "critical" || a.Ack == nil || a.Ack.By != "admin" {
		t.Errorf("resolved webhook for web1's check: %+v, want ok from critical carrying admin's acknowledgement", *a)
	}
	waitFor(t, "a RESOLVED email about web1's check", func() bool {
		return findMail(func(e email) bool {
			return strings.HasPrefix(e.subject, "[RESOLVED] web1 res/diskpct")
		}) != nil
	})
	waitFor(t, "web1's alerts ended in Alertmanager", func() bool {
		// Alertmanager may list an ended alert until it collects it; an
		// end in the past is what counts.
		return amFind(func(a amAlert) bool {
			return a.Labels["alertname"] == "host-critical" && a.Labels["host"] == "web1" &&
				(a.Status.State == "active" || a.EndsAt.After(time.Now()))
		}) == nil
	})
	waitFor(t, "the website ok again", func() bool { return promOne(`prophasis_service_state{service="website"}`, "0") })
	waitFor(t, "no open alert after the recovery", func() bool { return len(openAlerts()) == 0 })

	// Maintenance on web2 for the next hour: its critical disk is recorded
	// and its alerts open, silenced, and nobody is told.
	start := time.Now().UTC().Truncate(time.Second)
	mustCall("POST", "/manage/v1/silences", map[string]any{"name": "web2-maintenance", "scope": map[string]any{"hosts": []string{"web2"}},
		"start": start.Format(time.RFC3339), "end": start.Add(time.Hour).Format(time.RFC3339), "comment": "replacing web2's disk"})
	var sil struct {
		CreatedBy string `json:"created_by"`
	}
	list("/manage/v1/silences/web2-maintenance", &sil)
	if sil.CreatedBy != "admin" {
		t.Errorf("the silence's created_by %q, want admin", sil.CreatedBy)
	}
	// No wait: the alerting side reloads a changed configuration before it
	// matches the next state change.
	mailsBefore := len(mailSrv.messages())
	push("web2", 97)
	waitFor(t, "web2's check critical in PromQL", func() bool {
		return promOne(`prophasis_state{host="web2",plugin="diskpct",check="res"}`, "3")
	})
	var events []struct {
		Kind string `json:"kind"`
		From int    `json:"from"`
		To   int    `json:"to"`
	}
	waitFor(t, "web2's ok → critical event", func() bool {
		list("/manage/v1/events?host=web2&plugin=diskpct&subject_kind=check", &events)
		return len(events) > 0 && events[0].Kind == "state" && events[0].From == 0 && events[0].To == 3
	})
	waitFor(t, "web2's alerts open and silenced", func() bool {
		open := openAlerts()
		return open[checkWeb2].Silenced != "" && open[hostWeb2].Silenced != ""
	})
	if a := openAlerts()[checkWeb2]; a.Silenced != "web2-maintenance" || a.State != "critical" {
		t.Errorf("web2's check alert %+v, want critical and silenced by web2-maintenance", a)
	}
	// The website is not in the silence's scope: its rule still fires.
	waitFor(t, "the website's degraded webhook naming web2", func() bool {
		return findHook(func(a hookAlert) bool {
			return a.Rule == "website" && a.Status == "firing" && a.State == "degraded" && strings.Contains(a.Reason, "web2")
		}) != nil
	})
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if a := findHook(func(a hookAlert) bool { return a.Subject.Host == "web2" }); a != nil {
			t.Fatalf("a webhook about web2 during its maintenance: %+v", *a)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, m := range mailSrv.messages()[mailsBefore:] {
		t.Errorf("an email during web2's maintenance: %s", parseEmail(t, m.data).subject)
	}
	if a := amFind(func(a amAlert) bool { return a.Labels["host"] == "web2" }); a != nil {
		t.Errorf("Alertmanager got an alert about web2 during its maintenance: %+v", *a)
	}
	var web2Notes []json.RawMessage
	list("/manage/v1/notifications?alert_id="+url.QueryEscape(checkWeb2), &web2Notes)
	if len(web2Notes) != 0 {
		t.Errorf("notification attempts for web2's silenced alert: %s", web2Notes)
	}

	// The history: web1's check alert fired, was acknowledged and resolved;
	// each module's attempts for it are recorded, without secrets.
	type histRec struct {
		AlertID  string   `json:"alert_id"`
		Status   string   `json:"status"`
		State    string   `json:"state"`
		Notified []string `json:"notified"`
		Ack      *struct {
			By string `json:"by"`
		} `json:"ack"`
	}
	var hist []histRec
	waitFor(t, "web1's check alert resolved in the history", func() bool {
		list("/manage/v1/alert-history?alert_id="+url.QueryEscape(checkWeb1), &hist)
		return len(hist) > 0 && hist[0].Status == "resolved"
	})
	steps := map[string]bool{}
	for _, h := range hist {
		steps[h.Status] = true
		if h.Ack != nil && h.Ack.By == "admin" {
			steps["acknowledged"] = true
		}
	}
	for _, want := range []string{"firing", "acknowledged", "resolved"} {
		if !steps[want] {
			t.Errorf("web1's check alert history lacks %s: %+v", want, hist)
		}
	}
	type noteRec struct {
		Module  string `json:"module"`
		Status  string `json:"status"`
		Try     int    `json:"try"`
		Error   string `json:"error"`
		Payload string `json:"payload"`
	}
	var notes []noteRec
	waitFor(t, "every module's firing and resolved attempts for web1's check", func() bool {
		list("/manage/v1/notifications?alert_id="+url.QueryEscape(checkWeb1), &notes)
		return len(notes) >= 6
	})
	got := map[string]bool{}
	for _, n := range notes {
		if n.Error != "" {
			t.Errorf("attempt %+v failed", n)
		}
		if n.Payload == "" {
			t.Errorf("attempt %s/%s has no payload", n.Module, n.Status)
		}
		got[n.Module+"/"+n.Status] = true
	}
	for _, m := range []string{"mail", "hook", "am"} {
		for _, st := range []string{"firing", "resolved"} {
			if !got[m+"/"+st] {
				t.Errorf("no %s attempt through %s for web1's check: %+v", st, m, notes)
			}
		}
	}
	var byModule []noteRec
	list("/manage/v1/notifications?module=mail", &byModule)
	if len(byModule) < 2 {
		t.Errorf("GET /notifications?module=mail: %+v", byModule)
	}

	// Bad input: a rule naming a module that does not exist, a cyclic
	// service. Both refused, naming what is wrong; the server keeps serving.
	code, body := call("POST", "/manage/v1/alert-rules", map[string]any{"name": "ghost", "to": []string{"critical"},
		"modules": []string{"no-such-module"}})
	if code != 400 || !strings.Contains(string(body), "no-such-module") {
		t.Errorf("an alert rule naming a missing module: %d %s, want 400 naming it", code, body)
	}
	mustCall("POST", "/manage/v1/services", map[string]any{"name": "cyc-a"})
	mustCall("POST", "/manage/v1/services", map[string]any{"name": "cyc-b", "dependencies": []map[string]any{{"service": "cyc-a"}}})
	code, body = call("PUT", "/manage/v1/services/cyc-a", map[string]any{"name": "cyc-a", "dependencies": []map[string]any{{"service": "cyc-b"}}})
	if code < 400 || code > 499 || !strings.Contains(string(body), "cycle") || !strings.Contains(string(body), "cyc-a") ||
		!strings.Contains(string(body), "cyc-b") {
		t.Errorf("a cyclic service: %d %s, want 4xx naming the cycle", code, body)
	}
	var cyc struct {
		Dependencies []json.RawMessage `json:"dependencies"`
	}
	list("/manage/v1/services/cyc-a", &cyc)
	if len(cyc.Dependencies) != 0 {
		t.Errorf("the refused change was written: cyc-a depends on %s", cyc.Dependencies)
	}
	if _, rules := call("GET", "/manage/v1/alert-rules/ghost", nil); !strings.Contains(string(rules), "not_found") {
		t.Errorf("the refused rule was written: %s", rules)
	}
	push("router", 50)
	if !promOne(`prophasis_state{host="web2",plugin="diskpct",check="res"}`, "3") {
		t.Error("the server stopped answering queries after bad input")
	}

	// An acknowledgement stops repeats: web1 fills its disk again and the
	// rule repeats every minute; its check is acknowledged, web1 as a host
	// is not, so a minute later the host's alert repeats and the check's
	// does not. (Results keep coming meanwhile, as an agent's would, so
	// nothing goes stale.)
	push("web1", 98)
	waitFor(t, "web1's check alert firing again", func() bool { return openAlerts()[checkWeb1].Status == "firing" })
	mustCall("POST", "/manage/v1/acks", map[string]any{"subject": map[string]any{"kind": "check", "host": "web1", "plugin": "diskpct", "check": "res"},
		"comment": "on it", "for": "2h"})
	waitFor(t, "the second acknowledgement", func() bool { a := openAlerts()[checkWeb1]; return a.Ack != nil && a.Ack.Comment == "on it" })
	repeated := func(id string) *hookAlert {
		return findHook(func(a hookAlert) bool { return a.ID == id && a.Status == "firing" && a.Repeat > 0 })
	}
	deadline = time.Now().Add(90 * time.Second)
	lastPush := time.Now()
	for repeated(hostWeb1) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("host web1's unacknowledged alert did not repeat within 90 s of a 1m repeat; open alerts %+v", openAlerts())
		}
		if time.Since(lastPush) > 10*time.Second {
			push("router", 50)
			push("web1", 98)
			push("web2", 97)
			lastPush = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the check's repeat was due at the same moment
	if a := repeated(checkWeb1); a != nil {
		t.Errorf("web1's acknowledged check alert repeated: %+v", *a)
	}
	if a := openAlerts()[checkWeb1]; a.Repeats != 0 {
		t.Errorf("web1's acknowledged check alert counts %d repeats", a.Repeats)
	}

	// web2 stayed silenced throughout, repeats included: no module ever
	// heard of it.
	if a := findHook(func(a hookAlert) bool { return a.Subject.Host == "web2" }); a != nil {
		t.Errorf("a webhook about web2 during its maintenance: %+v", *a)
	}
	if e := findMail(func(e email) bool { return strings.Contains(e.subject, "web2") }); e != nil {
		t.Errorf("an email about web2 during its maintenance: %s", e.subject)
	}
	if a := amFind(func(a amAlert) bool { return a.Labels["host"] == "web2" }); a != nil {
		t.Errorf("Alertmanager got an alert about web2 during its maintenance: %+v", *a)
	}

	// No secret anywhere: every answer of this test, the pages that could
	// hold one, what the receivers got, the server log.
	for _, p := range []string{"/manage/v1/alert-modules", "/manage/v1/alert-modules/mail", "/manage/v1/alert-modules/hook",
		"/manage/v1/alert-history", "/manage/v1/notifications", "/manage/v1/alerts", "/manage/v1/acks", "/manage/v1/events",
		"/manage/v1/system-log", "/manage/v1/export", "/api/v1/alerts", "/api/v1/rules", "/metrics"} {
		call("GET", p, nil)
	}
	_, bodies, bad := hook.received()
	if len(bad) > 0 {
		t.Errorf("the webhook receiver refused requests: %q", bad)
	}
	places := map[string][]string{"API answer": answers, "webhook body": bodies, "server log": strings.Split(s.Log(), "\n")}
	for _, m := range mailSrv.messages() {
		places["email"] = append(places["email"], string(m.data))
	}
	for where, texts := range places {
		for _, txt := range texts {
			for _, secret := range []string{smtpPass, hookKey} {
				if strings.Contains(txt, secret) {
					t.Errorf("a secret in a %s: %s", where, txt)
				}
			}
		}
	}
}

// waitDiag is waitFor that says, when it times out, what diag finds.
func waitDiag(t *testing.T, what string, cond func() bool, diag func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; %s", what, diag())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

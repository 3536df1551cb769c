package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/store"
	"gopkg.in/yaml.v3"
)

// testAlert is a firing check alert with everything set.
func testAlert() Alert {
	t0 := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	return Alert{
		ID: "disk-full/check/web1/disk/res", Rule: "disk-full", Status: StatusFiring,
		State: "critical", From: "ok",
		Subject: store.Subject{Kind: "check", Host: "web1", Plugin: "res", Check: "disk", Labels: map[string]string{"env": "prod"}},
		Since:   t0, Time: t0.Add(time.Minute), Reason: "disk 97% full", URL: "https://prophasis.example.org/hosts/web1",
	}
}

func TestTitle(t *testing.T) {
	f := func(mod func(*Alert), want string) {
		t.Helper()
		a := testAlert()
		mod(&a)
		if got := a.Title(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	f(func(*Alert) {}, "[CRITICAL] web1 disk/res: ok → critical")
	f(func(a *Alert) { a.Status, a.State, a.From = StatusResolved, "ok", "critical" }, "[RESOLVED] web1 disk/res: critical → ok")
	f(func(a *Alert) { a.Subject = store.Subject{Kind: "host", Host: "web1"}; a.State = "unknown" }, "[UNKNOWN] web1: ok → unknown")
	f(func(a *Alert) { a.Subject = store.Subject{Kind: "service", Service: "website"}; a.State = "failed" }, "[FAILED] service website: ok → failed")
	f(func(a *Alert) { a.Subject = store.Subject{Kind: "trend", Rule: "fills", Host: "db1"} }, "[CRITICAL] trend fills db1: ok → critical")
	f(func(a *Alert) { a.Test = true }, "[TEST] [CRITICAL] web1 disk/res: ok → critical")
}

func TestAlertJSON(t *testing.T) {
	a := testAlert()
	a.Graph = &Graph{Title: "not sent"}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"disk-full/check/web1/disk/res","rule":"disk-full","status":"firing","state":"critical","from":"ok",` +
		`"subject":{"kind":"check","host":"web1","plugin":"res","check":"disk","labels":{"env":"prod"}},` +
		`"since":"2026-11-21T01:00:00Z","time":"2026-11-21T01:01:00Z","reason":"disk 97% full","repeat":0,"escalation":0,` +
		`"url":"https://prophasis.example.org/hosts/web1"}`
	if string(b) != want {
		t.Fatalf("JSON (the documented webhook schema) changed:\n got %s\nwant %s", b, want)
	}
}

func TestSecretNeverShows(t *testing.T) {
	c := EmailConfig{Host: "smtp.example.org", From: "a@example.org", To: []string{"b@example.org"}, Username: "u", Password: "hunter2"}
	j, _ := json.Marshal(c)
	y, _ := yaml.Marshal(c)
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q %x", c, c, c, c.Password, c.Password, c.Password), string(j), string(y),
	} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "68756e74657232") {
			t.Fatalf("secret shown: %s", s)
		}
	}
	if !strings.Contains(string(j), `"password":"\u003csecret\u003e"`) && !strings.Contains(string(j), `"password":"<secret>"`) {
		t.Fatalf("JSON lacks the placeholder: %s", j)
	}
	// Decoding still reads the value.
	var back EmailConfig
	if err := json.Unmarshal([]byte(`{"password":"pw"}`), &back); err != nil || back.Password != "pw" {
		t.Fatalf("decode: %v %q", err, string(back.Password))
	}
	if Secret("").String() != "" {
		t.Fatal("an empty secret must show as empty")
	}
}

// TestNew covers the registry and, through it, each kind's validation:
// bad settings give clear errors that quote no secret.
func TestNew(t *testing.T) {
	ok := func(kind, config string) {
		t.Helper()
		n, err := New(store.AlertModule{Name: "m", Kind: kind, Config: json.RawMessage(config)})
		if err != nil || n == nil {
			t.Fatalf("%s %s: %v", kind, config, err)
		}
		if err := (Checker{}).CheckAlertModule(store.AlertModule{Name: "m", Kind: kind, Config: json.RawMessage(config)}); err != nil {
			t.Fatalf("Checker refused what New accepted: %v", err)
		}
	}
	bad := func(kind, config, want string) {
		t.Helper()
		_, err := New(store.AlertModule{Name: "m", Kind: kind, Config: json.RawMessage(config)})
		if err == nil {
			t.Fatalf("%s %s: no error, want %q", kind, config, want)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%s %s: error %q does not mention %q", kind, config, err, want)
		}
		for _, secret := range []string{"hunter2", "s3cr3t", "T000/B000/XXXX", "tok3n"} {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q quotes a secret", err)
			}
		}
	}
	ok("email", `{"host":"smtp.example.org","from":"Prophasis <p@example.org>","to":["ops@example.org"],"username":"u","password":"hunter2"}`)
	ok("email", `{"host":"127.0.0.1","port":2525,"from":"p@example.org","to":["a@example.org","B <b@example.org>"],"starttls":"never","timeout":"5s"}`)
	ok("webhook", `{"url":"https://hooks.example.org/in?token=tok3n","secret":"s3cr3t","headers":{"Authorization":"Bearer tok3n"}}`)
	ok("slack", `{"url":"https://hooks.slack.com/services/T000/B000/XXXX","channel":"#ops"}`)
	ok("command", `{"path":"/usr/local/bin/sms","args":["--to","+44"],"env":["PATH","SMS_KEY"],"timeout":"1m"}`)
	ok("alertmanager", `{"urls":["http://127.0.0.1:9093","http://am2:9093/prefix"],"bearer_token":"tok3n","hold":"2h"}`)

	bad("pager", `{}`, `unknown module kind "pager"`)
	bad("email", `{}`, "host is required")
	bad("email", `{"host":"h","from":"p@example.org","to":[]}`, "to: at least one recipient")
	bad("email", `{"host":"h","from":"not an address","to":["a@example.org"]}`, `from "not an address" is not an email address`)
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"starttls":"maybe"}`, `starttls "maybe" must be one of auto, always, never`)
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"password":"hunter2"}`, "password needs a username")
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"pasword":"hunter2"}`, `unknown field "pasword"`)
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"port":70000}`, "port 70000")
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"timeout":"1h"}`, "timeout 1h must be between 0s (the default, 30s) and 5m")
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"ca_file":"/nonexistent.pem"}`, "ca_file")
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"ca_file":"/dev/zero"}`, "ca_file /dev/zero must be a regular file")
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"ca_file":"/proc/self/status"}`, "must be a regular file of 1 to")
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"ca_file":"ca.pem"}`, `ca_file "ca.pem" must be an absolute path`)
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"ca_file":"/etc/hostname"}`, "holds no PEM certificate")
	bad("email", `{"host":"h","from":"p@example.org","to":["a@example.org"],"username":"u","password":"<secret>"}`, "placeholder")
	bad("email", `{"host":"h"} {}`, "unexpected data after the JSON object")
	bad("webhook", `{"url":"ftp://x/s3cr3t"}`, "url must be an absolute http:// or https:// URL")
	bad("webhook", `{}`, "url is required")
	bad("webhook", `{"url":"https://x/","headers":{"Content-Type":"text/plain"}}`, "Content-Type is set by the webhook itself")
	bad("webhook", `{"url":"https://x/","headers":{"X-A":"tok3n\r\nX-B: 1"}}`, "the value of X-A is not a valid header value")
	bad("webhook", `{"url":"https://x/","headers":{"Bad Name":"1"}}`, `"Bad Name" is not a valid header name`)
	bad("webhook", `{"url":"https://x/","secret":123}`, "cannot unmarshal number")
	bad("slack", `{"url":"hooks.slack.com/services/T000/B000/XXXX"}`, "url must be an absolute")
	bad("slack", `{"url":"<secret>"}`, "placeholder")
	bad("command", `{"path":"sms"}`, `path "sms" must be absolute`)
	bad("command", `{"path":"/bin/sms","env":["A-B"]}`, `env: "A-B" is not an environment variable name`)
	bad("command", `{"path":"/bin/sms","env":["PROPHASIS_ALERT_ID"]}`, "set by the command module itself")
	bad("alertmanager", `{}`, "urls: at least one Alertmanager URL is required")
	bad("alertmanager", `{"urls":["http://am:9093"],"username":"u","password":"hunter2","bearer_token":"tok3n"}`, "either username and password or bearer_token")
	bad("alertmanager", `{"urls":["http://am:9093"],"hold":"10s"}`, "hold 10s must be 0s (the default, 1d) or between 1m and 4w2d")
}

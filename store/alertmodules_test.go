package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestAlertModuleCRUD(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	changed := st.ConfigChanged()
	m := must[AlertModule](t)(st.CreateAlertModule(ctx, AlertModule{
		Name: "ops-mail", Description: "the on-call list", Kind: "email",
		Config: json.RawMessage(`{ "host": "smtp.example.org", "password": "hunter2" }`),
	}))
	if m.ID == 0 || m.CreatedAt.IsZero() || string(m.Config) != `{"host":"smtp.example.org","password":"hunter2"}` {
		t.Fatalf("created %+v (config %s)", m, m.Config)
	}
	select {
	case <-changed:
	default:
		t.Fatal("creating an alert module did not wake ConfigChanged's watchers")
	}
	_, err := st.CreateAlertModule(ctx, AlertModule{Name: "ops-mail", Kind: "email"})
	wantErr(t, err, ErrConflict, `alert_module "ops-mail" already exists`)

	// No config at all is the empty object.
	hook := must[AlertModule](t)(st.CreateAlertModule(ctx, AlertModule{Name: "hook", Kind: "command"}))
	if string(hook.Config) != `{}` {
		t.Fatalf("absent config stored as %s", hook.Config)
	}

	// Reading, changing the description and writing back the redacted
	// form keeps the password.
	red := must[AlertModule](t)(st.AlertModule(ctx, "ops-mail")).Redacted()
	red.Description = "night shift"
	up := must[AlertModule](t)(st.UpdateAlertModule(ctx, "ops-mail", red))
	if up.Description != "night shift" || !strings.Contains(string(up.Config), `"password":"hunter2"`) {
		t.Fatalf("update with the placeholder lost the secret: %s", up.Config)
	}
	// A new secret replaces it.
	up = must[AlertModule](t)(st.UpdateAlertModule(ctx, "ops-mail", AlertModule{Kind: "email",
		Config: json.RawMessage(`{"host":"smtp.example.org","password":"correct horse"}`)}))
	if !strings.Contains(string(up.Config), `"password":"correct horse"`) || up.Description != "" {
		t.Fatalf("updated %+v %s", up, up.Config)
	}
	// The placeholder with nothing to keep (a new kind) is refused.
	_, err = st.UpdateAlertModule(ctx, "ops-mail", AlertModule{Kind: "alertmanager",
		Config: json.RawMessage(`{"password":"<secret>"}`)})
	wantErr(t, err, ErrInvalid, `config.password`, `send the secret itself`)
	_, err = st.CreateAlertModule(ctx, AlertModule{Name: "x", Kind: "slack", Config: json.RawMessage(`{"url":"<secret>"}`)})
	wantErr(t, err, ErrInvalid, `alert module "x": config.url`)

	// Rename while unused; list sorted.
	must[AlertModule](t)(st.UpdateAlertModule(ctx, "ops-mail", AlertModule{Name: "mail", Kind: "email"}))
	list := must[[]AlertModule](t)(st.AlertModules(ctx))
	if len(list) != 2 || list[0].Name != "hook" || list[1].Name != "mail" {
		t.Fatalf("list %+v", list)
	}
	_, err = st.AlertModule(ctx, "ops-mail")
	wantErr(t, err, ErrNotFound, `alert_module "ops-mail" not found`)
	_, err = st.UpdateAlertModule(ctx, "nope", AlertModule{Kind: "email"})
	wantErr(t, err, ErrNotFound)

	// A module an alert rule names can be neither renamed nor deleted.
	must[AlertRule](t)(st.CreateAlertRule(ctx, AlertRule{Name: "page", To: []string{"critical"}, Modules: []string{"mail"}}))
	_, err = st.UpdateAlertModule(ctx, "mail", AlertModule{Name: "mail2", Kind: "email"})
	wantErr(t, err, ErrConflict, `cannot rename alert module "mail"`, "alert rule page")
	wantErr(t, st.DeleteAlertModule(ctx, "mail"), ErrConflict, "still used by alert rule page")
	if err := st.DeleteAlertRule(ctx, "page"); err != nil {
		t.Fatal(err)
	}
	// Named only by an escalation step counts too.
	must[AlertModule](t)(st.CreateAlertModule(ctx, AlertModule{Name: "pager", Kind: "command"}))
	must[AlertRule](t)(st.CreateAlertRule(ctx, AlertRule{Name: "later", To: []string{"critical"}, Modules: []string{"pager"},
		Escalations: []Escalation{{After: Duration(time.Hour), Modules: []string{"mail"}}}}))
	wantErr(t, st.DeleteAlertModule(ctx, "mail"), ErrConflict, "still used by alert rule later")
	_, err = st.UpdateAlertModule(ctx, "mail", AlertModule{Name: "mail2", Kind: "email"})
	wantErr(t, err, ErrConflict, "alert rule later")
	if err := st.DeleteAlertRule(ctx, "later"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteAlertModule(ctx, "mail"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, st.DeleteAlertModule(ctx, "mail"), ErrNotFound)
}

func TestAlertModuleValidation(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	f := func(m AlertModule, parts ...string) {
		t.Helper()
		_, err := st.CreateAlertModule(ctx, m)
		wantErr(t, err, ErrInvalid, parts...)
	}
	f(AlertModule{Kind: "email"}, "alert module: name is required")
	f(AlertModule{Name: "a b", Kind: "email"}, "name must match")
	f(AlertModule{Name: "m", Kind: "pager"}, `kind "pager" must be one of email, webhook, slack, command, alertmanager`)
	f(AlertModule{Name: "m", Kind: "email", Config: json.RawMessage(`[1]`)}, "config must be a JSON object")
	f(AlertModule{Name: "m", Kind: "email", Config: json.RawMessage(`{"password":`)}, "config must be a JSON object")
	f(AlertModule{Name: "m", Kind: "email", Description: strings.Repeat("x", 2000)}, "description is 2000 bytes")
	big := `{"to":"` + strings.Repeat("x", MaxAlertModuleConfigBytes) + `"}`
	f(AlertModule{Name: "m", Kind: "email", Config: json.RawMessage(big)}, "config is 65545 bytes; the limit is 65536")
	f(AlertModule{Name: "m", Kind: "webhook", Config: json.RawMessage(`{"headers":{"Authorization":"\u003csecret\u003e"}}`)},
		"config.headers")
	if list := must[[]AlertModule](t)(st.AlertModules(ctx)); len(list) != 0 {
		t.Fatalf("refused modules were stored: %+v", list)
	}
}

func TestAlertModuleRedacted(t *testing.T) {
	f := func(kind, config, want string) {
		t.Helper()
		m := AlertModule{Name: "m", Kind: kind, Config: json.RawMessage(config)}
		got := m.Redacted()
		if string(got.Config) != want {
			t.Fatalf("Redacted(%s %s)\n got %s\nwant %s", kind, config, got.Config, want)
		}
		if string(m.Config) != config {
			t.Fatalf("Redacted changed its receiver's config to %s", m.Config)
		}
	}
	f("email", `{"host":"h","password":"pw","username":"u"}`, `{"host":"h","password":"<secret>","username":"u"}`)
	f("email", `{"host":"h","password":""}`, `{"host":"h","password":""}`) // unset stays visibly unset
	f("webhook", `{"url":"https://x/","secret":"k","headers":{"Authorization":"Bearer t","X-A":"b"}}`,
		`{"headers":{"Authorization":"<secret>","X-A":"<secret>"},"secret":"<secret>","url":"https://x/"}`)
	f("slack", `{"url":"https://hooks.slack.com/services/T/B/X","channel":"#ops"}`, `{"channel":"#ops","url":"<secret>"}`)
	f("alertmanager", `{"urls":["http://am:9093"],"password":"p","bearer_token":"t"}`,
		`{"bearer_token":"<secret>","password":"<secret>","urls":["http://am:9093"]}`)
	f("alertmanager", `{"password":123}`, `{"password":"<secret>"}`)
	f("command", `{"path":"/bin/sms"}`, `{"path":"/bin/sms"}`)
	f("email", `not json`, `{}`)
	f("email", ``, `{}`)

	// String, %v, %+v and slog never show the password.
	m := AlertModule{Name: "m", Kind: "email", Config: json.RawMessage(`{"password":"hunter2"}`)}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("saved", "module", m)
	for _, s := range []string{m.String(), fmt.Sprintf("%v", m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m), buf.String()} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "104, 117, 110") || strings.Contains(s, "0x68, 0x75") {
			t.Fatalf("secret shown: %s", s)
		}
	}
	if !strings.Contains(buf.String(), `\"password\":\"<secret>\"`) {
		t.Fatalf("log line lacks the redacted config: %s", buf.String())
	}
}

func TestAlertModuleMergeHeaders(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	must[AlertModule](t)(st.CreateAlertModule(ctx, AlertModule{Name: "w", Kind: "webhook",
		Config: json.RawMessage(`{"url":"https://x/","secret":"k1","headers":{"Authorization":"Bearer t","X-Team":"ops"}}`)}))
	// Keep Authorization, change X-Team, add X-New, keep the HMAC key.
	up := must[AlertModule](t)(st.UpdateAlertModule(ctx, "w", AlertModule{Kind: "webhook",
		Config: json.RawMessage(`{"url":"https://x/","secret":"<secret>","headers":{"Authorization":"<secret>","X-Team":"dev","X-New":"1"}}`)}))
	want := `{"headers":{"Authorization":"Bearer t","X-New":"1","X-Team":"dev"},"secret":"k1","url":"https://x/"}`
	if string(up.Config) != want {
		t.Fatalf("merged\n got %s\nwant %s", up.Config, want)
	}
	// A placeholder for a header that was never stored is refused.
	_, err := st.UpdateAlertModule(ctx, "w", AlertModule{Kind: "webhook",
		Config: json.RawMessage(`{"url":"https://x/","headers":{"X-Other":"<secret>"}}`)})
	wantErr(t, err, ErrInvalid, "config.headers")
}

// refuseChecker is a ModuleChecker that rejects configs naming "bad".
type refuseChecker struct{ calls int }

var errBadModule = errors.New("host is required")

func (c *refuseChecker) CheckAlertModule(m AlertModule) error {
	c.calls++
	if bytes.Contains(m.Config, []byte("bad")) {
		return errBadModule
	}
	return nil
}

func TestAlertModuleChecker(t *testing.T) {
	c := &refuseChecker{}
	s, err := Open(context.Background(), testDSN(t), nil, WithModuleChecker(c))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	_, err = s.CreateAlertModule(ctx, AlertModule{Name: "m", Kind: "email", Config: json.RawMessage(`{"x":"bad"}`)})
	wantErr(t, err, ErrInvalid, `alert module "m": config: host is required`)
	if !errors.Is(err, errBadModule) {
		t.Fatalf("%v does not wrap the checker's error", err)
	}
	must[AlertModule](t)(s.CreateAlertModule(ctx, AlertModule{Name: "m", Kind: "email", Config: json.RawMessage(`{"x":"good"}`)}))
	_, err = s.UpdateAlertModule(ctx, "m", AlertModule{Kind: "email", Config: json.RawMessage(`{"x":"bad"}`)})
	wantErr(t, err, ErrInvalid, "host is required")
	if got := must[AlertModule](t)(s.AlertModule(ctx, "m")); string(got.Config) != `{"x":"good"}` {
		t.Fatalf("a refused update was written: %s", got.Config)
	}
	if c.calls != 3 {
		t.Fatalf("checker called %d times, want 3", c.calls)
	}
}

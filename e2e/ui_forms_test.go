package e2e

// Browser tests of the forms for alert modules and plugins
// (frontend/src/pages/moduleform.tsx, pluginform.tsx) and of a service's
// rules in its form: real Chromium, the real server binary, a real webhook
// receiver and a real agent running a Debian Nagios plugin.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// formHook is a webhook receiver on 127.0.0.1 that accepts a request only
// with the module's HMAC signature and a header's value (both secrets of
// the module), and keeps the rule of each alert it accepts.
type formHook struct {
	URL string

	mu     sync.Mutex
	rules  []string
	bodies []string
	bad    []string
}

func startFormHook(t *testing.T, secret, header, value string) *formHook {
	t.Helper()
	h := &formHook{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		var a struct{ Rule string }
		why := ""
		switch {
		case !hmac.Equal([]byte(r.Header.Get("X-Prophasis-Signature")), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))):
			why = "bad signature"
		case r.Header.Get(header) != value:
			why = header + " is " + r.Header.Get(header)
		case json.Unmarshal(body, &a) != nil:
			why = "not JSON"
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if why != "" {
			h.bad = append(h.bad, why)
			http.Error(w, why, http.StatusBadRequest)
			return
		}
		h.rules = append(h.rules, a.Rule)
		h.bodies = append(h.bodies, string(body))
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

func (h *formHook) received() (rules, bodies, bad []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.rules...), append([]string(nil), h.bodies...), append([]string(nil), h.bad...)
}

// TestUIFormsAlertModule: an admin makes a webhook module with its form. A
// bad URL is refused with the server's reason beside the URL field; with a
// receiver's URL, a signing secret and a token header, "Save and send a
// test" delivers a test notification the receiver accepts only with both.
// The secrets are never shown again; an edit that leaves them alone keeps
// them (the list's "Send a test" is still accepted). An email module's port error shows
// beside the port.
func TestUIFormsAlertModule(t *testing.T) {
	const secret, token = "form-hook-secret-42", "form-token-77"
	srv := startUIServer(t)
	hook := startFormHook(t, secret, "X-Token", token)
	ctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(ctx, srv.URL+"/config/alert-modules", srv.Admin)

	clickText(ctx, "button", "New")
	waitVisible(ctx, "#module-url")
	if k := evalJS[string](ctx, `document.querySelector('#module-kind').value`); k != "webhook" {
		t.Errorf("a new module's kind is %q, want webhook", k)
	}
	typeText(ctx, "#module-name", "hook")
	typeText(ctx, "#module-url", "not-a-url")
	typeText(ctx, "#module-secret", secret)
	clickText(ctx, "button", "Add a header")
	typeText(ctx, "#module-header-0-name", "X-Token")
	typeText(ctx, "#module-header-0-value", token)
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the server's reason beside the URL",
		`document.querySelector('#module-url')?.getAttribute('aria-invalid') === 'true' && document.querySelector('#module-url').parentElement.querySelector('.field-error')?.textContent.includes('url must be an absolute')`, 15*time.Second)
	screenshot(ctx, "webhook-refused")
	if code, _ := srv.do("GET", "/manage/v1/alert-modules/hook", "", nil); code != 404 {
		t.Fatalf("a refused module was stored: GET answers %d", code)
	}

	setField(ctx, "#module-url", hook.URL+"/prophasis")
	clickText(ctx, "button", "Save and send a test")
	waitJS(ctx, "the test's outcome", `document.querySelector('.test-result')?.textContent.includes('Sent')`, 20*time.Second)
	rules, bodies, bad := hook.received()
	if len(bad) > 0 {
		t.Fatalf("the receiver refused requests: %v", bad)
	}
	if len(rules) != 1 || rules[0] != "prophasis-test" {
		t.Fatalf("the receiver got %d alerts (rules %v), want the one test", len(rules), rules)
	}
	for _, b := range bodies {
		if strings.Contains(b, secret) || strings.Contains(b, token) {
			t.Error("the webhook's body holds a secret")
		}
	}
	// Saved: the typed secret has left the form, which says it is set.
	waitJS(ctx, "the secret shown as set", `document.querySelector('#module-secret-state')?.dataset.secretState === 'set'`, 5*time.Second)
	secretShown := `(() => { const shown = (s) => document.documentElement.outerHTML.includes(s) || [...document.querySelectorAll('input, textarea')].some(e => e.value.includes(s));
		return shown(` + jsString(secret) + `) || shown(` + jsString(token) + `) })()`
	if evalJS[bool](ctx, secretShown) {
		t.Error("the secret is still in the page after saving")
	}
	if ph := evalJS[string](ctx, `document.querySelector('#module-secret').placeholder`); ph != "set — leave empty to keep" {
		t.Errorf("the stored secret's field says %q", ph)
	}
	screenshot(ctx, "webhook-tested")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the module listed", uiFind("#main .list strong", "hook"), 15*time.Second)

	mod := uiJSON[struct {
		Description string
		Config      map[string]any
	}](t, srv.mustJSON("GET", "/manage/v1/alert-modules/hook", nil))
	if mod.Config["secret"] != "<secret>" || mod.Config["url"] != hook.URL+"/prophasis" || mod.Config["headers"].(map[string]any)["X-Token"] != "<secret>" {
		t.Errorf("stored module: %+v", mod)
	}

	// Edit the description only: the secret is not shown, and is kept.
	clickText(ctx, "#main .list button", "Edit")
	waitJS(ctx, "the module's URL in the form", `document.querySelector('#module-url')?.value === `+jsString(hook.URL+"/prophasis"), 15*time.Second)
	if v := evalJS[string](ctx, `document.querySelector('#module-secret').value`); v != "" {
		t.Errorf("the secret's field holds %q when editing", v)
	}
	if evalJS[bool](ctx, secretShown) {
		t.Error("the secret is in the page when editing")
	}
	if s := textOf(ctx, "#module-secret-state"); s != "set — leave empty to keep" {
		t.Errorf("the secret's state reads %q", s)
	}
	if h := evalJS[[]string](ctx, `[document.querySelector('#module-header-0-name')?.value, document.querySelector('#module-header-0-value')?.value, document.querySelector('#module-header-0-value')?.placeholder]`); strings.Join(h, "|") != "X-Token||set — leave empty to keep" {
		t.Errorf("the header when editing: %q", h)
	}
	typeText(ctx, "#module-description", "ops pager")
	screenshot(ctx, "webhook-edit")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the edited module listed", `document.querySelector('#main .list')?.innerText.includes('ops pager')`, 15*time.Second)
	evalJS[bool](ctx, `([...document.querySelectorAll('#main .list > li')].find(li => li.querySelector('strong')?.textContent === 'hook').querySelector('button').click(), true)`)
	waitJS(ctx, "the list's test outcome", `document.querySelector('#main .list .test-result')?.textContent.includes('Sent')`, 20*time.Second)
	rules, _, bad = hook.received()
	if len(bad) > 0 {
		t.Fatalf("after an edit that kept the secrets, the receiver refused: %v", bad)
	}
	if len(rules) != 2 {
		t.Fatalf("the receiver got %d alerts, want 2", len(rules))
	}

	// An email module: the SMTP fields; a bad port is refused beside it.
	clickText(ctx, "button", "New")
	waitVisible(ctx, "#module-kind")
	evalJS[bool](ctx, `(() => { const s = document.querySelector('#module-kind'); s.value = 'email'; s.dispatchEvent(new Event('change', {bubbles: true})); return true })()`)
	waitVisible(ctx, "#module-host")
	for _, id := range []string{"#module-port", "#module-tls", "#module-starttls", "#module-username", "#module-password", "#module-from", "#module-to"} {
		if !evalJS[bool](ctx, `!!document.querySelector(`+jsString(id)+`)`) {
			t.Errorf("the email form has no %s", id)
		}
	}
	typeText(ctx, "#module-name", "mail")
	typeText(ctx, "#module-host", "smtp.example.org")
	typeText(ctx, "#module-port", "70000")
	typeText(ctx, "#module-from", "monitoring@example.org")
	typeText(ctx, "#module-to", "ops@example.org")
	typeText(ctx, "#module-username", "mon")
	typeText(ctx, "#module-password", "smtp-pass-1")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the reason beside the port",
		`document.querySelector('#module-port')?.getAttribute('aria-invalid') === 'true' && document.querySelector('#module-port').parentElement.querySelector('.field-error')?.textContent.includes('port 70000')`, 15*time.Second)
	screenshot(ctx, "email-refused")
	setField(ctx, "#module-port", "587")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the email module listed", uiFind("#main .list strong", "mail"), 15*time.Second)
	mail := uiJSON[struct {
		Kind   string
		Config map[string]any
	}](t, srv.mustJSON("GET", "/manage/v1/alert-modules/mail", nil))
	if mail.Kind != "email" || mail.Config["port"] != float64(587) || mail.Config["password"] != "<secret>" || mail.Config["host"] != "smtp.example.org" {
		t.Errorf("stored email module: %+v", mail)
	}
	noPageErrors(ctx)
}

// TestUIFormsPlugin: an admin registers a Nagios plugin (Debian's
// check_dummy) with the plugin form; a timeout beyond the limit is refused
// beside the timeout. A real agent runs it through a check, and the host
// page shows its message. Editing the plugin, its classifier is tested
// against those results from inside the form.
func TestUIFormsPlugin(t *testing.T) {
	const dummy = "/usr/lib/nagios/plugins/check_dummy"
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/schedules", map[string]any{"name": "fast", "intervals": []map[string]string{{"period": "2s"}}})
	ctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(ctx, srv.URL+"/config/plugins", srv.Admin)

	clickText(ctx, "button", "New")
	waitVisible(ctx, "#plugin-name")
	if !evalJS[bool](ctx, `!!document.querySelector('#pkg-file')`) {
		t.Error("the package upload is gone from the plugins page")
	}
	typeText(ctx, "#plugin-name", "dummy")
	if k := evalJS[string](ctx, `document.querySelector('#plugin-kind').value`); k != "nagios" {
		t.Errorf("a new plugin's kind is %q, want nagios", k)
	}
	typeText(ctx, "#plugin-entrypoint", dummy)
	setField(ctx, "#plugin-args", "0\nall fine")
	typeText(ctx, "#plugin-timeout", "2h")
	typeText(ctx, "#plugin-history", "5")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the server's reason beside the timeout",
		`document.querySelector('#plugin-timeout')?.getAttribute('aria-invalid') === 'true' && document.querySelector('#plugin-timeout').parentElement.querySelector('.field-error')?.textContent.includes('timeout')`, 15*time.Second)
	screenshot(ctx, "plugin-refused")
	setField(ctx, "#plugin-timeout", "5s")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the plugin listed", uiFind("#main .list strong", "dummy"), 15*time.Second)
	p := uiJSON[struct {
		Kind, Entrypoint, Timeout string
		Args                      []string
		History                   int
	}](t, srv.mustJSON("GET", "/manage/v1/plugins/dummy", nil))
	if p.Kind != "nagios" || p.Entrypoint != dummy || strings.Join(p.Args, "|") != "0|all fine" || p.Timeout != "5s" || p.History != 5 {
		t.Errorf("stored plugin: %+v", p)
	}
	screenshot(ctx, "plugins")

	// A real agent runs it.
	out, err := exec.Command(filepath.Join(binDir, "prophasis"), "token", "create", "web1", "--server", srv.URL, "--data-dir", srv.DataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	token := regexp.MustCompile(`phe_[A-Za-z0-9_-]+`).FindString(string(out))
	if token == "" {
		t.Fatalf("token create printed no token:\n%s", out)
	}
	startAgent(t, "--server", srv.URL, "--allow-http", "--enroll-token", token, "--data-dir", filepath.Join(t.TempDir(), "agent"), "--host", "web1")
	waitHost := time.Now().Add(30 * time.Second)
	for {
		if code, _ := srv.do("GET", "/manage/v1/hosts/web1", "", nil); code == 200 {
			break
		}
		if time.Now().After(waitHost) {
			t.Fatal("the agent did not enrol web1 in 30 s")
		}
		time.Sleep(300 * time.Millisecond)
	}
	srv.mustJSON("POST", "/manage/v1/checks", map[string]any{"name": "dum", "plugins": []string{"dummy"}, "hosts": []string{"web1"}, "schedule": "fast"})
	navigate(ctx, srv.URL+"/hosts/web1")
	waitJS(ctx, "check_dummy's message on the host page", `[...document.querySelectorAll('#main td')].some(td => td.textContent.includes('all fine'))`, 60*time.Second)
	screenshot(ctx, "host")

	// Edit it: the classifier, tested against web1's results in the form.
	navigate(ctx, srv.URL+"/config/plugins")
	waitJS(ctx, "the plugin listed", uiFind("#main .list strong", "dummy"), 15*time.Second)
	evalJS[bool](ctx, `([...document.querySelectorAll('#main .list > li')].find(li => li.querySelector('strong')?.textContent === 'dummy').querySelector('.actions button:not([aria-expanded])').click(), true)`)
	waitJS(ctx, "the form with the plugin", `document.querySelector('#plugin-entrypoint')?.value === `+jsString(dummy)+` && document.querySelector('#plugin-args').value === '0\nall fine'`, 15*time.Second)
	setField(ctx, "#plugin-classifier", `return "major"`)
	waitJS(ctx, "the check that runs it", `document.querySelector('#plugin-form-title') && document.querySelector('[role=group] select[id$=-check]')?.value === 'dum'`, 15*time.Second)
	clickText(ctx, "button", "Test against recent data")
	waitJS(ctx, "the classifier's states", `[...document.querySelectorAll('[role=group] td .badge')].some(b => b.textContent.startsWith('major'))`, 15*time.Second)
	screenshot(ctx, "plugin-classifier")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the form closed", `!document.querySelector('#plugin-name')`, 15*time.Second)
	p2 := uiJSON[struct {
		Classifier string
		Args       []string
	}](t, srv.mustJSON("GET", "/manage/v1/plugins/dummy", nil))
	if !strings.Contains(p2.Classifier, `"major"`) || len(p2.Args) != 2 {
		t.Errorf("plugin after editing: %+v", p2)
	}
	noPageErrors(ctx)
}

// TestUIFormsServiceRules: a service's rules made with its form (unknown
// members down, members in maintenance up) are stored, shown again when
// editing, and a choice the rules cannot express is refused beside them.
func TestUIFormsServiceRules(t *testing.T) {
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/hosts", map[string]any{"name": "web1"})
	ctx := newBrowser(t, phoneWidth, phoneHeight)
	uiLogin(ctx, srv.URL+"/config/services", srv.Admin)
	clickText(ctx, "button", "New")
	waitVisible(ctx, "#service-name")
	for s, want := range map[string]string{"minor": "impaired", "major": "impaired", "critical": "down", "unknown": "impaired"} {
		if got := evalJS[string](ctx, `document.querySelector('#service-rule-`+s+`').value`); got != want {
			t.Errorf("a new service's %s members count as %q, want the default %q", s, got, want)
		}
	}
	typeText(ctx, "#service-name", "website")
	setField(ctx, "#service-deps", "host web1")
	choose := func(state, as string) {
		evalJS[bool](ctx, `(() => { const s = document.querySelector('#service-rule-`+state+`'); s.value = `+jsString(as)+`; s.dispatchEvent(new Event('change', {bubbles: true})); return true })()`)
	}
	// Nothing impaired cannot be said (an empty list means the default).
	for _, s := range []string{"minor", "major", "unknown"} {
		choose(s, "up")
	}
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the reason beside the rules", `document.querySelector('#service-rules-err .field-error')?.textContent.includes('impaired')`, 10*time.Second)
	screenshot(ctx, "rules-refused")
	choose("minor", "impaired")
	choose("unknown", "down")
	click(ctx, "#service-ignore-maintenance")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the service listed", uiFind("#main .list strong", "website"), 15*time.Second)
	sv := uiJSON[struct {
		Rules struct {
			Down, Impaired []string
			IM             bool `json:"ignore_maintenance"`
			IA             bool `json:"ignore_acknowledged"`
		}
	}](t, srv.mustJSON("GET", "/manage/v1/services/website", nil))
	if strings.Join(sv.Rules.Down, ",") != "critical,unknown" || strings.Join(sv.Rules.Impaired, ",") != "minor" || !sv.Rules.IM || sv.Rules.IA {
		t.Errorf("stored rules: %+v", sv.Rules)
	}
	clickText(ctx, "#main .list button", "Edit")
	waitJS(ctx, "the rules in the form", `document.querySelector('#service-rule-unknown')?.value === 'down' && document.querySelector('#service-rule-major').value === 'up' && document.querySelector('#service-ignore-maintenance').checked`, 15*time.Second)
	screenshot(ctx, "rules-edit")
	noPageErrors(ctx)
}

// TestUIFormsFieldErrors: the other forms show the server's reason beside
// the field it names too: a trend rule's expression that does not compile,
// a schedule's max lateness, a silence's time zone, an alert rule without a
// module, with a condition that does not compile and with an escalation
// without a module (then saved with both), a group's unknown host.
func TestUIFormsFieldErrors(t *testing.T) {
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/hosts", map[string]any{"name": "web1"})
	ctx := newBrowser(t, phoneWidth, phoneHeight)
	uiLogin(ctx, srv.URL+"/config/trend-rules", srv.Admin)
	// beside waits for the reason (holding want) beside the control sel
	// (in its field, which is marked invalid; right after a checkbox list),
	// and for nothing else to show it.
	beside := func(what, sel, want string) {
		t.Helper()
		waitJS(ctx, "the reason beside "+what, `(() => { const c = document.querySelector(`+jsString(sel)+`); if (!c) return false;
			const errs = [...document.querySelectorAll('#main form .field-error, #main form .error')];
			return errs.length === 1 && errs[0].textContent.includes(`+jsString(want)+`)
				&& (c.matches('fieldset') ? c.nextElementSibling === errs[0] : c.closest('.field').contains(errs[0]) && c.getAttribute('aria-invalid') === 'true') })()`, 15*time.Second)
		screenshot(ctx, what)
	}

	clickText(ctx, "button", "New")
	typeText(ctx, "#trend-name", "disk-fill")
	setField(ctx, "#trend-expr", `last(window) >`)
	clickText(ctx, "button[type=submit]", "Save")
	beside("expr", "#trend-expr", "expr")

	navigate(ctx, srv.URL+"/config/schedules")
	clickText(ctx, "button", "New")
	typeText(ctx, "#schedule-name", "slow")
	typeText(ctx, "#schedule-lateness", "9999h")
	clickText(ctx, "button[type=submit]", "Save")
	beside("max-lateness", "#schedule-lateness", "max_lateness")

	navigate(ctx, srv.URL+"/config/silences")
	clickText(ctx, "button", "New")
	typeText(ctx, "#silence-name", "nightly")
	clickText(ctx, "button", "Weekly")
	setField(ctx, "#silence-tz", "Mars/Olympus")
	clickText(ctx, "button[type=submit]", "Save")
	beside("timezone", "#silence-tz", "timezone")

	navigate(ctx, srv.URL+"/config/alert-rules")
	clickText(ctx, "button", "New")
	typeText(ctx, "#rule-name", "page")
	clickText(ctx, "button[type=submit]", "Save")
	beside("modules", "#rule-modules", "module")
	// A condition that does not compile, then an escalation without a
	// module: each beside its own field; fixed, the rule is stored with both.
	srv.mustJSON("POST", "/manage/v1/alert-modules", map[string]any{"name": "ops", "kind": "webhook", "config": map[string]any{"url": "http://127.0.0.1:9/"}})
	navigate(ctx, srv.URL+"/config/alert-rules")
	clickText(ctx, "button", "New")
	typeText(ctx, "#rule-name", "page")
	waitVisible(ctx, "input[name=rule-modules-opt][value=ops]")
	click(ctx, "input[name=rule-modules-opt][value=ops]")
	setField(ctx, "#rule-condition", `subject.labels.env ==`)
	clickText(ctx, "button[type=submit]", "Save")
	beside("condition", "#rule-condition", "condition")
	setField(ctx, "#rule-condition", `subject.labels.env == "prod"`)
	setField(ctx, "#rule-escalations", "30m:")
	clickText(ctx, "button[type=submit]", "Save")
	beside("escalations", "#rule-escalations", "escalations[0]")
	setField(ctx, "#rule-escalations", "30m: ops\n2h: ops")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the rule saved", uiFind("#main .list strong", "page"), 15*time.Second)
	rule := uiJSON[struct {
		Condition   string
		Escalations []struct {
			After   string
			Modules []string
		}
	}](t, srv.mustJSON("GET", "/manage/v1/alert-rules/page", nil))
	if rule.Condition != `subject.labels.env == "prod"` || len(rule.Escalations) != 2 || rule.Escalations[0].After != "30m" ||
		rule.Escalations[1].After != "2h" || strings.Join(rule.Escalations[1].Modules, ",") != "ops" {
		t.Errorf("stored rule: %+v", rule)
	}

	navigate(ctx, srv.URL+"/config/groups")
	clickText(ctx, "button", "New")
	typeText(ctx, "#group-name", "web")
	waitVisible(ctx, "input[name=group-hosts-opt][value=web1]")
	click(ctx, "input[name=group-hosts-opt][value=web1]")
	srv.mustJSON("DELETE", "/manage/v1/hosts/web1", nil) // gone while the form is open
	clickText(ctx, "button[type=submit]", "Save")
	beside("hosts", "#group-hosts", "web1")
	noPageErrors(ctx)
}

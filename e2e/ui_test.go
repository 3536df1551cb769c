package e2e

// Browser tests of the web UI's pages (frontend/src), in real Chromium
// through the harness of browser_helpers_test.go: an admin enrols a host from
// the UI and sees its checks, graphs, state timeline and messages; the
// overview, explore and alerts pages; a viewer sees no edit buttons; the
// phone layout. Screenshots are saved as artifacts.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/prophasis/prophasis/wire"
)

// waitJS polls a JavaScript boolean expression until it is true, failing the
// test with what after timeout.
func waitJS(ctx context.Context, what, expr string, timeout time.Duration) {
	t := browserT(ctx)
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if evalJS[bool](ctx, "!!("+expr+")") {
			return
		}
		if time.Now().After(deadline) {
			body := evalJS[string](ctx, "document.body ? document.body.innerText : ''")
			screenshot(ctx, "timeout")
			t.Fatalf("waited %v for %s (%s); the page says:\n%s", timeout, what, expr, body)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// clickText clicks the first element matching sel whose text is text.
func clickText(ctx context.Context, sel, text string) {
	t := browserT(ctx)
	t.Helper()
	waitJS(ctx, fmt.Sprintf("%s %q", sel, text), uiFind(sel, text), 15*time.Second)
	evalJS[bool](ctx, uiFind(sel, text)+".click() || true")
}

// uiFind is a JavaScript expression for the first element matching sel whose
// trimmed text is text (undefined when none).
func uiFind(sel, text string) string {
	return fmt.Sprintf("[...document.querySelectorAll(%s)].find(e => e.textContent.trim() === %s)", jsString(sel), jsString(text))
}

// dragAcross drags the mouse across the middle of the element matching sel,
// from one fraction of its width to another, as a user selecting a range.
func dragAcross(ctx context.Context, sel string, from, to float64) {
	t := browserT(ctx)
	t.Helper()
	r := evalJS[struct{ X, Y, W float64 }](ctx, `(() => { const e = document.querySelector(`+jsString(sel)+`); e.scrollIntoView({block: 'center'});
		const r = e.getBoundingClientRect(); return {x: r.left, y: r.top + r.height / 2, w: r.width} })()`)
	held := func(p *input.DispatchMouseEventParams) { p.Button = input.MouseButtonLeft; p.Buttons = 1 }
	x0, x1 := r.X+r.W*from, r.X+r.W*to
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x0, r.Y),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x0, r.Y, held, chromedp.ClickCount(1)),
	}
	for i := 1; i <= 5; i++ {
		steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x0+(x1-x0)*float64(i)/5, r.Y, held))
	}
	steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x1, r.Y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	do(ctx, "drag across "+sel, steps...)
}

func pageText(ctx context.Context) string {
	return evalJS[string](ctx, "document.body.innerText")
}

// uiLogin opens url (a page of the UI), logs in through the form and waits
// for the app's navigation.
func uiLogin(ctx context.Context, url string, c credentials) {
	t := browserT(ctx)
	t.Helper()
	navigate(ctx, url)
	// A binary built before the UI serves a placeholder page (frontend.go).
	if !evalJS[bool](ctx, `!!document.querySelector('script[type=module][src^="/assets/"]')`) {
		t.Fatal("the server serves no built web UI: run `make frontend` before `go test ./e2e/` (make test does)")
	}
	login(ctx, c.User, c.Password)
	waitJS(ctx, "the navigation after login", `document.querySelector('nav#nav a[href="/"]')`, 15*time.Second)
}

// TestUIEnrolHostAndSeeItsGraphs walks the main path, on a desktop and on
// a phone: log in, add a host with an enrolment token, run the install
// command the page shows, add a check, and see the host's checks with
// sparklines, a check's graph, state timeline and messages, the overview
// and the explorer. A host description holding HTML is shown as text.
func TestUIEnrolHostAndSeeItsGraphs(t *testing.T) { onDesktopAndPhone(t, enrolHostAndSeeItsGraphs) }

// onDesktopAndPhone runs a path through the UI at 1920 × 1080 and again at
// 375 × 812, each with its own server.
func onDesktopAndPhone(t *testing.T, path func(t *testing.T, width, height int)) {
	t.Run("desktop", func(t *testing.T) { path(t, desktopWidth, desktopHeight) })
	t.Run("phone", func(t *testing.T) { path(t, phoneWidth, phoneHeight) })
}

func enrolHostAndSeeItsGraphs(t *testing.T, width, height int) {
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/schedules", map[string]any{"name": "fast", "intervals": []map[string]string{{"period": "2s"}}})
	ctx := newBrowser(t, width, height)
	uiLogin(ctx, srv.URL+"/config/hosts", srv.Admin)

	// Add a host; its description is HTML that must not run.
	clickText(ctx, "button", "Add host")
	const evil = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`
	do(ctx, "fill in the host form",
		chromedp.SendKeys("#host-name", "web1", chromedp.NodeVisible),
		chromedp.SendKeys("#host-description", evil, chromedp.NodeVisible),
	)
	clickText(ctx, "button[type=submit]", "Create host")
	waitJS(ctx, "the install command", `document.querySelector('[data-testid=install-command]')`, 15*time.Second)
	screenshot(ctx, "enrol")
	cmdText := evalJS[string](ctx, `document.querySelector('[data-testid=install-command]').textContent`)
	if !strings.Contains(pageText(ctx), evil) {
		t.Errorf("the host's description is not shown as text")
	}
	if evalJS[bool](ctx, "window.__xss !== undefined") {
		t.Fatal("HTML in a host description ran")
	}

	// Run the command the page shows (its data directory swapped for a temporary one).
	args := strings.Fields(strings.ReplaceAll(cmdText, "\\\n", " "))
	if len(args) < 5 || args[0] != "prophasis-agent" || !regexp.MustCompile(`--enroll-token phe_`).MatchString(cmdText) {
		t.Fatalf("install command %q", cmdText)
	}
	for i, a := range args {
		if a == "/var/lib/prophasis-agent" {
			args[i] = t.TempDir()
		}
	}
	startAgent(t, args[1:]...)
	srv.mustJSON("POST", "/manage/v1/checks", map[string]any{"name": "res", "plugins": []string{"load", "memory"}, "hosts": []string{"web1"}, "schedule": "fast"})

	// The host page lists the checks with a value and a sparkline.
	navigate(ctx, srv.URL+"/hosts/web1")
	waitJS(ctx, "the load check on the host page", uiFind("table a", "res/load"), 60*time.Second)
	waitJS(ctx, "a sparkline", `document.querySelector('.sparkline canvas')`, 60*time.Second)
	screenshot(ctx, "host")

	// A check's graph, state timeline and messages.
	clickText(ctx, "table a", "res/load")
	waitJS(ctx, "the check's URL", `location.search.includes('plugin=load')`, 5*time.Second)
	waitJS(ctx, "the check's graph", `document.querySelector('.chart canvas')`, 30*time.Second)
	// The band's colour is the load check's state, which depends on how busy
	// this machine is (a load above the plugin's thresholds is major): any
	// state will do, as long as the timeline shows one.
	waitJS(ctx, "the state timeline", `document.querySelector('.timeline .band[class*="st-"]')`, 30*time.Second)
	waitJS(ctx, "the message history", `[...document.querySelectorAll('.messages .msg')].some(e => e.textContent.includes('load average'))`, 30*time.Second)
	screenshot(ctx, "check")

	// The host's automatic dashboard from its plugins' graph hints, saved as a dashboard of one's own.
	navigate(ctx, srv.URL+"/hosts/web1/dashboard")
	waitJS(ctx, "the automatic dashboard's charts", `document.querySelectorAll('.panel').length >= 2 && document.querySelector('.panel-timeseries .chart canvas')`, 30*time.Second)
	waitJS(ctx, "memory's stacked hints in one chart", `[...document.querySelectorAll('.panel')].some(p => p.querySelector('h2').textContent.includes('used_bytes + free_bytes') && p.querySelector('.chart canvas') && p.querySelectorAll('.u-legend .u-series').length >= 5)`, 30*time.Second)
	screenshot(ctx, "host-dashboard")
	clickText(ctx, "button", "Save as a dashboard")
	waitJS(ctx, "the saved copy in edit mode", `location.pathname.startsWith('/dashboards/') && location.search.includes('edit=1') && document.querySelector('#main h1').textContent.includes('web1 dashboard')`, 10*time.Second)

	// The overview counts the host and finds it by search.
	navigate(ctx, srv.URL+"/")
	waitJS(ctx, "web1 on the overview", `document.querySelector('#main a[href="/hosts/web1"]')`, 30*time.Second)
	waitJS(ctx, "the hosts count", `document.querySelector('.counts .count')`, 10*time.Second)
	screenshot(ctx, "overview")
	do(ctx, "search", chromedp.SendKeys("#ov-search", "no-such-thing", chromedp.NodeVisible))
	waitJS(ctx, "the search filtering web1 out", `document.body.innerText.includes('No host matches.')`, 5*time.Second)

	// Explore: a query in the URL, graph and table, suggestions of metric names.
	navigate(ctx, srv.URL+"/explore?q="+urlEscape(`prophasis_value{host="web1"}`))
	waitJS(ctx, "the explore graph", `document.querySelector('.chart canvas')`, 30*time.Second)
	screenshot(ctx, "explore-graph")
	// Drag across the chart: the URL gets the selected range.
	dragAcross(ctx, ".chart .u-over", 0.5, 0.9)
	waitJS(ctx, "the zoomed range in the URL", `(() => { const q = new URLSearchParams(location.search); return +q.get('to') > +q.get('from') && +q.get('from') > 0 })()`, 10*time.Second)
	waitJS(ctx, "Reset zoom", uiFind("button", "Reset zoom"), 10*time.Second)
	// (The host's values are only the last minute's: the selection may hold none.)
	waitJS(ctx, "the zoomed query's answer", `document.querySelector('.chart canvas') || document.body.innerText.includes('No data.')`, 30*time.Second)
	clickText(ctx, "button", "Reset zoom")
	waitJS(ctx, "the range reset", `!location.search.includes('from=')`, 5*time.Second)
	clickText(ctx, "button", "Table")
	waitJS(ctx, "the table view", `location.search.includes('view=table') && [...document.querySelectorAll('.table td')].some(e => e.textContent.includes('plugin="load"'))`, 30*time.Second)
	evalJS[bool](ctx, `(() => { const ta = document.querySelector('#promql'); ta.focus(); ta.select(); return true })()`)
	do(ctx, "type a metric name prefix", chromedp.SendKeys("#promql", "prophasis_val"))
	waitJS(ctx, "the metric name suggestion", uiFind("#promql-suggestions li", "prophasis_value"), 10*time.Second)
	do(ctx, "accept the suggestion", chromedp.KeyEvent("\t"))
	waitJS(ctx, "the suggestion accepted", `document.querySelector('#promql').value === 'prophasis_value'`, 5*time.Second)
	clickText(ctx, "button[type=submit]", "Run")
	waitJS(ctx, "the query in the URL", `new URLSearchParams(location.search).get('q') === 'prophasis_value'`, 5*time.Second)

	// The theme toggle switches light and dark.
	before := evalJS[string](ctx, "document.documentElement.dataset.theme")
	for i := 0; i < 3 && evalJS[string](ctx, "document.documentElement.dataset.theme") == before; i++ {
		evalJS[bool](ctx, `document.querySelector('.theme-toggle').click() || true`)
	}
	if after := evalJS[string](ctx, "document.documentElement.dataset.theme"); after == before {
		t.Errorf("the theme toggle left the theme %q", after)
	}
	screenshot(ctx, "explore-other-theme")

	// The hosts page shows the agent; revoking it (confirmed) leaves the host not enrolled.
	navigate(ctx, srv.URL+"/config/hosts")
	waitJS(ctx, "the agent's revoke button", uiFind("button", "Revoke agent"), 15*time.Second)
	evalJS[bool](ctx, "(window.confirm = () => true, true)")
	clickText(ctx, "button", "Revoke agent")
	waitJS(ctx, "the host not enrolled", `document.body.innerText.includes('not enrolled')`, 15*time.Second)
	noPageErrors(ctx)
}

// TestUIViewerSeesNoEditButtons logs in as a viewer: the pages show, the
// buttons that change things do not.
func TestUIViewerSeesNoEditButtons(t *testing.T) {
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/hosts", map[string]any{"name": "web1"})
	ctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(ctx, srv.URL+"/config/hosts", srv.Viewer)
	waitJS(ctx, "the hosts table", `document.querySelector('#main a[href="/hosts/web1"]')`, 15*time.Second)
	for _, b := range []string{"Add host", "Enrolment token"} {
		if evalJS[bool](ctx, "!!"+uiFind("button", b)) {
			t.Errorf("a viewer sees the button %q", b)
		}
	}
	if role := evalJS[string](ctx, `document.querySelector('.role').textContent`); role != "viewer" {
		t.Errorf("role shown %q", role)
	}
	// Signing out returns to the login form.
	clickText(ctx, "button", "Sign out")
	waitJS(ctx, "the login form", `document.querySelector('input[name=user]')`, 10*time.Second)
	noPageErrors(ctx)
}

// TestUIPhone checks the layout at 375 px: the menu button opens the
// navigation, pages fit the width.
func TestUIPhone(t *testing.T) {
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/hosts", map[string]any{"name": "web1"})
	ctx := newBrowser(t, phoneWidth, phoneHeight)
	navigate(ctx, srv.URL+"/")
	screenshot(ctx, "login")
	uiLogin(ctx, srv.URL+"/", srv.Admin)
	if evalJS[bool](ctx, `getComputedStyle(document.querySelector('#nav')).display !== 'none'`) {
		t.Error("the navigation shows before the menu is opened")
	}
	clickText(ctx, "button", "☰ Menu")
	waitJS(ctx, "the navigation opened", `getComputedStyle(document.querySelector('#nav')).display !== 'none'`, 5*time.Second)
	screenshot(ctx, "menu")
	clickText(ctx, "#nav a", "Configuration")
	waitJS(ctx, "the hosts page", `document.querySelector('#main a[href="/hosts/web1"]')`, 15*time.Second)
	if !evalJS[bool](ctx, `document.activeElement === document.querySelector('#main')`) {
		t.Error("after navigating, the focus is not on the page's content")
	}
	for _, path := range []string{"/", "/hosts/web1", "/config/hosts", "/config/checks", "/alerts", "/explore?q=up", "/dashboards", "/system-log"} {
		navigate(ctx, srv.URL+path)
		waitJS(ctx, "the page "+path, `document.querySelector('#main h1')`, 15*time.Second)
		time.Sleep(500 * time.Millisecond)
		if w := evalJS[float64](ctx, "document.documentElement.scrollWidth"); w > phoneWidth+1 {
			t.Errorf("%s is %v px wide at %d", path, w, phoneWidth)
		}
		screenshot(ctx, strings.Trim(strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(path), "-")+"page")
	}
	noPageErrors(ctx)
}

// uiJSON decodes a management API answer's data.
func uiJSON[T any](t *testing.T, b []byte) T {
	t.Helper()
	var env struct{ Data T }
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return env.Data
}

// TestUIAcknowledgeAndSilenceAnAlert, on a desktop and on a phone: a
// critical result fires an alert; the overview and the alerts page show it; an admin acknowledges it with a
// comment and silences its host from the alerts page; the history lists it.
// The result's message holds HTML, shown as text.
func TestUIAcknowledgeAndSilenceAnAlert(t *testing.T) { onDesktopAndPhone(t, acknowledgeAndSilenceAnAlert) }

func acknowledgeAndSilenceAnAlert(t *testing.T, width, height int) {
	srv := startUIServer(t)
	hook := startHook(t, "ui-hook-secret")
	srv.mustJSON("POST", "/manage/v1/plugins", map[string]any{"name": "uidisk", "kind": "exec", "entrypoint": "x",
		"classifier": `if values[1] > 90 then return "critical" end return "ok"`})
	srv.mustJSON("POST", "/manage/v1/hosts", map[string]any{"name": "web1"})
	srv.mustJSON("POST", "/manage/v1/schedules", map[string]any{"name": "1m", "intervals": []map[string]string{{"period": "1m"}}})
	srv.mustJSON("POST", "/manage/v1/checks", map[string]any{"name": "res", "plugins": []string{"uidisk"}, "hosts": []string{"web1"}, "schedule": "1m"})
	srv.mustJSON("POST", "/manage/v1/alert-modules", map[string]any{"name": "hook", "kind": "webhook",
		"config": map[string]any{"url": hook.URL, "secret": "ui-hook-secret"}})
	srv.mustJSON("POST", "/manage/v1/alert-rules", map[string]any{"name": "disk-critical", "to": []string{"critical"},
		"scope": map[string]any{"hosts": []string{"web1"}}, "modules": []string{"hook"}})
	const msg = `disk 95% full <script>window.__xss=3</script>`
	r := wire.Result{Host: "web1", Plugin: "uidisk", Check: "res", Value: val(95), Duration: 0.01,
		Timestamp: time.Now().UnixMilli(), Message: msg}
	if code, body := srv.do("POST", "/agent/v1/results", "application/json", resultsBody(t, r)); code != 200 {
		t.Fatalf("push: %d %s", code, body)
	}

	ctx := newBrowser(t, width, height)
	uiLogin(ctx, srv.URL+"/", srv.Admin)
	waitJS(ctx, "the critical check on the overview", `document.querySelector('#ov-checks') && document.querySelector('.count.st-critical')`, 30*time.Second)
	waitJS(ctx, "the alert on the overview", `document.body.innerText.includes('disk-critical')`, 30*time.Second)
	if !strings.Contains(pageText(ctx), msg) {
		t.Errorf("the message is not shown as text on the overview")
	}
	screenshot(ctx, "overview-critical")

	navigate(ctx, srv.URL+"/alerts")
	waitJS(ctx, "the open alert", uiFind("button", "Acknowledge"), 30*time.Second)
	clickText(ctx, "button", "Acknowledge")
	do(ctx, "write the comment", chromedp.SendKeys(`input[name=comment]`, "replacing the disk", chromedp.NodeVisible))
	clickText(ctx, "form.inline-form button[type=submit]", "Acknowledge")
	waitJS(ctx, "the acknowledgement shown", `document.body.innerText.includes('Acknowledged by alice')`, 15*time.Second)
	acks := uiJSON[[]struct {
		By, Comment string
	}](t, srv.mustJSON("GET", "/manage/v1/acks", nil))
	if len(acks) != 1 || acks[0].By != "alice" || acks[0].Comment != "replacing the disk" {
		t.Errorf("acknowledgements %+v", acks)
	}

	// Withdraw it (confirming the dialog), then silence the alert instead.
	evalJS[bool](ctx, "(window.confirm = () => true, true)")
	clickText(ctx, "button", "Withdraw")
	waitJS(ctx, "the acknowledgement withdrawn", `!document.body.innerText.includes('Acknowledged by alice')`, 15*time.Second)
	if acks := uiJSON[[]any](t, srv.mustJSON("GET", "/manage/v1/acks", nil)); len(acks) != 0 {
		t.Errorf("acknowledgements after withdrawing: %v", acks)
	}

	clickText(ctx, "button", "Silence")
	do(ctx, "write the reason", chromedp.SendKeys(`input[name=reason]`, "disk swap tonight", chromedp.NodeVisible))
	clickText(ctx, "form.inline-form button[type=submit]", "Silence")
	waitJS(ctx, "the silence shown", `document.body.innerText.includes('Silenced by')`, 30*time.Second)
	sils := uiJSON[[]struct {
		Name, Comment string
		CreatedBy     string `json:"created_by"`
		Scope         struct{ Hosts []string }
	}](t, srv.mustJSON("GET", "/manage/v1/silences", nil))
	if len(sils) != 1 || sils[0].Comment != "disk swap tonight" || len(sils[0].Scope.Hosts) != 1 || sils[0].Scope.Hosts[0] != "web1" {
		t.Errorf("silences %+v", sils)
	}
	waitJS(ctx, "the history", `document.querySelectorAll('#main table tbody tr').length > 0`, 30*time.Second)
	screenshot(ctx, "alerts")
	if evalJS[bool](ctx, "window.__xss !== undefined") {
		t.Fatal("HTML in a message ran")
	}

	// The host page shows the message as text too.
	navigate(ctx, srv.URL+"/hosts/web1?plugin=uidisk&check=res")
	waitJS(ctx, "the message history", `[...document.querySelectorAll('.messages .msg')].some(e => e.textContent === `+jsString(msg)+`)`, 30*time.Second)
	if evalJS[bool](ctx, "window.__xss !== undefined") {
		t.Fatal("HTML in a message ran")
	}
	noPageErrors(ctx)
}

// setField sets a text field's value as typing would (an input event), for
// long texts such as JSON.
func setField(ctx context.Context, sel, value string) {
	browserT(ctx).Helper()
	evalJS[bool](ctx, `(() => { const e = document.querySelector(`+jsString(sel)+`); e.focus(); e.value = `+jsString(value)+`;
		e.dispatchEvent(new Event('input', {bubbles: true})); return true })()`)
}

// TestUIConfigureEntities: an admin creates a schedule and a check with the
// JSON editor (a refused body shows the server's reason beside the field),
// edits and deletes the check, makes an API token (its secret shown once) and
// reads the system log; a viewer sees the lists without the buttons.
func TestUIConfigureEntities(t *testing.T) {
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/hosts", map[string]any{"name": "web1"})
	ctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(ctx, srv.URL+"/config/schedules", srv.Admin)

	clickText(ctx, "button", "New")
	typeText(ctx, "#schedule-name", "fast")
	setField(ctx, "#schedule-period-0", "10s")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the schedule listed", uiFind("#main .list strong", "fast"), 15*time.Second)
	if sch := uiJSON[struct{ Intervals []struct{ Period string } }](t, srv.mustJSON("GET", "/manage/v1/schedules/fast", nil)); len(sch.Intervals) != 1 || sch.Intervals[0].Period != "10s" {
		t.Errorf("schedule %+v", sch)
	}

	clickText(ctx, ".tabs a", "Checks")
	waitJS(ctx, "the checks page", `location.pathname === '/config/checks'`, 5*time.Second)

	// The check form: without a plugin the server's reason shows beside the plugins.
	clickText(ctx, "button", "New")
	typeText(ctx, "#check-name", "res")
	waitJS(ctx, "the schedule chosen", `document.querySelector('#check-schedule')?.value === 'fast' && document.querySelector('input[name=check-plugins-opt][value=load]')`, 15*time.Second)
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the reason beside the plugins", `document.querySelector('#check-plugins + .field-error, #check-plugins ~ .field-error')`, 15*time.Second)
	screenshot(ctx, "check-refused")
	click(ctx, "input[name=check-plugins-opt][value=load]")
	click(ctx, "input[name=check-hosts-opt][value=web1]")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the check listed", uiFind("#main .list strong", "res"), 15*time.Second)
	screenshot(ctx, "checks")

	// The JSON editor refuses an unknown field, with the reason beside it.
	clickText(ctx, "button", "New")
	clickText(ctx, "button", "Edit as JSON")
	setField(ctx, "#ent-json", `{"name": "res2", "plugins": ["load"], "hosts": ["web1"], "schedule": "fast", "colour": "red"}`)
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the server's reason beside the field", `document.querySelector('#ent-json-err .field-error')?.textContent.includes('colour') && document.querySelector('#ent-json').getAttribute('aria-invalid') === 'true'`, 15*time.Second)
	clickText(ctx, "button", "Cancel")

	clickText(ctx, "#main .list button", "Edit")
	waitJS(ctx, "the form with the check's plugins", `document.querySelector('input[name=check-plugins-opt][value=load]')?.checked`, 15*time.Second)
	click(ctx, "input[name=check-plugins-opt][value=memory]")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the edited check", `document.querySelector("#main .list").innerText.includes('load, memory')`, 15*time.Second)
	chk := uiJSON[struct{ Plugins []string }](t, srv.mustJSON("GET", "/manage/v1/checks/res", nil))
	if len(chk.Plugins) != 2 {
		t.Errorf("check after editing: %+v", chk)
	}
	evalJS[bool](ctx, "(window.confirm = () => true, true)")
	clickText(ctx, "#main .list button", "Delete")
	waitJS(ctx, "the check deleted", `document.body.innerText.includes('None yet.')`, 15*time.Second)

	// Silences: a one-off window over a host with its form, then a weekly one.
	clickText(ctx, ".tabs a", "Silences")
	clickText(ctx, "button", "New")
	typeText(ctx, "#silence-name", "disk-swap")
	typeText(ctx, "#silence-comment", "CHG-1")
	waitJS(ctx, "the hosts to choose", `document.querySelector('input[name=silence-hosts-opt][value=web1]')`, 15*time.Second)
	click(ctx, "input[name=silence-hosts-opt][value=web1]")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the silence listed", uiFind("#main .list strong", "disk-swap"), 15*time.Second)
	clickText(ctx, "button", "New")
	typeText(ctx, "#silence-name", "patch-night")
	clickText(ctx, "button", "Weekly")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the weekly silence listed", `document.querySelector('#main .list').innerText.includes('weekly sun at 02:00')`, 15*time.Second)
	sils := uiJSON[[]struct {
		Name, Start, End, Comment string
		Scope                     struct{ Hosts []string }
		Weekly                    *struct{ Days []string }
	}](t, srv.mustJSON("GET", "/manage/v1/silences", nil))
	if len(sils) != 2 || sils[0].Name != "disk-swap" || sils[0].Start == "" || sils[0].End == "" || sils[0].Comment != "CHG-1" ||
		len(sils[0].Scope.Hosts) != 1 || sils[1].Weekly == nil || len(sils[1].Weekly.Days) != 1 {
		t.Errorf("silences %+v", sils)
	}

	// A host group and a user with their forms; editing a user keeps the password.
	clickText(ctx, ".tabs a", "Groups")
	clickText(ctx, "button", "New")
	typeText(ctx, "#group-name", "webservers")
	waitJS(ctx, "the hosts to choose", `document.querySelector('input[name=group-hosts-opt][value=web1]')`, 15*time.Second)
	click(ctx, "input[name=group-hosts-opt][value=web1]")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the group listed", `document.querySelector('#main .list').innerText.includes('hosts: web1')`, 15*time.Second)
	clickText(ctx, ".tabs a", "Users")
	clickText(ctx, "button", "New")
	typeText(ctx, "#user-name", "ann")
	evalJS[bool](ctx, `(() => { const s = document.querySelector('#user-role'); s.value = 'admin'; s.dispatchEvent(new Event('change', {bubbles: true})); return true })()`)
	typeText(ctx, "#user-password", "ann-password-1")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the user listed", uiFind("#main .list strong", "ann"), 15*time.Second)
	evalJS[bool](ctx, `([...document.querySelectorAll('#main .list > li')].find(li => li.querySelector('strong')?.textContent === 'ann').querySelector('button').click(), true)`)
	evalJS[bool](ctx, `(() => { const s = document.querySelector('#user-role'); s.value = 'viewer'; s.dispatchEvent(new Event('change', {bubbles: true})); return true })()`)
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the user's new role", `[...document.querySelectorAll('#main .list > li')].some(li => li.querySelector('strong')?.textContent === 'ann' && li.innerText.includes('viewer'))`, 15*time.Second)
	ann := uiJSON[struct {
		Role        string
		HasPassword bool `json:"has_password"`
	}](t, srv.mustJSON("GET", "/manage/v1/users/ann", nil))
	if ann.Role != "viewer" || !ann.HasPassword {
		t.Errorf("user ann after editing: %+v", ann)
	}

	// An alert rule with its form: to critical or failed, on web1, via a module.
	srv.mustJSON("POST", "/manage/v1/alert-modules", map[string]any{"name": "hook", "kind": "webhook", "config": map[string]any{"url": "http://127.0.0.1:9/hook"}})
	clickText(ctx, ".tabs a", "Alert rules")
	clickText(ctx, "button", "New")
	typeText(ctx, "#rule-name", "page-web1")
	typeText(ctx, "#rule-delay", "2m")
	waitJS(ctx, "the modules and hosts to choose", `document.querySelector('input[name=rule-modules-opt][value=hook]') && document.querySelector('input[name=rule-hosts-opt][value=web1]')`, 15*time.Second)
	click(ctx, "input[name=rule-modules-opt][value=hook]")
	click(ctx, "input[name=rule-hosts-opt][value=web1]")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the rule listed", `document.querySelector('#main .list')?.innerText.includes('any → critical, failed · via hook')`, 15*time.Second)
	rule := uiJSON[struct {
		To, Modules []string
		Delay       string
		Scope       struct{ Hosts []string }
	}](t, srv.mustJSON("GET", "/manage/v1/alert-rules/page-web1", nil))
	if len(rule.To) != 2 || len(rule.Modules) != 1 || rule.Delay != "2m" || len(rule.Scope.Hosts) != 1 {
		t.Errorf("alert rule %+v", rule)
	}

	clickText(ctx, ".tabs a", "Tokens")
	do(ctx, "name a token", chromedp.SendKeys("#tok-name", "grafana", chromedp.NodeVisible))
	clickText(ctx, "button[type=submit]", "Create")
	waitJS(ctx, "the token's secret", `/^pht_/.test(document.querySelector('[data-testid=token-secret]')?.textContent ?? '')`, 15*time.Second)

	clickText(ctx, "nav#nav a", "System log")
	waitJS(ctx, "the system log", `document.querySelector('#main h1')?.textContent === 'System log' && (document.querySelector('#main table tbody tr') || document.body.innerText.includes('Nothing logged.'))`, 15*time.Second)
	noPageErrors(ctx)

	// A viewer: the lists, no buttons, no users or tokens tabs.
	vctx := newBrowser(t, phoneWidth, phoneHeight)
	uiLogin(vctx, srv.URL+"/config/schedules", srv.Viewer)
	waitJS(vctx, "the schedule listed", uiFind("#main .list strong", "fast"), 15*time.Second)
	for _, b := range []string{"New", "Edit", "Delete"} {
		if evalJS[bool](vctx, "!!"+uiFind("button", b)) {
			t.Errorf("a viewer sees the button %q", b)
		}
	}
	if evalJS[bool](vctx, "!!"+uiFind(".tabs a", "Tokens")) {
		t.Error("a viewer sees the Tokens tab")
	}
	screenshot(vctx, "viewer-schedules")
	noPageErrors(vctx)
}

// TestUIService: a service whose redundancy group lost a member is degraded;
// its page says why in the server's words and shows each member's state and
// how it counts; the overview links to it.
func TestUIService(t *testing.T) {
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/plugins", map[string]any{"name": "uidisk", "kind": "exec", "entrypoint": "x",
		"classifier": `if values[1] > 90 then return "critical" end return "ok"`})
	for _, h := range []string{"router", "web1", "web2"} {
		srv.mustJSON("POST", "/manage/v1/hosts", map[string]any{"name": h})
	}
	srv.mustJSON("POST", "/manage/v1/schedules", map[string]any{"name": "1m", "intervals": []map[string]string{{"period": "1m"}}})
	srv.mustJSON("POST", "/manage/v1/checks", map[string]any{"name": "res", "plugins": []string{"uidisk"}, "hosts": []string{"router", "web1", "web2"}, "schedule": "1m"})
	srv.mustJSON("POST", "/manage/v1/services", map[string]any{"name": "website",
		"dependencies":      []map[string]any{{"host": "router"}},
		"redundancy_groups": []map[string]any{{"name": "web", "k": 1, "members": []map[string]any{{"host": "web1"}, {"host": "web2"}}}}})
	for h, v := range map[string]float64{"router": 10, "web1": 95, "web2": 20} {
		r := wire.Result{Host: h, Plugin: "uidisk", Check: "res", Value: val(v), Duration: 0.01, Timestamp: time.Now().UnixMilli(), Message: "disk"}
		if code, body := srv.do("POST", "/agent/v1/results", "application/json", resultsBody(t, r)); code != 200 {
			t.Fatalf("push %s: %d %s", h, code, body)
		}
	}
	ctx := newBrowser(t, phoneWidth, phoneHeight)
	uiLogin(ctx, srv.URL+"/", srv.Admin)
	waitJS(ctx, "the service on the overview", `document.querySelector('#main a[href="/services/website"]')`, 30*time.Second)
	clickText(ctx, "#main a", "website")
	waitJS(ctx, "the reason in words", `document.querySelector('.reason')?.textContent.includes('redundancy group web')`, 30*time.Second)
	waitJS(ctx, "web1 counted down", `[...document.querySelectorAll('#main .list li')].some(li => li.innerText.includes('host web1') && li.querySelector('.count-down'))`, 10*time.Second)
	waitJS(ctx, "the group's count", `document.body.innerText.includes('1 of 2 up or impaired (needs 1)')`, 10*time.Second)
	screenshot(ctx, "service")

	// Another service made with its form: a bad member line is refused beside
	// the field; it depends on the first and has a redundancy group.
	navigate(ctx, srv.URL+"/config/services")
	clickText(ctx, "button", "New")
	typeText(ctx, "#service-name", "shop")
	setField(ctx, "#service-deps", "service website\nrouter")
	clickText(ctx, "button", "Add a redundancy group")
	setField(ctx, "#service-g0-members", "host web1\nhost web2")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the bad line's reason", `document.querySelector('#service-deps-err').textContent.includes('line 2')`, 5*time.Second)
	setField(ctx, "#service-deps", "service website\nhost router")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the service listed", uiFind("#main .list strong", "shop"), 15*time.Second)
	shop := uiJSON[struct {
		Dependencies     []struct{ Host, Service string }
		RedundancyGroups []struct {
			Name    string
			K       int
			Members []struct{ Host string }
		} `json:"redundancy_groups"`
	}](t, srv.mustJSON("GET", "/manage/v1/services/shop", nil))
	deps := map[string]bool{}
	for _, d := range shop.Dependencies {
		deps[d.Host+"/"+d.Service] = true
	}
	if len(deps) != 2 || !deps["/website"] || !deps["router/"] || len(shop.RedundancyGroups) != 1 || len(shop.RedundancyGroups[0].Members) != 2 {
		t.Errorf("service shop %+v", shop)
	}
	navigate(ctx, srv.URL+"/services/shop")
	waitJS(ctx, "the member service", uiFind("#main .list a", "service website"), 30*time.Second)
	noPageErrors(ctx)
}

// TestUIPlugins: an admin uploads a plugin package made with `prophasis
// plugin new` and `pack`, sees its version current, uploads a second version
// and rolls back to the first; tests a classifier against a host's stored
// results (a classifier that does not compile shows the compiler's error).
func TestUIPlugins(t *testing.T) {
	srv := startUIServer(t)
	dir := t.TempDir()
	prophasis := filepath.Join(binDir, "prophasis")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(prophasis, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("prophasis %v: %v\n%s", args, err, out)
		}
	}
	run("plugin", "new", "uipkg")
	run("plugin", "pack", "-o", filepath.Join(dir, "v1.tar.gz"), "uipkg")
	manifest := filepath.Join(dir, "uipkg", "manifest.json")
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, bytes.Replace(b, []byte(`"0.1.0"`), []byte(`"0.2.0"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	run("plugin", "pack", "-o", filepath.Join(dir, "v2.tar.gz"), "uipkg")

	// Stored results of a plugin with a classifier, to test against.
	srv.mustJSON("POST", "/manage/v1/plugins", map[string]any{"name": "uidisk", "kind": "exec", "entrypoint": "x",
		"classifier": `if values[1] > 90 then return "critical" end return "ok"`})
	srv.mustJSON("POST", "/manage/v1/hosts", map[string]any{"name": "web1"})
	srv.mustJSON("POST", "/manage/v1/schedules", map[string]any{"name": "1m", "intervals": []map[string]string{{"period": "1m"}}})
	srv.mustJSON("POST", "/manage/v1/checks", map[string]any{"name": "res", "plugins": []string{"uidisk"}, "hosts": []string{"web1"}, "schedule": "1m"})
	for i, v := range []float64{50, 95, 60} {
		r := wire.Result{Host: "web1", Plugin: "uidisk", Check: "res", Value: val(v), Duration: 0.01,
			Timestamp: time.Now().Add(time.Duration(i-3) * time.Minute).UnixMilli(), Message: fmt.Sprintf("disk %g%%", v)}
		if code, body := srv.do("POST", "/agent/v1/results", "application/json", resultsBody(t, r)); code != 200 {
			t.Fatalf("push: %d %s", code, body)
		}
	}

	ctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(ctx, srv.URL+"/config/plugins", srv.Admin)
	for _, v := range []string{"v1", "v2"} {
		do(ctx, "choose the package", chromedp.SetUploadFiles("#pkg-file", []string{filepath.Join(dir, v+".tar.gz")}, chromedp.NodeVisible))
		clickText(ctx, "button[type=submit]", "Upload")
		waitJS(ctx, "the upload published", `document.body.innerText.includes('published uipkg')`, 15*time.Second)
	}
	waitJS(ctx, "the plugin listed", uiFind("#main .list strong", "uipkg"), 15*time.Second)
	evalJS[bool](ctx, `([...document.querySelectorAll('#main .list > li')].find(li => li.querySelector('strong')?.textContent === 'uipkg').querySelector('button[aria-expanded]').click(), true)`)
	waitJS(ctx, "two versions, 0.2.0 current", `[...document.querySelectorAll('.sub li')].some(li => li.innerText.includes('0.2.0') && li.querySelector('.badge')?.textContent === 'current')`, 15*time.Second)
	clickText(ctx, ".sub button", "Make current")
	waitJS(ctx, "0.1.0 current", `[...document.querySelectorAll('.sub li')].some(li => li.innerText.includes('0.1.0') && li.querySelector('.badge')?.textContent === 'current')`, 15*time.Second)
	raw := srv.mustJSON("GET", "/manage/v1/plugins/uipkg", nil)
	if p := uiJSON[struct{ Version string }](t, raw); p.Version != "0.1.0" {
		t.Errorf("plugin version after rolling back: %q in %s", p.Version, raw)
	}
	screenshot(ctx, "versions")

	// The classifier test of uidisk against web1's results.
	evalJS[bool](ctx, `([...document.querySelectorAll('#main .list > li')].find(li => li.querySelector('strong')?.textContent === 'uidisk').querySelectorAll('button[aria-expanded]')[1].click(), true)`)
	waitJS(ctx, "the check that runs it", `document.querySelector('form.sub select[id$=-check]')?.value === 'res' && !`+uiFind("button[type=submit]", "Test against recent data")+`.disabled`, 15*time.Second)
	clickText(ctx, "button[type=submit]", "Test against recent data")
	waitJS(ctx, "a critical step", `document.querySelector('.sub table') && [...document.querySelectorAll('.sub td .badge')].some(b => b.textContent.startsWith('critical'))`, 15*time.Second)
	setField(ctx, "form.sub textarea", "return (")
	clickText(ctx, "button[type=submit]", "Test against recent data")
	waitJS(ctx, "the compiler's error", `document.querySelector('form.sub [role=alert] .field-error')`, 15*time.Second)
	screenshot(ctx, "classifier")

	// A trend rule's backtest over the same results.
	srv.mustJSON("POST", "/manage/v1/trend-rules", map[string]any{"name": "uitrend", "selector": `prophasis_value{plugin="uidisk"}`,
		"window": "10m", "interval": "1m", "expr": `last(window) > 90 ? "critical" : "ok"`})
	navigate(ctx, srv.URL+"/config/trend-rules")
	waitJS(ctx, "the trend rule listed", uiFind("#main .list strong", "uitrend"), 15*time.Second)
	evalJS[bool](ctx, `([...document.querySelectorAll('#main .list > li')].find(li => li.querySelector('strong')?.textContent === 'uitrend').querySelector('button[aria-expanded]').click(), true)`)
	clickText(ctx, "form.sub button[type=submit]", "Backtest")
	waitJS(ctx, "the backtest's changes", `[...document.querySelectorAll('form.sub td .badge')].some(b => b.textContent.startsWith('critical'))`, 15*time.Second)
	screenshot(ctx, "backtest")

	// A new trend rule with its form, backtested before it is saved.
	clickText(ctx, "button", "New")
	typeText(ctx, "#trend-name", "uitrend2")
	setField(ctx, "#trend-selector", `prophasis_value{plugin="uidisk"}`)
	setField(ctx, "#trend-window", "10m")
	setField(ctx, "#trend-interval", "1m")
	setField(ctx, "#trend-expr", `last(window) > 90 ? "major" : "ok"`)
	clickText(ctx, "button", "Backtest these fields")
	waitJS(ctx, "the unsaved rule's changes", `[...document.querySelectorAll('.sub td .badge')].some(b => b.textContent.startsWith('major'))`, 15*time.Second)
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the new rule listed", uiFind("#main .list strong", "uitrend2"), 15*time.Second)
	noPageErrors(ctx)
}

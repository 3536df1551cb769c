package e2e

// Browser tests of the dashboards (frontend/src/pages/dashboards.tsx,
// dashview.tsx, dashvars.tsx, dashdoc.ts), stored by the server at
// /manage/v1/dashboards.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// setChange sets a field's value and fires change (Preact's onChange).
func setChange(ctx context.Context, sel, value string) {
	browserT(ctx).Helper()
	evalJS[bool](ctx, `(() => { const e = document.querySelector(`+jsString(sel)+`); e.value = `+jsString(value)+`;
		e.dispatchEvent(new Event('change', {bubbles: true})); return true })()`)
}

// serverDashboard reads a dashboard through the management API.
func serverDashboard(t *testing.T, srv *uiServer, name string) (int, map[string]any) {
	t.Helper()
	code, body := srv.do("GET", "/manage/v1/dashboards/"+name, "", nil)
	if code != http.StatusOK {
		return code, nil
	}
	return code, uiJSON[map[string]any](t, body)
}

// TestUIDashboards: an admin makes a dashboard in the UI with panels of
// every type for the host variable; it is stored by the server (it survives
// a reload, and a second browser, a viewer's, sees it without edit
// buttons); dragging on a chart zooms every panel; a multi-select host
// variable with a panel repeated by it draws one panel per host; the JSON
// editor shows the server's reason for a refused change; a host's automatic
// dashboard is saved as a stored one; a group variable expands to its hosts
// (a table repeated by two groups holds each group's hosts); a bad import
// is refused with the server's reason, and an exported dashboard, deleted,
// imports back the same; dashboards of the earlier version (localStorage)
// move to the server in one click; the dashboards fit a phone's 375 px.
func TestUIDashboards(t *testing.T) {
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/plugins", map[string]any{"name": "uidisk", "kind": "exec", "entrypoint": "x"})
	hosts := []string{"web1", "web2", "web3"}
	for _, h := range hosts {
		srv.mustJSON("POST", "/manage/v1/hosts", map[string]any{"name": h})
	}
	srv.mustJSON("POST", "/manage/v1/groups", map[string]any{"name": "webs", "hosts": []string{"web1", "web2"}})
	srv.mustJSON("POST", "/manage/v1/groups", map[string]any{"name": "db", "hosts": []string{"web3"}})
	srv.mustJSON("POST", "/manage/v1/schedules", map[string]any{"name": "1m", "intervals": []map[string]string{{"period": "1m"}}})
	srv.mustJSON("POST", "/manage/v1/checks", map[string]any{"name": "res", "plugins": []string{"uidisk"}, "hosts": hosts, "schedule": "1m"})
	now := time.Now()
	for n, h := range hosts {
		var rs []wire.Result
		for i := 30; i >= 0; i-- {
			rs = append(rs, wire.Result{Host: h, Plugin: "uidisk", Check: "res", Value: val(float64(40 + i + 10*n)), Duration: 0.01,
				Timestamp: now.Add(-time.Duration(i) * time.Minute).UnixMilli(), Message: "ok"})
		}
		if code, body := srv.do("POST", "/agent/v1/results", "application/json", resultsBody(t, rs...)); code != 200 {
			t.Fatalf("push: %d %s", code, body)
		}
	}

	// An admin makes a dashboard: a name, then panels of every type.
	ctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(ctx, srv.URL+"/dashboards", srv.Admin)
	waitJS(ctx, "the empty list", `document.body.innerText.includes('No dashboards yet')`, 15*time.Second)
	clickText(ctx, "button", "New dashboard")
	setField(ctx, "#dash-new-title", "Web servers")
	clickText(ctx, "button[type=submit]", "Create")
	waitJS(ctx, "the new dashboard in edit mode", `location.pathname === '/dashboards/web-servers' && location.search.includes('edit=1')`, 10*time.Second)
	waitJS(ctx, "the host variable", `document.querySelector('#var-host')?.value === 'web1'`, 15*time.Second)
	waitJS(ctx, "the time-series panel", `document.querySelector('.panel-timeseries .chart canvas')`, 30*time.Second)
	waitJS(ctx, "the stat panel", `document.querySelector('.panel-stat .stat-value')?.textContent === '0'`, 30*time.Second)
	clickText(ctx, "button", "Add gauge")
	waitJS(ctx, "the gauge panel", `document.querySelector('.panel-gauge svg.gauge')`, 30*time.Second)
	clickText(ctx, "button", "Add state")
	waitJS(ctx, "the state timeline panel", `document.querySelector('.panel-state .timeline .band')`, 30*time.Second)
	clickText(ctx, "button", "Add messages")
	waitJS(ctx, "the messages panel", `[...document.querySelectorAll('.panel-messages .msg')].some(e => e.textContent === 'ok')`, 30*time.Second)
	clickText(ctx, "a", "Done")
	waitJS(ctx, "edit mode left", `!location.search.includes('edit=1')`, 5*time.Second)
	screenshot(ctx, "dashboard")

	// Stored by the server: the API has it, and a reload shows it.
	if code, d := serverDashboard(t, srv, "web-servers"); code != 200 || len(d["panels"].([]any)) != 5 || d["title"] != "Web servers" {
		t.Fatalf("the server's dashboard: %d %v", code, d)
	}
	navigate(ctx, srv.URL+"/dashboards/web-servers")
	waitJS(ctx, "five panels after a reload", `document.querySelectorAll('.panel').length === 5 && document.querySelector('.panel-gauge svg.gauge')`, 30*time.Second)

	dragAcross(ctx, ".panel-timeseries .u-over", 0.85, 0.99)
	waitJS(ctx, "the zoomed range in the URL", `(() => { const q = new URLSearchParams(location.search); return +q.get('to') > +q.get('from') && +q.get('from') > 0 })()`, 10*time.Second)
	waitJS(ctx, "the zoomed panels", `document.querySelector('.panel-timeseries .chart canvas') && document.querySelector('.panel-gauge svg.gauge')`, 30*time.Second)

	// A second browser, a viewer's: the same dashboard, no edit buttons.
	vctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(vctx, srv.URL+"/dashboards", srv.Viewer)
	waitJS(vctx, "the dashboard in the viewer's list", uiFind("#main a", "Web servers"), 15*time.Second)
	for _, b := range []string{"New dashboard", "Import JSON"} {
		if evalJS[bool](vctx, "!!"+uiFind("button", b)) {
			t.Errorf("a viewer sees the button %q on the list", b)
		}
	}
	clickText(vctx, "#main a", "Web servers")
	waitJS(vctx, "the viewer's panels", `document.querySelectorAll('.panel').length === 5 && document.querySelector('.panel-timeseries .chart canvas')`, 30*time.Second)
	navigate(vctx, srv.URL+"/dashboards/web-servers?edit=1")
	waitJS(vctx, "the panels", `document.querySelectorAll('.panel').length === 5`, 30*time.Second)
	for _, b := range []string{"Edit", "Done", "Add gauge", "Delete dashboard", "Remove panel"} {
		if evalJS[bool](vctx, "!!"+uiFind("button, a", b)) {
			t.Errorf("a viewer sees the button %q on a dashboard", b)
		}
	}
	if !evalJS[bool](vctx, "!!"+uiFind("a", "Export")) {
		t.Error("a viewer cannot export")
	}
	screenshot(vctx, "dashboard-viewer")
	navigate(vctx, srv.URL+"/hosts/web1/dashboard")
	waitJS(vctx, "the automatic dashboard", `document.querySelectorAll('.panel').length >= 1`, 30*time.Second)
	if evalJS[bool](vctx, "!!"+uiFind("button", "Save as a dashboard")) {
		t.Error("a viewer sees Save as a dashboard")
	}
	noPageErrors(vctx)

	// A multi-select host variable, the first panel repeated by it: one
	// panel per selected host, the selection in the URL.
	navigate(ctx, srv.URL+"/dashboards/web-servers?edit=1")
	waitJS(ctx, "the editor", `document.querySelector('#dash-var-host-multi') && document.querySelector('.panel-repeat')`, 15*time.Second)
	evalJS[bool](ctx, `(document.querySelector('#dash-var-host-multi').click(), true)`)
	waitJS(ctx, "the host variable made multi-select", `document.querySelector('details#var-host') && document.querySelector('.panel-repeat')`, 10*time.Second)
	setChange(ctx, ".panel-repeat", "host")
	waitJS(ctx, "the panel repeated", `document.querySelector('.panel[data-repeat=host]')`, 10*time.Second)
	if _, d := serverDashboard(t, srv, "web-servers"); d["panels"].([]any)[0].(map[string]any)["repeat"] != "host" ||
		!d["variables"].([]any)[0].(map[string]any)["multi"].(bool) {
		t.Fatalf("the server's dashboard after editing: %v", d)
	}
	navigate(ctx, srv.URL+"/dashboards/web-servers?var-host=web1,web2,web3&range=1h")
	waitJS(ctx, "three repeated panels", `document.querySelectorAll('.panel-timeseries[data-repeat=host] .chart canvas').length === 3`, 30*time.Second)
	titles := evalJS[[]string](ctx, `[...document.querySelectorAll('.panel[data-repeat=host] h2')].map(e => e.textContent)`)
	if !slices.Equal(titles, []string{"Values of web1", "Values of web2", "Values of web3"}) {
		t.Errorf("repeated panels' titles %q", titles)
	}
	// Untick web2 in the picker: two panels, and the URL says which.
	evalJS[bool](ctx, `(document.querySelector('details#var-host').open = true, true)`)
	evalJS[bool](ctx, `(document.querySelector('input[name=var-host][value=web2]').click(), true)`)
	waitJS(ctx, "two repeated panels", `document.querySelectorAll('.panel[data-repeat=host]').length === 2 && new URLSearchParams(location.search).get('var-host') === 'web1,web3'`, 15*time.Second)
	// The panels that are not repeated query every selected host: their
	// host="$host" became host=~"web1|web3".
	waitJS(ctx, "the stat over both hosts", `document.querySelector('.panel-stat .stat-value')?.textContent === '0'`, 15*time.Second)
	waitJS(ctx, "the state timeline of both hosts", `document.querySelectorAll('.panel-state .state-row').length === 2`, 15*time.Second)
	screenshot(ctx, "dashboard-repeat")

	// The JSON editor: a refused change shows the server's reason and
	// changes nothing; a document without a name keeps the dashboard's.
	navigate(ctx, srv.URL+"/dashboards/web-servers?edit=1")
	waitJS(ctx, "the JSON editor", `document.querySelector('#dash-json')?.value.includes('"web-servers"')`, 15*time.Second)
	evalJS[bool](ctx, `(document.querySelector('#dash-json').closest('details').open = true, true)`)
	setField(ctx, "#dash-json", `{"title": "Web servers", "panels": [{"type": "pie", "query": "up"}]}`)
	clickText(ctx, "button", "Apply JSON")
	waitJS(ctx, "the server's reason", `[...document.querySelectorAll('.error')].some(e => e.textContent.includes('Not saved') && e.textContent.includes('panels[0].type "pie" must be one of'))`, 10*time.Second)
	if _, d := serverDashboard(t, srv, "web-servers"); len(d["panels"].([]any)) != 5 {
		t.Fatalf("a refused JSON edit changed the dashboard: %v", d)
	}
	setField(ctx, "#dash-json", `{"title": "Web servers (all)", "variables": [{"name": "host", "multi": true}], "panels": [
		{"title": "Values of $host", "type": "timeseries", "query": "prophasis_value{host=\"$host\"}", "repeat": "host"},
		{"title": "hosts", "type": "stat", "query": "count(prophasis_value{host=\"$host\"})"}]}`)
	clickText(ctx, "button", "Apply JSON")
	waitJS(ctx, "the edited dashboard", `document.querySelector('#main h1').textContent.includes('Web servers (all)') && document.querySelectorAll('.panel').length === 2 && !document.querySelector('.error')`, 10*time.Second)
	if code, d := serverDashboard(t, srv, "web-servers"); code != 200 || d["title"] != "Web servers (all)" || len(d["panels"].([]any)) != 2 {
		t.Fatalf("the JSON edit: %d %v", code, d)
	}

	// A host's automatic dashboard, saved as a stored one.
	navigate(ctx, srv.URL+"/hosts/web2/dashboard")
	clickText(ctx, "button", "Save as a dashboard")
	waitJS(ctx, "the saved copy in edit mode", `location.pathname === '/dashboards/web2-dashboard' && location.search.includes('edit=1') && document.querySelector('#main h1').textContent.includes('web2 dashboard')`, 15*time.Second)
	if code, d := serverDashboard(t, srv, "web2-dashboard"); code != 200 || len(d["panels"].([]any)) == 0 {
		t.Fatalf("the saved automatic dashboard: %d %v", code, d)
	}
	// Its panels (no variables) open in Explore with the way back to the panel.
	if href := evalJS[string](ctx, `document.querySelector('.panel a[href^="/explore"]').getAttribute('href')`); !strings.Contains(href, "dash=web2-dashboard&panel=0") {
		t.Errorf("a stored panel's Explore link %q", href)
	}

	// Import: a bad document is refused with the server's reason; a good
	// one with a group variable ($group is its hosts) opens.
	navigate(ctx, srv.URL+"/dashboards")
	clickText(ctx, "button", "Import JSON")
	setField(ctx, "#dash-import-json", `{"name": "bad", "title": "x", "panels": [{"type": "pie", "query": "up"}]}`)
	clickText(ctx, "button[type=submit]", "Import")
	waitJS(ctx, "the reason beside the field", `document.querySelector('#dash-import-err').textContent.includes('panels[0].type "pie" must be one of')`, 5*time.Second)
	if code, _ := serverDashboard(t, srv, "bad"); code != 404 {
		t.Fatalf("the refused import was stored: %d", code)
	}
	imported := `{"name": "by-group", "title": "Imported <b>board</b>", "description": "per group",
		"variables": [{"name": "group", "multi": true}, {"name": "host", "multi": true}],
		"panels": [{"title": "values in $group", "type": "table", "query": "prophasis_value{host=~\"$group\"}", "repeat": "group"},
			{"title": "sum of $host", "type": "stat", "query": "sum(prophasis_value{host=~\"$host\"})", "repeat": "host"}]}`
	setField(ctx, "#dash-import-json", imported)
	clickText(ctx, "button[type=submit]", "Import")
	waitJS(ctx, "the imported dashboard", `location.pathname === '/dashboards/by-group' && document.querySelector('#main h1')?.textContent.includes('Imported <b>board</b>') && document.querySelector('.panel-table td')`, 30*time.Second)
	// Two groups picked, the table repeated by group: each table holds its
	// group's hosts only.
	navigate(ctx, srv.URL+"/dashboards/by-group?var-group=db,webs")
	waitJS(ctx, "one table per group", `document.querySelectorAll('.panel-table tbody tr').length === 3`, 30*time.Second)
	tables := evalJS[map[string]string](ctx, `Object.fromEntries([...document.querySelectorAll('.panel-table')].map(p => [p.querySelector('h2').textContent, p.querySelector('tbody').textContent]))`)
	if w, d := tables["values in webs"], tables["values in db"]; len(tables) != 2 || !strings.Contains(w, "web1") || !strings.Contains(w, "web2") ||
		strings.Contains(w, "web3") || !strings.Contains(d, "web3") || strings.Contains(d, "web1") {
		t.Errorf("tables repeated by group: %q", tables)
	}

	// Export, delete (in the UI), import the export: the same document.
	exported := evalJS[string](ctx, `decodeURIComponent(document.querySelector('a[download]').getAttribute('href').replace(/^data:application\/json;charset=utf-8,/, ''))`)
	var doc map[string]any
	if err := json.Unmarshal([]byte(exported), &doc); err != nil || doc["name"] != "by-group" || doc["title"] != "Imported <b>board</b>" || len(doc["panels"].([]any)) != 2 || doc["id"] != nil {
		t.Fatalf("export %q: %v", exported, err)
	}
	navigate(ctx, srv.URL+"/dashboards/by-group?edit=1")
	evalJS[bool](ctx, "(window.confirm = () => true, true)")
	clickText(ctx, "button", "Delete dashboard")
	waitJS(ctx, "the list after the delete", `location.pathname === '/dashboards' && !`+uiFind("#main a", "Imported <b>board</b>"), 10*time.Second)
	if code, _ := serverDashboard(t, srv, "by-group"); code != 404 {
		t.Fatalf("the deleted dashboard is still stored: %d", code)
	}
	clickText(ctx, "button", "Import JSON")
	setField(ctx, "#dash-import-json", exported)
	clickText(ctx, "button[type=submit]", "Import")
	waitJS(ctx, "the dashboard imported back", `location.pathname === '/dashboards/by-group' && document.querySelector('.panel-table td')`, 30*time.Second)
	if again := evalJS[string](ctx, `decodeURIComponent(document.querySelector('a[download]').getAttribute('href').replace(/^data:application\/json;charset=utf-8,/, ''))`); again != exported {
		t.Errorf("export after the round trip:\n%s\nwant\n%s", again, exported)
	}

	// Dashboards the earlier version kept in this browser move to the server.
	legacy := `[{"id": "k3j2", "title": "Old board", "variables": {"host": true}, "panels": [{"title": "up of $host", "type": "stat", "query": "count(up{host=\"$host\"}) or vector(1)"}]}]`
	evalJS[bool](ctx, "(localStorage.setItem('prophasis.dashboards', "+jsString(legacy)+"), true)")
	navigate(ctx, srv.URL+"/dashboards")
	waitJS(ctx, "the offer to move them", uiFind("button", "Move to server"), 15*time.Second)
	screenshot(ctx, "dashboards-legacy")
	clickText(ctx, "button", "Move to server")
	waitJS(ctx, "the moved dashboard in the list", uiFind("#main a", "Old board")+` && !`+uiFind("button", "Move to server"), 15*time.Second)
	if evalJS[bool](ctx, `localStorage.getItem('prophasis.dashboards') !== null`) {
		t.Error("the moved dashboards are still in localStorage")
	}
	if code, d := serverDashboard(t, srv, "old-board"); code != 200 || fmt.Sprint(d["variables"]) != "[map[name:host]]" {
		t.Fatalf("the moved dashboard: %d %v", code, d)
	}
	clickText(ctx, "#main a", "Old board")
	waitJS(ctx, "the moved dashboard's panel", `document.querySelector('.panel-stat h2')?.textContent === 'up of web1'`, 30*time.Second)
	noPageErrors(ctx)

	// A phone: the dashboard and its variable pickers fit 375 px.
	pctx := newBrowser(t, phoneWidth, phoneHeight)
	uiLogin(pctx, srv.URL+"/dashboards/web-servers?var-host=web1,web2", srv.Admin)
	waitJS(pctx, "the phone's panels", `document.querySelectorAll('.panel-timeseries .chart canvas').length === 2 && document.querySelector('.panel-stat .stat-value')?.textContent === '2'`, 30*time.Second)
	evalJS[bool](pctx, `(document.querySelector('details#var-host').open = true, true)`)
	for _, path := range []string{"/dashboards/web-servers?var-host=web1,web2", "/dashboards/by-group?edit=1", "/dashboards"} {
		if !strings.HasPrefix(evalJS[string](pctx, "location.pathname+location.search"), path) {
			navigate(pctx, srv.URL+path)
			waitJS(pctx, "the page "+path, `document.querySelector('#main h1') && !document.body.innerText.includes('loading')`, 30*time.Second)
		}
		time.Sleep(500 * time.Millisecond)
		if w := evalJS[float64](pctx, "document.documentElement.scrollWidth"); w > phoneWidth+1 {
			t.Errorf("%s is %v px wide at %d", path, w, phoneWidth)
		}
		screenshot(pctx, "phone-"+strings.Trim(strings.NewReplacer("/", "-", "?", "-", "=", "-", ",", "-", "&", "-").Replace(path), "-"))
	}
	noPageErrors(pctx)
}

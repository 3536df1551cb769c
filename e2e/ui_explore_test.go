package e2e

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestUIExploreToDashboards: links both ways between Explore and the
// dashboards. A query explored goes onto a new dashboard and then onto an
// existing one as a panel; Explore opened from a panel (?dash=&panel=)
// names the panel and saves the edited query back into it; a viewer sees
// none of it.
func TestUIExploreToDashboards(t *testing.T) {
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/dashboards", map[string]any{"name": "ops", "title": "Ops", "variables": []any{},
		"panels": []map[string]any{{"title": "Load", "type": "timeseries", "query": "prophasis_value"}}})

	ctx := newBrowser(t, desktopWidth, desktopHeight)
	q := `sum(prophasis_host_state)`
	uiLogin(ctx, srv.URL+"/explore?q="+url.QueryEscape(q), srv.Admin)
	waitJS(ctx, "the dashboard choice", `document.querySelector('#to-dash option[value="ops"]')`, 15*time.Second)

	// Onto a new dashboard.
	setChange(ctx, "#to-dash", "\u0000new")
	setField(ctx, "#to-dash-title", "Explored states")
	clickText(ctx, "button", "Add panel")
	waitJS(ctx, "the new dashboard's link", uiFind(".to-dashboard [role=status] a", "Explored states"), 10*time.Second)
	code, d := serverDashboard(t, srv, "explored-states")
	if code != 200 || !strings.Contains(mustMarshal(t, d["panels"]), `"query":"sum(prophasis_host_state)"`) {
		t.Fatalf("the new dashboard: %d %v", code, d)
	}

	// Onto an existing one: a panel added after Load.
	setChange(ctx, "#to-dash", "ops")
	clickText(ctx, "button", "Add panel")
	waitJS(ctx, "the confirmation", `document.querySelector('.to-dashboard [role=status]')?.textContent.includes('a panel added')`, 10*time.Second)
	_, d = serverDashboard(t, srv, "ops")
	if panels := d["panels"].([]any); len(panels) != 2 || panels[1].(map[string]any)["query"] != q || panels[0].(map[string]any)["query"] != "prophasis_value" {
		t.Fatalf("ops after adding: %v", d["panels"])
	}
	screenshot(ctx, "explore-to-dashboard")

	// From panel 0 of ops: named, and the edited query goes back into it.
	edited := `avg(prophasis_value)`
	navigate(ctx, srv.URL+"/explore?q="+url.QueryEscape(edited)+"&dash=ops&panel=0")
	waitJS(ctx, "the panel it came from", `document.querySelector('.to-dashboard')?.textContent.includes('From panel Load of Ops')`, 15*time.Second)
	clickText(ctx, "button", "Save query to the panel")
	waitJS(ctx, "the confirmation", `document.querySelector('.to-dashboard [role=status]')?.textContent.includes('panel "Load" updated')`, 10*time.Second)
	_, d = serverDashboard(t, srv, "ops")
	if panels := d["panels"].([]any); len(panels) != 2 || panels[0].(map[string]any)["query"] != edited || panels[0].(map[string]any)["title"] != "Load" {
		t.Fatalf("ops after saving back: %v", d["panels"])
	}
	noPageErrors(ctx)

	// A viewer explores but cannot put anything on a dashboard.
	vctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(vctx, srv.URL+"/explore?q="+url.QueryEscape(q)+"&dash=ops&panel=0", srv.Viewer)
	waitJS(vctx, "the explorer", `document.querySelector('textarea')`, 15*time.Second)
	time.Sleep(500 * time.Millisecond)
	if evalJS[bool](vctx, `!!document.querySelector('.to-dashboard')`) {
		t.Error("a viewer is offered to change a dashboard")
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

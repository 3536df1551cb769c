package manage

import (
	"context"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/store"
)

// TestDashboardsREST: admins create, replace, rename and delete dashboards;
// viewers read them and are refused writes; bad bodies are refused with the
// field named, and change nothing.
func TestDashboardsREST(t *testing.T) {
	a := newTestAPI(t)
	body := map[string]any{
		"name": "web", "title": "Web servers",
		"variables": []map[string]any{{"name": "host", "multi": true}, {"name": "group"}},
		"panels": []map[string]any{
			{"title": "load of $host", "type": "timeseries", "query": `prophasis_value{host=~"$host"}`, "repeat": "host"},
			{"title": "disk", "type": "gauge", "query": `prophasis_value{plugin="disk"}`, "min": 0, "max": 100, "unit": "%"},
		},
	}
	var d store.Dashboard
	a.ok("POST", "/dashboards", a.admin, body, &d)
	if d.ID == 0 || d.Title != "Web servers" || len(d.Panels) != 2 || d.Panels[0].Repeat != "host" || *d.Panels[1].Max != 100 || !d.Variables[0].Multi {
		t.Fatalf("created %+v", d)
	}
	a.fails("POST", "/dashboards", a.admin, body, "", 409, "conflict", `dashboard "web" already exists`)

	// Viewers read, never write.
	var list []store.Dashboard
	a.ok("GET", "/dashboards", a.viewer, nil, &list)
	if len(list) != 1 || list[0].Name != "web" {
		t.Fatalf("list %+v", list)
	}
	a.ok("GET", "/dashboards/web", a.viewer, nil, &d)
	a.fails("POST", "/dashboards", a.viewer, map[string]any{"name": "v", "panels": []any{}}, "", 403, "forbidden", "role viewer")
	a.fails("PUT", "/dashboards/web", a.viewer, body, "", 403, "forbidden")
	a.fails("DELETE", "/dashboards/web", a.viewer, nil, "", 403, "forbidden")
	a.fails("GET", "/dashboards/nope", a.viewer, nil, "", 404, "not_found", `dashboard "nope" not found`)

	// Bad bodies: the field is named, nothing changes.
	bad := func(edit func(p map[string]any), parts ...string) {
		t.Helper()
		p := map[string]any{"type": "stat", "query": "up"}
		edit(p)
		a.fails("PUT", "/dashboards/web", a.admin, map[string]any{"panels": []any{p}}, "", 400, "bad_data", parts...)
	}
	bad(func(p map[string]any) { p["type"] = "pie" }, `dashboard "web": panels[0].type "pie" must be one of timeseries, state, stat, gauge, table, messages`)
	bad(func(p map[string]any) { p["query"] = "" }, `dashboard "web": panels[0].query is required`)
	bad(func(p map[string]any) { p["colour"] = "red" }, `unknown field "colour"`)
	bad(func(p map[string]any) { p["repeat"] = "host" }, `panels[0].repeat "host" names no variable of the dashboard`)
	var panels []any
	for i := 0; i < 101; i++ {
		panels = append(panels, map[string]any{"type": "stat", "query": "up"})
	}
	a.fails("PUT", "/dashboards/web", a.admin, map[string]any{"panels": panels}, "", 400, "bad_data", "panels has 101 entries; the limit is 100")
	a.fails("POST", "/dashboards", a.admin, map[string]any{"name": "big", "panels": []any{map[string]any{"type": "stat", "query": strings.Repeat("q", 70<<10)}}},
		"", 400, "bad_data", `dashboard "big": panels[0].query is 71680 bytes long`)
	a.fails("POST", "/dashboards", a.admin, map[string]any{"name": "a b"}, "", 400, "bad_data", `dashboard "a b": name must match`)
	a.ok("GET", "/dashboards/web", a.admin, nil, &d)
	if len(d.Panels) != 2 || d.Title != "Web servers" {
		t.Fatalf("a refused write changed the dashboard: %+v", d)
	}

	// Replace and rename.
	a.ok("PUT", "/dashboards/web", a.admin, map[string]any{"name": "web2", "title": "Web", "panels": []any{map[string]any{"type": "stat", "query": "up"}}}, &d)
	if d.Name != "web2" || len(d.Panels) != 1 || len(d.Variables) != 0 {
		t.Fatalf("replaced %+v", d)
	}
	a.fails("GET", "/dashboards/web", a.admin, nil, "", 404, "not_found")

	// Export lists it; the same document applied back changes nothing.
	a.do("GET", "/export?format=json", a.viewer, nil, "")
	if a.lastStatus != 200 || !strings.Contains(a.lastBody, `"dashboards"`) || !strings.Contains(a.lastBody, `"web2"`) {
		t.Fatalf("export: %d %s", a.lastStatus, a.lastBody)
	}
	a.do("GET", "/export", a.viewer, nil, "")
	yml := a.lastBody
	if !strings.Contains(yml, "dashboards:") {
		t.Fatalf("YAML export:\n%s", yml)
	}
	var diff store.Diff
	a.ok("POST", "/apply", a.admin, []byte(yml), &diff)
	if !diff.Empty() {
		t.Fatalf("applying the export back: %+v", diff)
	}

	a.ok("DELETE", "/dashboards/web2", a.admin, nil, nil)
	a.fails("DELETE", "/dashboards/web2", a.admin, nil, "", 404, "not_found")
	if list, _ := a.st.Dashboards(context.Background()); len(list) != 0 {
		t.Fatalf("after delete %+v", list)
	}
}

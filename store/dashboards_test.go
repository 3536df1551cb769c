package store

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func testDashboard(name string) Dashboard {
	return Dashboard{
		Name: name, Title: "Web <b>servers</b>", Description: "load per host",
		Variables: []DashboardVariable{{Name: "host", Multi: true}, {Name: "group"}},
		Panels: []Panel{
			{Title: "load of $host", Type: "timeseries", Query: `prophasis_value{host=~"$host", plugin="load"}`, Repeat: "host", Stacked: true},
			{Title: "disk", Type: "gauge", Query: `prophasis_value{host=~"$group", plugin="disk"}`, Unit: "%", Min: ptr(0.0), Max: ptr(100.0), Help: "used"},
			{Type: "messages", Query: `{host="$host"}`},
		},
	}
}

func TestDashboardCRUD(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	if list := must[[]Dashboard](t)(st.Dashboards(ctx)); list == nil || len(list) != 0 {
		t.Fatalf("empty store lists %#v", list)
	}
	changed := st.ConfigChanged()
	d := must[Dashboard](t)(st.CreateDashboard(ctx, testDashboard("web")))
	select {
	case <-changed:
		t.Error("creating a dashboard woke ConfigChanged (every agent's plan long poll)")
	default:
	}
	want := testDashboard("web")
	if d.ID == 0 || d.CreatedAt.IsZero() || d.Title != want.Title || !reflect.DeepEqual(d.Variables, want.Variables) || !reflect.DeepEqual(d.Panels, want.Panels) {
		t.Fatalf("created %+v", d)
	}
	if got := must[Dashboard](t)(st.Dashboard(ctx, "web")); !reflect.DeepEqual(got, d) {
		t.Fatalf("read back %+v\nwant %+v", got, d)
	}
	_, err := st.CreateDashboard(ctx, testDashboard("web"))
	wantErr(t, err, ErrConflict, `dashboard "web" already exists`)

	// Absent lists are empty lists; a dashboard of no panels is fine.
	e := must[Dashboard](t)(st.CreateDashboard(ctx, Dashboard{Name: "empty"}))
	if e.Variables == nil || e.Panels == nil || len(e.Panels) != 0 {
		t.Fatalf("empty %+v", e)
	}
	b, _ := json.Marshal(e)
	if !strings.Contains(string(b), `"variables":[]`) || !strings.Contains(string(b), `"panels":[]`) {
		t.Fatalf("JSON of an empty dashboard %s", b)
	}

	// Update replaces every field; "" keeps the name; another renames.
	up := testDashboard("")
	up.Panels = up.Panels[:1]
	up.Variables = []DashboardVariable{{Name: "host"}, {Name: "check", Multi: true}}
	got := must[Dashboard](t)(st.UpdateDashboard(ctx, "web", up))
	if got.Name != "web" || len(got.Panels) != 1 || got.Variables[1] != (DashboardVariable{Name: "check", Multi: true}) || got.ID != d.ID {
		t.Fatalf("updated %+v", got)
	}
	up.Name = "web2"
	must[Dashboard](t)(st.UpdateDashboard(ctx, "web", up))
	_, err = st.Dashboard(ctx, "web")
	wantErr(t, err, ErrNotFound, `dashboard "web" not found`)
	_, err = st.UpdateDashboard(ctx, "web2", Dashboard{Name: "empty"})
	wantErr(t, err, ErrConflict, `cannot rename dashboard "web2" to "empty"`)
	_, err = st.UpdateDashboard(ctx, "nope", Dashboard{})
	wantErr(t, err, ErrNotFound, `dashboard "nope" not found`)

	list := must[[]Dashboard](t)(st.Dashboards(ctx))
	if len(list) != 2 || list[0].Name != "empty" || list[1].Name != "web2" {
		t.Fatalf("list %+v", list)
	}
	if err := st.DeleteDashboard(ctx, "web2"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, st.DeleteDashboard(ctx, "web2"), ErrNotFound, `dashboard "web2" not found`)
}

func TestDashboardValidation(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	must[Dashboard](t)(st.CreateDashboard(ctx, testDashboard("keep")))
	f := func(edit func(d *Dashboard), parts ...string) {
		t.Helper()
		d := testDashboard("x")
		edit(&d)
		_, err := st.CreateDashboard(ctx, d)
		wantErr(t, err, ErrInvalid, parts...)
		if d.Name != "x" {
			return
		}
		// An update with the same body is refused alike and changes nothing.
		d.Name = "keep"
		_, err = st.UpdateDashboard(ctx, "keep", d)
		wantErr(t, err, ErrInvalid, parts[1:]...)
	}
	f(func(d *Dashboard) { d.Name = "a b" }, `dashboard "a b": name must match`)
	f(func(d *Dashboard) { d.Title = strings.Repeat("t", 257) }, `dashboard "x": title is 257 bytes long; the limit is 256`)
	f(func(d *Dashboard) { d.Description = "\xff" }, `dashboard "x": description is not valid UTF-8`)
	f(func(d *Dashboard) { d.Variables = append(d.Variables, DashboardVariable{Name: "plugin"}) },
		`dashboard "x": variables[2].name "plugin" must be one of host, group, check`)
	f(func(d *Dashboard) { d.Variables = []DashboardVariable{{Name: "host"}, {Name: "host"}} },
		`dashboard "x": variables[1].name: the variable "host" is declared twice`)
	f(func(d *Dashboard) {
		d.Variables = []DashboardVariable{{Name: "host"}, {Name: "group"}, {Name: "check"}, {Name: "check"}}
	}, `dashboard "x": variables has 4 entries; there are only 3 variables`)
	f(func(d *Dashboard) { d.Panels[1].Type = "pie" }, `dashboard "x": panels[1].type "pie" must be one of timeseries, state, stat, gauge, table, messages`)
	f(func(d *Dashboard) { d.Panels[2].Type = "" }, `dashboard "x": panels[2].type is required`)
	f(func(d *Dashboard) { d.Panels[0].Query = "  " }, `dashboard "x": panels[0].query is required`)
	f(func(d *Dashboard) { d.Panels[0].Query = strings.Repeat("q", 8193) }, `panels[0].query is 8193 bytes long; the limit is 8192`)
	f(func(d *Dashboard) { d.Panels[0].Title = strings.Repeat("q", 257) }, `panels[0].title is 257 bytes long`)
	f(func(d *Dashboard) { d.Panels[1].Unit = strings.Repeat("u", 33) }, `panels[1].unit is 33 bytes long; the limit is 32`)
	f(func(d *Dashboard) { d.Panels[1].Help = strings.Repeat("h", 1025) }, `panels[1].help is 1025 bytes long`)
	f(func(d *Dashboard) { d.Panels[1].Min = ptr(100.0) }, `dashboard "x": panels[1].max 100 must be more than min 100`)
	f(func(d *Dashboard) { d.Panels[1].Max = ptr(math.Inf(1)) }, `panels[1].max must be a finite number`)
	f(func(d *Dashboard) { d.Panels[0].Repeat = "check" }, `dashboard "x": panels[0].repeat "check" names no variable of the dashboard`)
	f(func(d *Dashboard) {
		d.Panels = nil
		for i := 0; i <= MaxDashboardPanels; i++ {
			d.Panels = append(d.Panels, Panel{Type: "stat", Query: "up"})
		}
	}, `dashboard "x": panels has 101 entries; the limit is 100`)
	f(func(d *Dashboard) {
		d.Panels = nil
		for i := 0; i < 20; i++ {
			d.Panels = append(d.Panels, Panel{Type: "stat", Query: strings.Repeat("q", 4000)})
		}
	}, `dashboard "x": the dashboard is`, `bytes as JSON; the limit is 65536`)

	if list := must[[]Dashboard](t)(st.Dashboards(ctx)); len(list) != 1 || !reflect.DeepEqual(list[0].Panels, testDashboard("").Panels) {
		t.Fatalf("refused writes changed the store: %+v", list)
	}
}

func TestDashboardApply(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	apply := func(yml string) Diff {
		t.Helper()
		doc, err := ParseDocumentYAML([]byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		diff, err := st.Apply(ctx, doc, false)
		if err != nil {
			t.Fatal(err)
		}
		return diff
	}
	diff := apply(`
hosts: [{name: web1}]
dashboards:
  - name: web
    title: Web
    variables: [{name: host, multi: true}]
    panels:
      - {title: "load of $host", type: timeseries, query: 'prophasis_value{host=~"$host"}', repeat: host}
      - {type: gauge, query: 'prophasis_value{plugin="disk"}', min: 0, max: 100, unit: "%"}
  - name: empty
    panels: []
`)
	if diff.Summary["dashboard"] != (Counts{Created: 2}) {
		t.Fatalf("summary %+v", diff.Summary)
	}
	d := must[Dashboard](t)(st.Dashboard(ctx, "web"))
	if len(d.Panels) != 2 || d.Panels[0].Repeat != "host" || *d.Panels[1].Max != 100 || !d.Variables[0].Multi {
		t.Fatalf("applied %+v", d)
	}

	// Export round trip: the export applied again changes nothing, in YAML
	// and in JSON.
	doc := must[Document](t)(st.Export(ctx))
	if len(doc.Dashboards) != 2 || doc.Dashboards[1].ID != 0 {
		t.Fatalf("export %+v", doc.Dashboards)
	}
	y, err := doc.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if diff := apply(string(y)); !diff.Empty() {
		t.Fatalf("re-applying the YAML export: %s\n%s", diff, y)
	}
	j, _ := json.Marshal(doc)
	jdoc, err := ParseDocumentJSON(j)
	if err != nil {
		t.Fatal(err)
	}
	if diff, err := st.Apply(ctx, jdoc, false); err != nil || !diff.Empty() {
		t.Fatalf("re-applying the JSON export: %v %s", err, diff)
	}

	// A document that does not list dashboards leaves them alone.
	if diff := apply("hosts: [{name: web1}, {name: web2}]\n"); diff.Summary["dashboard"] != (Counts{}) {
		t.Fatalf("a document without dashboards changed them: %s", diff)
	}
	if list := must[[]Dashboard](t)(st.Dashboards(ctx)); len(list) != 2 {
		t.Fatalf("dashboards after a document without them: %+v", list)
	}
	// One that lists them makes the store match: an update and a delete.
	diff = apply(`
hosts: [{name: web1}]
dashboards:
  - name: web
    title: Web servers
    panels: [{type: stat, query: up}]
`)
	if diff.Summary["dashboard"] != (Counts{Updated: 1, Deleted: 1}) {
		t.Fatalf("summary %+v\n%s", diff.Summary, diff)
	}
	if s := diff.String(); !strings.Contains(s, `title Web -> "Web servers"`) || !strings.Contains(s, "panels changed (2 -> 1 panels)") ||
		!strings.Contains(s, "variables [host (multi)] -> []") {
		t.Fatalf("diff text:\n%s", s)
	}
	// dashboards: [] deletes every one.
	if diff := apply("hosts: [{name: web1}]\ndashboards: []\n"); diff.Summary["dashboard"] != (Counts{Deleted: 1}) {
		t.Fatalf("summary %+v", diff.Summary)
	}

	// Bad dashboards in a document: every error named, nothing changed.
	for _, c := range []struct{ yml, want string }{
		{"dashboards:\n  - {name: a, panels: [{type: pie, query: up}]}\n", `dashboard "a": panels[0].type "pie" must be one of`},
		{"dashboards:\n  - {name: a, panels: [{type: stat, query: up, colour: red}]}\n", `field colour not found`},
		{"dashboards:\n  - {name: a, panels: []}\n  - {name: a, panels: []}\n", `dashboard "a" is defined twice`},
		{"dashboards:\n  - {name: a, panels: [{type: stat, query: up, repeat: host}]}\n", `panels[0].repeat "host" names no variable`},
	} {
		doc, err := ParseDocumentYAML([]byte(c.yml))
		if err == nil {
			_, err = st.Apply(ctx, doc, false)
		}
		wantErr(t, err, ErrInvalid, c.want)
	}
	if list := must[[]Dashboard](t)(st.Dashboards(ctx)); len(list) != 0 {
		t.Fatalf("refused documents stored dashboards: %+v", list)
	}
}

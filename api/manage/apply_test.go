package manage

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/store"
)

func exampleYAML(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../store/testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// addPlugins creates plugins with the given names and the alert modules
// email and slack, which the example's alert rules name.
func addPlugins(t *testing.T, st store.Store, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := st.CreatePlugin(context.Background(), store.Plugin{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	addModules(t, st, "email", "slack")
}

// addModules creates command alert modules with the given names.
func addModules(t *testing.T, st store.Store, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := st.AlertModule(context.Background(), n); err == nil {
			continue
		}
		if _, err := st.CreateAlertModule(context.Background(), store.AlertModule{Name: n, Kind: "command"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestApplyDryRunREST(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	addPlugins(t, a.st, "load", "memory", "disk", "http")
	example := exampleYAML(t)

	// Dry run: a diff, nothing stored.
	r := a.do("POST", "/apply?dry_run=true", a.admin, example, "application/yaml")
	if a.lastStatus != 200 {
		t.Fatalf("dry run: %d %s", a.lastStatus, a.lastBody)
	}
	var res applyResult
	if err := json.Unmarshal(r.Data, &res); err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || len(res.Changes) != 14 || res.Summary["host"].Created != 3 ||
		!strings.HasPrefix(res.Text, "+ host db1\n") || !strings.HasSuffix(res.Text, "(dry run, nothing changed)\n") {
		t.Fatalf("dry run result %+v", res)
	}
	if hosts, _ := a.st.Hosts(ctx); len(hosts) != 0 {
		t.Fatalf("dry run stored hosts: %+v", hosts)
	}
}

func TestApplyRoundTripREST(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	addPlugins(t, a.st, "load", "memory", "disk", "http")

	var res applyResult
	a.okRaw("POST", "/apply", a.admin, exampleYAML(t), "application/yaml", &res)
	if res.DryRun || res.Summary["check"].Created != 3 {
		t.Fatalf("apply result %+v", res)
	}
	if hosts, _ := a.st.GroupHosts(ctx, "edinburgh"); len(hosts) != 3 {
		t.Fatalf("edinburgh hosts %v", hosts)
	}

	// Export as YAML (the default): a file for apply.
	a.do("GET", "/export", a.viewer, nil, "")
	if a.lastStatus != 200 || !strings.HasPrefix(a.lastHeaders, "application/yaml") || !strings.Contains(a.lastBody, "- name: web1") {
		t.Fatalf("export: %d %s\n%s", a.lastStatus, a.lastHeaders, a.lastBody)
	}
	exported := a.lastBody
	a.okRaw("POST", "/apply", a.admin, exported, "application/yaml; charset=utf-8", &res)
	if len(res.Changes) != 0 || res.Text != "no changes\n" {
		t.Fatalf("re-applying the export: %+v", res)
	}

	// Export as JSON, in the envelope; JSON applies too.
	var doc store.Document
	req := a.do("GET", "/export?format=json", a.viewer, nil, "")
	if err := json.Unmarshal(req.Data, &doc); err != nil || len(doc.Hosts) != 3 {
		t.Fatalf("JSON export: %v %s", err, a.lastBody)
	}
	body, _ := json.Marshal(doc)
	a.okRaw("POST", "/apply", a.admin, string(body), "application/json", &res)
	if len(res.Changes) != 0 {
		t.Fatalf("re-applying the JSON export: %+v", res)
	}
	// Accept: application/json selects JSON as well.
	if got := a.doAccept("/export", "application/json"); !strings.HasPrefix(got, `{"status":"success"`) {
		t.Fatalf("export with Accept json: %s", got)
	}

	// Deleting by omission.
	a.okRaw("POST", "/apply", a.admin, "hosts: []\n", "application/yaml", &res)
	if res.Summary["host"].Deleted != 3 || res.Summary["alert_rule"].Deleted != 2 {
		t.Fatalf("delete everything: %+v", res)
	}
}

func TestApplyBadInputChangesNothing(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	addPlugins(t, a.st, "load", "memory", "disk", "http")
	var res applyResult
	a.okRaw("POST", "/apply", a.admin, exampleYAML(t), "application/yaml", &res)
	before, err := a.st.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(exampleYAML(t), "hosts: [web1, web2]", "hosts: [web1, web2, web7]", 1)
	bad = strings.Replace(bad, "address: 10.0.0.11", "address: 10.9.9.9", 1)
	a.fails("POST", "/apply", a.admin, bad, "application/yaml", 400, "bad_data", `group "webservers": unknown host "web7"`)
	a.fails("POST", "/apply", a.admin, "hosts:\n  - name: a\n    adress: x\n", "application/yaml", 400, "bad_data", "line 3", "field adress not found")
	a.fails("POST", "/apply", a.admin, "", "application/yaml", 400, "bad_data", "the document is empty")
	a.fails("POST", "/apply", a.admin, "groups:\n  - {name: a, groups: [b]}\n  - {name: b, groups: [a]}\n", "application/yaml",
		409, "conflict", "group nesting cycle: a -> b -> a")
	a.fails("POST", "/apply", a.admin, `{"hosts": [}`, "application/json", 400, "bad_data", "parse JSON")
	a.fails("POST", "/apply", a.admin, "hosts: []", "application/xml", 400, "bad_data", "unsupported Content-Type application/xml")
	a.fails("POST", "/apply?dry_run=maybe", a.admin, "hosts: []", "application/yaml", 400, "bad_data", `dry_run "maybe"`)
	a.fails("POST", "/apply", a.admin, strings.Repeat("#", maxDocumentBytes+1), "application/yaml", 413, "too_large")
	a.fails("GET", "/export?format=xml", a.viewer, nil, "", 400, "bad_data", `format "xml"`)
	after, err := a.st.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b1, b2 := mustJSON(t, before), mustJSON(t, after); b1 != b2 {
		t.Fatalf("a refused apply changed the store")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// doAccept sends GET path as the viewer with an Accept header and returns
// the body.
func (a *testAPI) doAccept(path, accept string) string {
	a.t.Helper()
	req := httptest.NewRequest("GET", "/manage/v1"+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.viewer)
	req.Header.Set("Accept", accept)
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	return rec.Body.String()
}

// okRaw sends a raw body with a content type; the call must succeed.
func (a *testAPI) okRaw(method, path, token, body, contentType string, out any) {
	a.t.Helper()
	r := a.do(method, path, token, body, contentType)
	if a.lastStatus != 200 || r.Status != "success" {
		a.t.Fatalf("%s %s: %d %s", method, path, a.lastStatus, a.lastBody)
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		a.t.Fatalf("decode: %v", err)
	}
}

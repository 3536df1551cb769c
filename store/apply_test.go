package store

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
)

// examplePlugins are the plugins testdata/example.yaml refers to.
var examplePlugins = []string{"load", "memory", "disk", "http"}

// exampleModules are the alert modules testdata/example.yaml refers to.
var exampleModules = []string{"email", "slack"}

func loadExample(t testing.TB) Document {
	t.Helper()
	b, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseDocumentYAML(b)
	if err != nil {
		t.Fatalf("parse example: %v", err)
	}
	return doc
}

func newExampleStore(t testing.TB) *sqlStore {
	t.Helper()
	st := newTestStore(t)
	for _, p := range examplePlugins {
		must[Plugin](t)(st.CreatePlugin(context.Background(), Plugin{Name: p}))
	}
	seedModules(t, st, exampleModules...)
	return st
}

func TestApplyExportRoundTrip(t *testing.T) {
	st := newExampleStore(t)
	ctx := context.Background()
	diff, err := st.Apply(ctx, loadExample(t), false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Counts{
		"host": {Created: 3}, "group": {Created: 2}, "schedule": {Created: 2}, "check": {Created: 3},
		"service": {Created: 2}, "alert_rule": {Created: 2},
	}
	if !reflect.DeepEqual(diff.Summary, want) {
		t.Fatalf("summary %+v, want %+v", diff.Summary, want)
	}
	if !strings.HasPrefix(diff.String(), "+ host db1\n+ host web1\n+ host web2\n+ group edinburgh\n") ||
		!strings.HasSuffix(diff.String(), "14 to create, 0 to update, 0 to delete (applied)\n") {
		t.Fatalf("diff text:\n%s", diff)
	}

	// Export, apply the export: nothing to do.
	doc, err := st.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff, err = st.Apply(ctx, doc, false)
	if err != nil {
		t.Fatal(err)
	}
	if !diff.Empty() || diff.String() != "no changes\n" {
		t.Fatalf("re-applying the export changed:\n%s", diff)
	}
	// Through YAML and JSON too.
	y, err := doc.YAML()
	if err != nil {
		t.Fatal(err)
	}
	doc2, err := ParseDocumentYAML(y)
	if err != nil {
		t.Fatalf("parse exported YAML: %v\n%s", err, y)
	}
	if diff, err := st.Apply(ctx, doc2, false); err != nil || !diff.Empty() {
		t.Fatalf("apply exported YAML: %v\n%s", err, diff)
	}
	// The original file itself is also a no-op now.
	if diff, err := st.Apply(ctx, loadExample(t), false); err != nil || !diff.Empty() {
		t.Fatalf("re-apply example: %v\n%s", err, diff)
	}
	if strings.Contains(string(y), "id:") || strings.Contains(string(y), "created_at") {
		t.Fatalf("export leaks store metadata:\n%s", y)
	}
}

func TestApplyUpdatesAndDeletes(t *testing.T) {
	st := newExampleStore(t)
	ctx := context.Background()
	if _, err := st.Apply(ctx, loadExample(t), false); err != nil {
		t.Fatal(err)
	}
	doc := loadExample(t)
	// web2 leaves; a new host joins; the minute schedule becomes 30 s; the
	// edinburgh group disappears (and with it its uses); the shop needs 2.
	doc.Hosts = append(doc.Hosts[:1], doc.Hosts[2], Host{Name: "web3", Address: "10.0.0.13"})
	doc.Hosts[0].Address = "10.0.0.21"
	doc.Groups = []Group{{Name: "webservers", Description: "everything that serves HTTP", Hosts: []string{"web1", "web3"}}}
	doc.Schedules[0].Intervals[0].Period = Duration(30e9)
	doc.Checks[1].Hosts = []string{"db1", "web3"}
	doc.Checks[2].Groups = nil
	doc.Checks[2].Hosts = []string{"web1", "web3"}
	doc.Checks = append(doc.Checks[1:2], doc.Checks[2])
	doc.Checks[0].Plugins = []string{"disk", "load"}
	doc.Services[1].RedundancyGroups[0].Members[1].Host = "web3"
	doc.Services[1].RedundancyGroups[0].K = 2
	doc.AlertRules = doc.AlertRules[1:]

	dry, err := st.Apply(ctx, doc, true)
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []string{
		"+ host web3",
		"~ host web1: address 10.0.0.11 -> 10.0.0.21",
		"- host web2",
		"~ group webservers: hosts [web1, web2] -> [web1, web3]",
		"- group edinburgh",
		"~ schedule every-minute: intervals [every 1m] -> [every 30s]",
		"~ check disks: plugins [disk] -> [disk, load]; hosts [db1] -> [db1, web3]",
		"~ check homepage: hosts [] -> [web1, web3]; groups [webservers] -> []",
		"- check resources",
		"~ service shop: redundancy group frontends k 1 -> 2; redundancy group frontends members [check homepage plugin http on web1, check homepage plugin http on web2] -> [check homepage plugin http on web1, check homepage plugin http on web3]",
		"- alert_rule page-on-critical",
		"1 to create, 6 to update, 4 to delete (dry run, nothing changed)",
	}
	text := dry.String()
	for _, l := range wantLines {
		if !strings.Contains(text, l+"\n") {
			t.Errorf("dry-run diff lacks %q", l)
		}
	}
	if t.Failed() {
		t.Fatalf("diff:\n%s", text)
	}
	// The dry run changed nothing.
	before, _ := st.Export(ctx)
	if len(before.Hosts) != 3 || before.Hosts[1].Name != "web1" || before.Hosts[1].Address != "10.0.0.11" || len(before.Groups) != 2 {
		t.Fatalf("dry run changed the store: %+v", before)
	}

	real, err := st.Apply(ctx, doc, false)
	if err != nil {
		t.Fatal(err)
	}
	if real.DryRun || len(real.Changes) != len(dry.Changes) {
		t.Fatalf("real apply differs from dry run:\n%s\nvs\n%s", real, dry)
	}
	after, err := st.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff, err := st.Apply(ctx, after, true); err != nil || !diff.Empty() {
		t.Fatalf("state after apply is not a fixed point: %v\n%s", err, diff)
	}
	if hosts := must[[]string](t)(st.GroupHosts(ctx, "webservers")); !reflect.DeepEqual(hosts, []string{"web1", "web3"}) {
		t.Fatalf("webservers = %v", hosts)
	}
	if _, err := st.Host(ctx, "web2"); err == nil {
		t.Fatal("web2 still exists")
	}
}

func TestApplyDeletesEverything(t *testing.T) {
	st := newExampleStore(t)
	ctx := context.Background()
	if _, err := st.Apply(ctx, loadExample(t), false); err != nil {
		t.Fatal(err)
	}
	doc, err := ParseDocumentYAML([]byte("hosts: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	diff, err := st.Apply(ctx, doc, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(diff.Changes); n != 14 {
		t.Fatalf("%d deletes, want 14:\n%s", n, diff)
	}
	after, _ := st.Export(ctx)
	if len(after.Hosts)+len(after.Groups)+len(after.Schedules)+len(after.Checks)+len(after.Services)+len(after.AlertRules) != 0 {
		t.Fatalf("left over: %+v", after)
	}
	// Plugins are not part of the document and survive.
	if ps := must[[]Plugin](t)(st.Plugins(ctx)); len(ps) != len(examplePlugins) {
		t.Fatalf("plugins %+v", ps)
	}
}

func TestApplyInvalidChangesNothing(t *testing.T) {
	st := newExampleStore(t)
	ctx := context.Background()
	if _, err := st.Apply(ctx, loadExample(t), false); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Export(ctx)
	f := func(edit func(d *Document), kind error, parts ...string) {
		t.Helper()
		doc := loadExample(t)
		doc.Hosts = append(doc.Hosts, Host{Name: "web9"}) // a valid change that must not land
		edit(&doc)
		_, err := st.Apply(ctx, doc, false)
		wantErr(t, err, kind, parts...)
		after, _ := st.Export(ctx)
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("a failed apply changed the store")
		}
	}
	f(func(d *Document) { d.Groups[0].Hosts = append(d.Groups[0].Hosts, "nope") }, ErrInvalid, `group "webservers": unknown host "nope"`)
	f(func(d *Document) { d.Checks[0].Schedule = "never" }, ErrInvalid, `check "resources": unknown schedule "never"`)
	f(func(d *Document) { d.Checks[0].Plugins = []string{"nope"} }, ErrInvalid, `check "resources": unknown plugin "nope"`)
	f(func(d *Document) { d.Services[0].Dependencies[0].Host = "gone" }, ErrInvalid, `service "database": unknown host "gone"`)
	f(func(d *Document) { d.AlertRules[0].Scope.Services = []string{"ghost"} }, ErrInvalid, `unknown service "ghost"`)
	f(func(d *Document) { d.Hosts = append(d.Hosts, Host{Name: "web1"}) }, ErrInvalid, `host "web1" is defined twice`)
	f(func(d *Document) { d.Version = 2 }, ErrInvalid, "version 2 is not supported")
	f(func(d *Document) {
		d.Groups[1].Groups = nil
		d.Groups[0].Groups = []string{"edinburgh"}
		d.Groups[1].Groups = []string{"webservers"}
	},
		ErrConflict, "group nesting cycle: edinburgh -> webservers -> edinburgh")
	f(func(d *Document) {
		d.Services[0].Dependencies = append(d.Services[0].Dependencies, Member{Service: "shop"})
	}, ErrConflict, "service dependency cycle: database -> shop -> database")
	// Several problems are reported at once.
	f(func(d *Document) {
		d.Hosts[0].Name = "bad name"
		d.Checks[1].Plugins = nil
	}, ErrInvalid, `host "bad name": name must match`, `check "disks": needs at least one plugin`, `unknown host "web1"`)
}

func TestApplyRenamedEntities(t *testing.T) {
	// Renaming in a document is delete + create; references move along.
	st := newExampleStore(t)
	ctx := context.Background()
	if _, err := st.Apply(ctx, loadExample(t), false); err != nil {
		t.Fatal(err)
	}
	doc := loadExample(t)
	doc.Groups[0].Name = "web"
	doc.Groups[1].Groups = []string{"web"}
	doc.Checks[2].Groups = []string{"web"}
	diff, err := st.Apply(ctx, doc, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"+ group web", "- group webservers", "~ group edinburgh: groups [webservers] -> [web]", "~ check homepage: groups [webservers] -> [web]"} {
		if !strings.Contains(diff.String(), l) {
			t.Fatalf("diff lacks %q:\n%s", l, diff)
		}
	}
}

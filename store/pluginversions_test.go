package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// testVersion is version ver of plugin disk, its package hash made of c.
func testVersion(ver string, c byte) PluginVersion {
	return PluginVersion{
		Plugin: "disk", Version: ver, SHA256: strings.Repeat(string(c), 64), Kind: "exec", Entrypoint: "bin/disk.sh",
		Args: []string{"-p", "${mount}"}, Timeout: Duration(5 * time.Second), Classifier: "return 'ok' -- " + ver, History: 5,
		Manifest: json.RawMessage(`{"name":"disk","version":"` + ver + `","parameters":[{"name":"mount","type":"string","default":"/"}]}`),
		Size:     100, UploadedBy: "admin",
	}
}

// woke reports whether ch was closed.
func woke(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestPublishPluginVersion(t *testing.T) {
	st, _ := newCheckerStore(t)
	ctx := context.Background()

	changed := st.ConfigChanged()
	// "disk" exists, made by hand: the first version is made current.
	p := must[Plugin](t)(st.PublishPluginVersion(ctx, testVersion("1.0.0", 'a'), true))
	if p.Version != "1.0.0" || p.SHA256 != strings.Repeat("a", 64) || p.Entrypoint != "bin/disk.sh" || p.History != 5 ||
		p.Classifier != "return 'ok' -- 1.0.0" || p.Kind != "exec" {
		t.Fatalf("first version is not current: %+v", p)
	}
	if !woke(changed) {
		t.Error("publishing did not wake ConfigChanged")
	}

	// The same again: nothing changes, no one is woken.
	changed = st.ConfigChanged()
	again := must[Plugin](t)(st.PublishPluginVersion(ctx, testVersion("1.0.0", 'a'), true))
	if again.UpdatedAt != p.UpdatedAt || woke(changed) {
		t.Errorf("republishing the same package changed something: %+v", again)
	}
	// The same package with a verified signature: the signature is kept.
	signed := testVersion("1.0.0", 'a')
	signed.Signer, signed.Signature = "0123456789abcdef", "sig"
	changed = st.ConfigChanged()
	must[Plugin](t)(st.PublishPluginVersion(ctx, signed, false))
	if v := must[PluginVersion](t)(st.PluginVersion(ctx, "disk", "1.0.0")); v.Signer != signed.Signer || v.Signature != "sig" || !woke(changed) {
		t.Errorf("signature not added: %+v", v)
	}
	// The same version, other bytes: a conflict naming both hashes.
	_, err := st.PublishPluginVersion(ctx, testVersion("1.0.0", 'b'), true)
	wantErr(t, err, ErrConflict, `plugin "disk" version 1.0.0 already exists`, strings.Repeat("a", 64), strings.Repeat("b", 64))

	// A newer version made current; an older one published beside it.
	p = must[Plugin](t)(st.PublishPluginVersion(ctx, testVersion("2.0.0", 'c'), true))
	if p.Version != "2.0.0" || p.SHA256 != strings.Repeat("c", 64) {
		t.Fatalf("2.0.0 not current: %+v", p)
	}
	p = must[Plugin](t)(st.PublishPluginVersion(ctx, testVersion("1.5.0", 'd'), false))
	if p.Version != "2.0.0" {
		t.Fatalf("1.5.0 became current: %+v", p)
	}
	vs := must[[]PluginVersion](t)(st.PluginVersions(ctx, "disk"))
	if len(vs) != 3 {
		t.Fatalf("versions: %+v", vs)
	}
	for i, want := range []string{"1.5.0", "2.0.0", "1.0.0"} {
		if vs[i].Version != want {
			t.Errorf("versions[%d] = %s, want %s (newest upload first)", i, vs[i].Version, want)
		}
	}
	v := must[PluginVersion](t)(st.PluginVersion(ctx, "disk", "1.0.0"))
	if v.UploadedBy != "admin" || v.Size != 100 || len(v.Args) != 2 || time.Duration(v.Timeout) != 5*time.Second ||
		!strings.Contains(string(v.Manifest), `"mount"`) || v.UploadedAt.IsZero() {
		t.Errorf("version read back: %+v", v)
	}
	_, err = st.PluginVersion(ctx, "disk", "9.9.9")
	wantErr(t, err, ErrNotFound, `plugin "disk" has no version "9.9.9"`)
	_, err = st.PluginVersions(ctx, "nope")
	wantErr(t, err, ErrNotFound)

	// Rollback: the plugin row becomes 1.0.0 again and the plans change.
	changed = st.ConfigChanged()
	p = must[Plugin](t)(st.SetPluginVersion(ctx, "disk", "1.0.0"))
	if p.Version != "1.0.0" || p.SHA256 != strings.Repeat("a", 64) || p.Classifier != "return 'ok' -- 1.0.0" {
		t.Fatalf("rollback: %+v", p)
	}
	if !woke(changed) {
		t.Error("rollback did not wake ConfigChanged")
	}
	_, err = st.SetPluginVersion(ctx, "disk", "7.0.0")
	wantErr(t, err, ErrNotFound)
	_, err = st.SetPluginVersion(ctx, "nope", "1.0.0")
	wantErr(t, err, ErrNotFound)

	// Bad versions are refused before anything is written.
	bad := testVersion("3.0.0", 'e')
	bad.Classifier = "BAD"
	_, err = st.PublishPluginVersion(ctx, bad, true)
	wantErr(t, err, ErrInvalid, "classifier", "BAD")
	bad = testVersion("3.0.0", 'e')
	bad.SHA256 = "../etc"
	_, err = st.PublishPluginVersion(ctx, bad, true)
	wantErr(t, err, ErrInvalid, "not 64 lowercase hex digits")
	bad = testVersion("3.0.0", 'e')
	bad.Manifest = json.RawMessage(`{`)
	_, err = st.PublishPluginVersion(ctx, bad, true)
	wantErr(t, err, ErrInvalid, "manifest must be JSON")
	bad = testVersion("", 'e')
	_, err = st.PublishPluginVersion(ctx, bad, true)
	wantErr(t, err, ErrInvalid, "needs a version")
	if vs := must[[]PluginVersion](t)(st.PluginVersions(ctx, "disk")); len(vs) != 3 {
		t.Fatalf("a refused version was written: %d versions", len(vs))
	}

	// Deleting the plugin deletes its versions.
	must[PluginVersion](t)(st.PluginVersion(ctx, "disk", "2.0.0"))
	if err := st.DeletePlugin(ctx, "disk"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM plugin_versions`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("versions left after the plugin was deleted: %d %v", n, err)
	}
}

func TestPublishOverLegacyPlugin(t *testing.T) {
	st, _ := newCheckerStore(t)
	ctx := context.Background()
	// "disk" was created by hand (no versions): a version published
	// beside it leaves its row alone unless made current.
	p := must[Plugin](t)(st.PublishPluginVersion(ctx, testVersion("1.0.0", 'a'), false))
	if p.Version != "" || p.Kind != "builtin" || p.SHA256 != "" {
		t.Fatalf("a hand-made plugin was overwritten: %+v", p)
	}
	p = must[Plugin](t)(st.PublishPluginVersion(ctx, testVersion("1.1.0", 'b'), true))
	if p.Version != "1.1.0" || p.Kind != "exec" {
		t.Fatalf("made current: %+v", p)
	}
}

func TestCheckPinsAndParams(t *testing.T) {
	st, checker := newCheckerStore(t)
	ctx := context.Background()
	must[Plugin](t)(st.PublishPluginVersion(ctx, testVersion("1.0.0", 'a'), false))
	must[Plugin](t)(st.PublishPluginVersion(ctx, testVersion("2.0.0", 'b'), true))

	c := Check{Name: "space", Plugins: []string{"disk", "load"}, Hosts: []string{"web1"}, Schedule: "minutely",
		Versions: map[string]string{"disk": "1.0.0"}, Params: map[string]map[string]string{"disk": {"mount": "/var"}}}
	got := must[Check](t)(st.CreateCheck(ctx, c))
	if got.Versions["disk"] != "1.0.0" || got.Params["disk"]["mount"] != "/var" {
		t.Fatalf("created: %+v", got)
	}
	got = must[Check](t)(st.Check(ctx, "space"))
	if got.Versions["disk"] != "1.0.0" || got.Params["disk"]["mount"] != "/var" {
		t.Fatalf("read back: %+v", got)
	}
	if !strings.Contains(strings.Join(checker.calls, ","), "params") {
		t.Errorf("params not checked against the manifest: %v", checker.calls)
	}

	f := func(mod func(c *Check), kind error, parts ...string) {
		t.Helper()
		c2 := c
		c2.Name = "other"
		c2.Versions = map[string]string{"disk": "1.0.0"}
		c2.Params = map[string]map[string]string{"disk": {"mount": "/"}}
		mod(&c2)
		_, err := st.CreateCheck(ctx, c2)
		wantErr(t, err, kind, parts...)
	}
	f(func(c *Check) { c.Versions = map[string]string{"disk": "9.0.0"} }, ErrInvalid,
		`versions["disk"]: plugin "disk" has no version "9.0.0" (it has [2.0.0, 1.0.0])`)
	f(func(c *Check) { c.Versions = map[string]string{"cpu": "1.0.0"} }, ErrInvalid, `"cpu" is not one of the check's plugins`)
	f(func(c *Check) { c.Versions = map[string]string{"disk": "1.0 0"} }, ErrInvalid, `version "1.0 0" must match`)
	f(func(c *Check) { c.Params = map[string]map[string]string{"disk": {"Mount": "/"}} }, ErrInvalid, `parameter name "Mount"`)
	f(func(c *Check) { c.Params = map[string]map[string]string{"disk": {"mount": strings.Repeat("x", 1025)}} }, ErrInvalid,
		`params["disk"]["mount"]`)
	f(func(c *Check) { c.Params = map[string]map[string]string{"cpu": {"x": "1"}} }, ErrInvalid, `"cpu" is not one of the check's plugins`)
	f(func(c *Check) { c.Params = map[string]map[string]string{"disk": {"size": "1"}} }, ErrInvalid,
		`check "other": params["disk"]: unknown parameter size`)
	f(func(c *Check) { c.Params = map[string]map[string]string{"disk": {"mount": "BAD"}} }, ErrInvalid, `params["disk"]`)
	if _, err := st.Check(ctx, "other"); err == nil {
		t.Fatal("a refused check was written")
	}

	// A pinned version cannot be deleted, nor the current one; others can.
	wantErr(t, st.DeletePluginVersion(ctx, "disk", "1.0.0"), ErrConflict, "pinned by [check space]")
	wantErr(t, st.DeletePluginVersion(ctx, "disk", "2.0.0"), ErrConflict, "is the current version")
	wantErr(t, st.DeletePluginVersion(ctx, "disk", "3.0.0"), ErrNotFound)
	must[Plugin](t)(st.PublishPluginVersion(ctx, testVersion("0.9.0", 'c'), false))
	if err := st.DeletePluginVersion(ctx, "disk", "0.9.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PluginVersion(ctx, "disk", "0.9.0"); err == nil {
		t.Fatal("deleted version still there")
	}

	// Unpinning follows the current version; then 1.0.0 can go.
	c.Versions = nil
	got = must[Check](t)(st.UpdateCheck(ctx, "space", c))
	if got.Versions != nil {
		t.Fatalf("unpinned: %+v", got)
	}
	if err := st.DeletePluginVersion(ctx, "disk", "1.0.0"); err != nil {
		t.Fatal(err)
	}

	// Export and apply round trip the pins and parameters.
	c.Versions = map[string]string{"disk": "2.0.0"}
	must[Check](t)(st.UpdateCheck(ctx, "space", c))
	doc := must[Document](t)(st.Export(ctx))
	var exported *Check
	for i := range doc.Checks {
		if doc.Checks[i].Name == "space" {
			exported = &doc.Checks[i]
		}
	}
	if exported == nil || exported.Versions["disk"] != "2.0.0" || exported.Params["disk"]["mount"] != "/var" {
		t.Fatalf("export: %+v", exported)
	}
	diff := must[Diff](t)(st.Apply(ctx, doc, false))
	if !diff.Empty() {
		t.Fatalf("applying the export changed something: %+v", diff)
	}
	exported.Params["disk"]["mount"] = "/home"
	exported.Versions = nil
	diff = must[Diff](t)(st.Apply(ctx, doc, true))
	text := strings.Join(diff.Changes[0].Details, "; ")
	if !strings.Contains(text, `params["disk"]["mount"] /var -> /home`) || !strings.Contains(text, `versions["disk"] 2.0.0 -> `) {
		t.Errorf("diff: %s", text)
	}
	exported.Versions = map[string]string{"disk": "5.0.0"}
	_, err := st.Apply(ctx, doc, false)
	wantErr(t, err, ErrInvalid, `has no version "5.0.0"`)

	// Renaming the plugin carries its pin and params along.
	p := must[Plugin](t)(st.Plugin(ctx, "disk"))
	p.Name = "space"
	must[Plugin](t)(st.UpdatePlugin(ctx, "disk", p))
	got = must[Check](t)(st.Check(ctx, "space"))
	if got.Versions["space"] != "2.0.0" || got.Params["space"]["mount"] != "/var" || got.Versions["disk"] != "" {
		t.Fatalf("after renaming the plugin: %+v", got)
	}
	must[Check](t)(st.UpdateCheck(ctx, "space", got))
}

// Apply keeps the trend rules the plugins' current versions ship when a
// document does not list them, and deletes others as always.
func TestApplyKeepsPluginTrendRules(t *testing.T) {
	st, _ := newCheckerStore(t)
	ctx := context.Background()
	v := testVersion("1.0.0", 'a')
	v.Manifest = json.RawMessage(`{"name":"disk","trend_rules":[{"name":"fill"}]}`)
	must[Plugin](t)(st.PublishPluginVersion(ctx, v, true))
	for _, name := range []string{"disk.fill", "mine"} {
		must[TrendRule](t)(st.CreateTrendRule(ctx, TrendRule{Name: name, Selector: "up", Window: Duration(time.Hour), Expr: `"ok"`}))
	}
	doc := must[Document](t)(st.Export(ctx))
	doc.TrendRules = nil
	diff := must[Diff](t)(st.Apply(ctx, doc, false))
	if _, err := st.TrendRule(ctx, "disk.fill"); err != nil {
		t.Errorf("the plugin's trend rule was deleted: %v (%+v)", err, diff)
	}
	if _, err := st.TrendRule(ctx, "mine"); err == nil {
		t.Error("a trend rule the document does not list was kept")
	}
}

package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/plugins/pkg"
	"github.com/prophasis/prophasis/plugins/sign"
	"github.com/prophasis/prophasis/store"
)

// pluginDir writes `plugin new NAME` into a directory with the manifest's
// version set and mod applied to it, and returns the directory.
func pluginDir(t *testing.T, name, version string, mod func(m map[string]any)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if _, err := pkg.Skeleton(dir, name, "exec"); err != nil {
		t.Fatal(err)
	}
	mf := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["version"] = version
	if mod != nil {
		mod(m)
	}
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// makePackage packs pluginDir's result.
func makePackage(t *testing.T, name, version string, mod func(m map[string]any)) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := pkg.Pack(pluginDir(t, name, version, mod), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// packageFiles lists the package store's directory.
func packageFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func newRegistry(t *testing.T, trusted []string) (*Registry, store.Store, string) {
	t.Helper()
	pkgs, st, dir := setup(t)
	return NewRegistry(st, pkgs, trusted, slog.New(slog.DiscardHandler)), st, dir
}

func TestRegistryUploadRollback(t *testing.T) {
	r, st, dir := newRegistry(t, nil)
	ctx := context.Background()
	withTrend := func(m map[string]any) {
		m["trend_rules"] = []map[string]any{{"name": "fill", "selector": "prophasis_value{plugin=\"hello\"}", "window": "6h",
			"expr": `"ok"`}}
	}
	v1body := makePackage(t, "hello", "1.0.0", withTrend)
	v1, err := r.Upload(ctx, v1body, "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Plugin != "hello" || v1.Version != "1.0.0" || v1.UploadedBy != "alice" || v1.Size != int64(len(v1body)) || v1.Classifier == "" {
		t.Fatalf("uploaded: %+v", v1)
	}
	if got := packageFiles(t, dir); len(got) != 1 || got[0] != v1.SHA256+".tar.gz" {
		t.Fatalf("package files: %v", got)
	}
	tr, err := st.TrendRule(ctx, "hello.fill")
	if err != nil || time.Duration(tr.Window) != 6*time.Hour {
		t.Fatalf("trend rule: %+v %v", tr, err)
	}
	// The same package again is harmless.
	if _, err := r.Upload(ctx, v1body, "", "bob"); err != nil {
		t.Fatal(err)
	}

	v2, err := r.Upload(ctx, makePackage(t, "hello", "2.0.0", nil), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	old, err := r.Upload(ctx, makePackage(t, "hello", "1.5.0", func(m map[string]any) { m["description"] = "older" }), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := st.Plugin(ctx, "hello")
	if p.Version != "2.0.0" || p.SHA256 != v2.SHA256 {
		t.Fatalf("current after uploading 2.0.0 then 1.5.0: %+v", p)
	}

	// A check on h1 follows latest, one on h2 pins 1.0.0.
	mustOK := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustOK(st.CreateHost(ctx, store.Host{Name: "h1"}))
	mustOK(st.CreateHost(ctx, store.Host{Name: "h2"}))
	mustOK(st.CreateGroup(ctx, store.Group{Name: "g", Hosts: []string{"h1"}}))
	mustOK(st.CreateSchedule(ctx, store.Schedule{Name: "m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}))
	mustOK(st.CreateCheck(ctx, store.Check{Name: "latest", Plugins: []string{"hello"}, Groups: []string{"g"}, Schedule: "m"}))
	mustOK(st.CreateCheck(ctx, store.Check{Name: "pinned", Plugins: []string{"hello"}, Hosts: []string{"h2"}, Schedule: "m",
		Versions: map[string]string{"hello": "1.0.0"}}))
	vs, err := r.Versions(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]string{}
	for _, v := range vs {
		hosts[v.Version] = strings.Join(v.Hosts, ",")
		if v.Current != (v.Version == "2.0.0") {
			t.Errorf("version %s current=%v", v.Version, v.Current)
		}
	}
	if hosts["2.0.0"] != "h1" || hosts["1.0.0"] != "h2" || hosts["1.5.0"] != "" || len(vs) != 3 {
		t.Fatalf("hosts per version: %v", hosts)
	}

	// Rollback without a version: the highest below the current.
	p, err = r.Rollback(ctx, "hello", "")
	if err != nil || p.Version != "1.5.0" || p.SHA256 != old.SHA256 || p.Description != "older" {
		t.Fatalf("rollback: %+v %v", p, err)
	}
	p, err = r.Rollback(ctx, "hello", "2.0.0")
	if err != nil || p.Version != "2.0.0" {
		t.Fatalf("roll forward: %+v %v", p, err)
	}
	if _, err := r.Rollback(ctx, "hello", "9.0.0"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rollback to a missing version: %v", err)
	}
	// Deleting 1.5.0 removes its package; 1.0.0 is pinned, 2.0.0 current.
	if err := r.DeleteVersion(ctx, "hello", "1.5.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, old.SHA256+".tar.gz")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("deleted version's package kept: %v", err)
	}
	if err := r.DeleteVersion(ctx, "hello", "1.0.0"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("deleting a pinned version: %v", err)
	}
	// Prune keeps every version's package.
	if err := r.pkgs.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	for _, sha := range []string{v1.SHA256, v2.SHA256} {
		if _, err := os.Stat(filepath.Join(dir, sha+".tar.gz")); err != nil {
			t.Errorf("prune removed a version's package: %v", err)
		}
	}
	// Rollback with nothing below.
	mustOK(r.Rollback(ctx, "hello", "1.0.0"))
	if _, err := r.Rollback(ctx, "hello", ""); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "no version below") {
		t.Errorf("rollback below the lowest: %v", err)
	}
}

// TestRegistryTrendRulesFollowTheCurrentVersion: the trend rules a plugin
// ships follow its current version: an upgrade installs the new version's
// and removes the ones it dropped, a rollback does the reverse; a dropped
// rule that a service still uses is kept.
func TestRegistryTrendRulesFollowTheCurrentVersion(t *testing.T) {
	r, st, _ := newRegistry(t, nil)
	ctx := context.Background()
	rules := func(names ...string) func(m map[string]any) {
		return func(m map[string]any) {
			var trs []map[string]any
			for _, n := range names {
				trs = append(trs, map[string]any{"name": n, "selector": `prophasis_value{plugin="hello"}`, "window": "1h", "expr": `"ok"`})
			}
			m["trend_rules"] = trs
		}
	}
	has := func() []string {
		t.Helper()
		trs, err := st.TrendRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tr := range trs {
			out = append(out, tr.Name)
		}
		return out
	}
	for _, up := range []struct {
		version string
		ships   []string
	}{{"1.0.0", []string{"fill", "rate"}}, {"2.0.0", []string{"fill", "spike"}}} {
		if _, err := r.Upload(ctx, makePackage(t, "hello", up.version, rules(up.ships...)), "", "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(has(), " "); got != "hello.fill hello.spike" {
		t.Fatalf("after upgrading to 2.0.0 (fill, spike): %s", got)
	}
	if _, err := r.Rollback(ctx, "hello", ""); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(has(), " "); got != "hello.fill hello.rate" {
		t.Fatalf("after rolling back to 1.0.0 (fill, rate): %s", got)
	}
	// A service watches hello.rate: rolling forward keeps it.
	if _, err := st.CreateService(ctx, store.Service{Name: "shop", Dependencies: []store.Member{{Trend: "hello.rate"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rollback(ctx, "hello", "2.0.0"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(has(), " "); got != "hello.fill hello.rate hello.spike" {
		t.Fatalf("after rolling forward with hello.rate in use: %s", got)
	}
}

func TestRegistryRefusals(t *testing.T) {
	r, st, dir := newRegistry(t, nil)
	ctx := context.Background()
	if _, err := r.Upload(ctx, makePackage(t, "hello", "1.0.0", nil), "", "a"); err != nil {
		t.Fatal(err)
	}
	before := packageFiles(t, dir)
	f := func(body []byte, kind error, want string) {
		t.Helper()
		_, err := r.Upload(ctx, body, "", "a")
		if !errors.Is(err, kind) || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %v containing %q", err, kind, want)
		}
		if got := packageFiles(t, dir); strings.Join(got, ",") != strings.Join(before, ",") {
			t.Errorf("a refused upload wrote %v", got)
		}
	}
	f([]byte("not gzip"), ErrBadPackage, "invalid plugin package")
	f(tarGz(t, map[string]string{"../evil": "x", "manifest.json": "{}"}), ErrBadPackage, "invalid plugin package")
	f(makePackage(t, "hello", "1.0.0", func(m map[string]any) { m["description"] = "other bytes" }), store.ErrConflict,
		"already exists with package SHA-256")
	f(tarGz(t, map[string]string{"manifest.json": `{"name":"hello","version":"1.1.0","description":"d","kind":"teapot","entrypoint":"x"}`}),
		ErrBadPackage, `kind "teapot"`)
	f(make([]byte, MaxPackageBytes+1), ErrBadPackage, "more than")
	// A classifier that fails at run time fails lint.
	dirBad := pluginDir(t, "broken", "1.0.0", nil)
	if err := os.WriteFile(filepath.Join(dirBad, "classifier.lua"), []byte("return nil + 1"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pkg.Pack(dirBad, &buf); err != nil {
		t.Fatal(err)
	}
	f(buf.Bytes(), ErrBadPackage, "fails lint")
	if _, err := st.Plugin(ctx, "broken"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused plugin exists: %v", err)
	}
}

func TestRegistrySignatures(t *testing.T) {
	pub, priv, err := sign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := sign.GenerateKey()
	id, _ := sign.KeyID(pub)
	r, st, _ := newRegistry(t, []string{pub})
	ctx := context.Background()
	body := makePackage(t, "hello", "1.0.0", nil)
	if _, err := r.Upload(ctx, body, "", "a"); !errors.Is(err, ErrBadPackage) || !strings.Contains(err.Error(), "signed by one of its trusted keys") {
		t.Fatalf("unsigned: %v", err)
	}
	bad, _ := sign.Sign(otherPriv, body)
	if _, err := r.Upload(ctx, body, bad, "a"); !errors.Is(err, ErrBadPackage) || !errors.Is(err, sign.ErrUntrusted) {
		t.Fatalf("signed by an untrusted key: %v", err)
	}
	good, _ := sign.Sign(priv, body)
	other, _ := sign.Sign(priv, makePackage(t, "hello", "1.0.1", nil))
	if _, err := r.Upload(ctx, body, other, "a"); !errors.Is(err, ErrBadPackage) || !errors.Is(err, sign.ErrBadSignature) {
		t.Fatalf("signature of another package: %v", err)
	}
	if _, err := st.Plugin(ctx, "hello"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused package was published: %v", err)
	}
	v, err := r.Upload(ctx, body, good+"\n", "a")
	if err != nil || v.Signer != id || v.Signature != good {
		t.Fatalf("signed: %+v %v", v, err)
	}

	// A version published unsigned (the standard library) takes a
	// signature when its exact bytes are uploaded again signed.
	r.trusted = nil
	body2 := makePackage(t, "hello", "2.0.0", nil)
	if v, err := r.Upload(ctx, body2, "", "a"); err != nil || v.Signer != "" {
		t.Fatalf("unsigned without keys: %+v %v", v, err)
	}
	r.trusted = []string{pub}
	sig2, _ := sign.Sign(priv, body2)
	if v, err := r.Upload(ctx, body2, sig2, "a"); err != nil || v.Signer != id || v.Signature != sig2 {
		t.Fatalf("signature added: %+v %v", v, err)
	}
}

func TestPublishStandard(t *testing.T) {
	r, st, _ := newRegistry(t, []string{"unused"})
	ctx := context.Background()
	root := t.TempDir()
	for _, name := range []string{"alpha", "beta", "gamma"} {
		src := pluginDir(t, name, "1.0.0", nil)
		if err := os.Rename(src, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
		// embed.FS reads every file 0444: packing must restore bin/.
		filepath.Walk(filepath.Join(root, name), func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				os.Chmod(p, 0o444)
			}
			return nil
		})
	}
	// A user's newer beta stays current.
	if _, err := r.Upload(ctx, makePackage(t, "beta", "3.0.0", nil), "", "x"); err == nil {
		t.Fatal("an unsigned upload passed a registry with trusted keys")
	}
	r.trusted = nil
	if _, err := r.Upload(ctx, makePackage(t, "beta", "3.0.0", nil), "", "x"); err != nil {
		t.Fatal(err)
	}
	r.trusted = []string{"unused"}
	// A user made a plugin called gamma by hand.
	if _, err := st.CreatePlugin(ctx, store.Plugin{Name: "gamma", Classifier: "return 'ok'"}); err != nil {
		t.Fatal(err)
	}
	n, err := r.PublishStandard(ctx, os.DirFS(root))
	if err != nil || n != 3 {
		t.Fatalf("first start: %d %v", n, err)
	}
	if p, _ := st.Plugin(ctx, "alpha"); p.Version != "1.0.0" || p.SHA256 == "" {
		t.Errorf("alpha: %+v", p)
	}
	if p, _ := st.Plugin(ctx, "beta"); p.Version != "3.0.0" {
		t.Errorf("the standard library overwrote a newer version: %+v", p)
	}
	if p, _ := st.Plugin(ctx, "gamma"); p.Version != "" || p.Kind != "builtin" || p.Classifier != "return 'ok'" {
		t.Errorf("the standard library replaced a plugin made by hand: %+v", p)
	}
	if _, err := st.PluginVersion(ctx, "gamma", "1.0.0"); err != nil {
		t.Errorf("gamma 1.0.0 not kept beside it: %v", err)
	}
	if n, err := r.PublishStandard(ctx, os.DirFS(root)); err != nil || n != 0 {
		t.Fatalf("second start published %d (%v)", n, err)
	}
}

// Uploads at once still leave the highest version current.
func TestRegistryConcurrentUploads(t *testing.T) {
	r, st, _ := newRegistry(t, nil)
	ctx := context.Background()
	bodies := [][]byte{
		makePackage(t, "hello", "1.0.0", nil), makePackage(t, "hello", "3.0.0", nil),
		makePackage(t, "hello", "2.0.0", nil), makePackage(t, "hello", "2.5.0", nil),
	}
	errs := make(chan error, len(bodies))
	for _, b := range bodies {
		go func() {
			_, err := r.Upload(ctx, b, "", "a")
			errs <- err
		}()
	}
	for range bodies {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := st.Plugin(ctx, "hello"); p.Version != "3.0.0" {
		t.Fatalf("current after concurrent uploads: %s", p.Version)
	}
}

// Versions leaves out the hosts whose agent runs on a platform the version
// is not built for, as their plans do.
func TestRegistryVersionsPlatforms(t *testing.T) {
	r, st, _ := newRegistry(t, nil)
	ctx := context.Background()
	amd64Only := func(m map[string]any) { m["platforms"] = []string{"linux/amd64"} }
	if _, err := r.Upload(ctx, makePackage(t, "hello", "1.0.0", amd64Only), "", "a"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []struct{ name, arch string }{{"x86", "amd64"}, {"pi", "arm64"}, {"new", ""}} {
		if _, err := st.CreateHost(ctx, store.Host{Name: h.name}); err != nil {
			t.Fatal(err)
		}
		if h.arch == "" {
			continue // not enrolled yet: its platform is unknown
		}
		enr, err := st.CreateEnrollment(ctx, h.name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Enroll(ctx, enr.Token, store.AgentInfo{OS: "linux", Arch: h.arch}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateSchedule(ctx, store.Schedule{Name: "m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateCheck(ctx, store.Check{Name: "c", Plugins: []string{"hello"}, Hosts: []string{"x86", "pi", "new"}, Schedule: "m"}); err != nil {
		t.Fatal(err)
	}
	vs, err := r.Versions(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || strings.Join(vs[0].Hosts, ",") != "new,x86" {
		t.Fatalf("hosts: %+v", vs)
	}
}

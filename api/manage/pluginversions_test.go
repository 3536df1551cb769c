package manage

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/agentapi"
	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/plugins/pkg"
	"github.com/prophasis/prophasis/plugins/sign"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// newRegistryAPI is newTestAPI with a plugin registry trusting keys (none:
// signatures optional) and the agent API mounted beside, so a test sees the
// plans an upload or a rollback makes.
func newRegistryAPI(t *testing.T, keys []string) *testAPI {
	t.Helper()
	a := newTestAPI(t)
	logger := slog.New(slog.DiscardHandler)
	pkgs, err := plugins.NewPackages(a.pkgDir, a.st, logger)
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	authed := auth.Middleware(a.st, auth.Options{})
	Register(r.Group("/manage/v1", authed), Deps{Store: a.st, Packages: pkgs, Registry: plugins.NewRegistry(a.st, pkgs, keys, logger), Logger: logger})
	agentapi.Register(r.Group("/agent/v1"), r.Group("/agent/v1", authed), agentapi.Deps{Store: a.st, Logger: logger, Packages: pkgs})
	a.handler = r
	return a
}

// pluginPackage packs `plugin new hello` at version, with mod applied to
// its manifest.
func pluginPackage(t *testing.T, version string, mod func(m map[string]any)) []byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hello")
	if _, err := pkg.Skeleton(dir, "hello", "exec"); err != nil {
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
	b, _ = json.Marshal(m)
	if err := os.WriteFile(mf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pkg.Pack(dir, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload posts a package with a signature header (none when sig is "")
// and returns the status and body.
func (a *testAPI) upload(token string, body []byte, sig string) (int, string) {
	a.t.Helper()
	req := httptest.NewRequest("POST", "/manage/v1/plugin-packages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/gzip")
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// planRun returns the run of plugin hello in host's plan.
func (a *testAPI) planRun(host string) wire.PlanRun {
	a.t.Helper()
	req := httptest.NewRequest("GET", "/agent/v1/plan?host="+host, nil)
	req.Header.Set("Authorization", "Bearer "+a.admin)
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	var env struct{ Data wire.Plan }
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &env) != nil {
		a.t.Fatalf("plan: %d %s", rec.Code, rec.Body)
	}
	for _, r := range env.Data.Runs {
		if r.Plugin == "hello" {
			return r
		}
	}
	a.t.Fatalf("no run of hello in %+v", env.Data.Runs)
	return wire.PlanRun{}
}

func TestPluginRegistryRoutes(t *testing.T) {
	a := newRegistryAPI(t, nil)
	v1 := pluginPackage(t, "1.0.0", nil)

	// Roles and bad input.
	if code, body := a.upload(a.viewer, v1, ""); code != 403 || !strings.Contains(body, "forbidden") {
		t.Fatalf("viewer upload: %d %s", code, body)
	}
	if code, _ := a.upload(a.agent, v1, ""); code != 403 {
		t.Fatalf("agent upload: %d", code)
	}
	a.fails("POST", "/plugin-packages", a.admin, v1, "application/json", 400, "bad_data", "Content-Type application/gzip")
	if code, body := a.upload(a.admin, []byte("not a package"), ""); code != 400 || !strings.Contains(body, "bad plugin package") {
		t.Fatalf("garbage: %d %s", code, body)
	}
	if code, body := a.upload(a.admin, append(bytes.Clone(v1), make([]byte, plugins.MaxPackageBytes)...), ""); code != 413 {
		t.Fatalf("too large: %d %s", code, body)
	}
	if entries, _ := os.ReadDir(a.pkgDir); len(entries) != 0 {
		t.Fatalf("refused uploads wrote %d files", len(entries))
	}

	// Upload 1.0.0: 201; again: 200; other bytes as 1.0.0: 409.
	code, body := a.upload(a.admin, v1, "")
	var got store.PluginVersion
	var env struct{ Data *store.PluginVersion }
	env.Data = &got
	if code != 201 || json.Unmarshal([]byte(body), &env) != nil || got.Version != "1.0.0" || got.UploadedBy != "admin" {
		t.Fatalf("upload: %d %s", code, body)
	}
	sha1 := got.SHA256
	if code, body := a.upload(a.admin, v1, ""); code != 200 {
		t.Fatalf("re-upload: %d %s", code, body)
	}
	if code, body := a.upload(a.admin, pluginPackage(t, "1.0.0", func(m map[string]any) { m["description"] = "changed" }), ""); code != 409 ||
		!strings.Contains(body, sha1) {
		t.Fatalf("same version, other content: %d %s", code, body)
	}

	// A check on a group of two hosts runs 1.0.0 on both.
	a.ok("POST", "/hosts", a.admin, store.Host{Name: "web1"}, nil)
	a.ok("POST", "/hosts", a.admin, store.Host{Name: "web2"}, nil)
	a.ok("POST", "/groups", a.admin, store.Group{Name: "web", Hosts: []string{"web1", "web2"}}, nil)
	a.ok("POST", "/schedules", a.admin, store.Schedule{Name: "m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}, nil)
	a.ok("POST", "/checks", a.admin, store.Check{Name: "space", Plugins: []string{"hello"}, Groups: []string{"web"}, Schedule: "m"}, nil)
	for _, h := range []string{"web1", "web2"} {
		if r := a.planRun(h); r.SHA256 != sha1 || r.Version != "1.0.0" {
			t.Fatalf("%s runs %+v", h, r)
		}
	}
	// The agent can download it.
	req := httptest.NewRequest("GET", "/agent/v1/plugins/"+sha1, nil)
	req.Header.Set("Authorization", "Bearer "+a.admin)
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if dl, _ := io.ReadAll(rec.Body); rec.Code != 200 || !bytes.Equal(dl, v1) {
		t.Fatalf("download: %d, %d bytes", rec.Code, len(dl))
	}

	// 1.1.0 rolls out; params and pins through the check.
	code, body = a.upload(a.admin, pluginPackage(t, "1.1.0", nil), "")
	if code != 201 {
		t.Fatalf("1.1.0: %d %s", code, body)
	}
	r := a.planRun("web1")
	if r.Version != "1.1.0" || r.SHA256 == sha1 {
		t.Fatalf("after 1.1.0: %+v", r)
	}
	a.fails("PUT", "/checks/space", a.admin, store.Check{Plugins: []string{"hello"}, Groups: []string{"web"}, Schedule: "m",
		Versions: map[string]string{"hello": "0.0.1"}}, "", 400, "bad_data", `plugin "hello" has no version "0.0.1"`)
	a.ok("PUT", "/checks/space", a.admin, store.Check{Plugins: []string{"hello"}, Groups: []string{"web"}, Schedule: "m",
		Params: map[string]map[string]string{"hello": {"path": "/var"}}}, nil)
	if r := a.planRun("web2"); r.Params["path"] != "/var" || !strings.Contains(strings.Join(r.Args, " "), "/var") {
		t.Fatalf("params: %+v", r)
	}

	// Versions with hosts, for viewers.
	var vs []plugins.VersionHosts
	a.ok("GET", "/plugins/hello/versions", a.viewer, nil, &vs)
	if len(vs) != 2 || vs[0].Version != "1.1.0" || !vs[0].Current || strings.Join(vs[0].Hosts, ",") != "web1,web2" || len(vs[1].Hosts) != 0 {
		t.Fatalf("versions: %+v", vs)
	}
	a.fails("GET", "/plugins/nope/versions", a.viewer, nil, "", 404, "not_found")
	var one store.PluginVersion
	a.ok("GET", "/plugins/hello/versions/1.0.0", a.viewer, nil, &one)
	if one.SHA256 != sha1 || !strings.Contains(string(one.Manifest), `"hello"`) {
		t.Fatalf("one version: %+v", one)
	}

	// Rollback: viewers may not; an empty body goes one version back.
	a.fails("POST", "/plugins/hello/rollback", a.viewer, nil, "", 403, "forbidden")
	a.fails("POST", "/plugins/hello/rollback", a.admin, map[string]any{"version": "9.9.9"}, "", 404, "not_found")
	a.fails("POST", "/plugins/hello/rollback", a.admin, map[string]any{"verison": "1.0.0"}, "", 400, "bad_data", "verison")
	var p store.Plugin
	a.ok("POST", "/plugins/hello/rollback", a.admin, nil, &p)
	if p.Version != "1.0.0" || p.SHA256 != sha1 {
		t.Fatalf("rollback: %+v", p)
	}
	if r := a.planRun("web1"); r.SHA256 != sha1 {
		t.Fatalf("plan after rollback: %+v", r)
	}
	a.ok("POST", "/plugins/hello/rollback", a.admin, map[string]any{"version": "1.1.0"}, &p)
	if p.Version != "1.1.0" {
		t.Fatalf("roll forward: %+v", p)
	}

	// Delete: not the current one; the other, yes.
	a.fails("DELETE", "/plugins/hello/versions/1.1.0", a.admin, nil, "", 409, "conflict", "current version")
	a.fails("DELETE", "/plugins/hello/versions/1.0.0", a.viewer, nil, "", 403, "forbidden")
	a.ok("DELETE", "/plugins/hello/versions/1.0.0", a.admin, nil, nil)
	if _, err := os.Stat(filepath.Join(a.pkgDir, sha1+".tar.gz")); !os.IsNotExist(err) {
		t.Fatalf("deleted version's package kept: %v", err)
	}
	a.fails("DELETE", "/plugins/hello/versions/1.0.0", a.admin, nil, "", 404, "not_found")
}

func TestPluginUploadSignatures(t *testing.T) {
	pub, priv, err := sign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	a := newRegistryAPI(t, []string{pub})
	body := pluginPackage(t, "1.0.0", nil)
	if code, resp := a.upload(a.admin, body, ""); code != 400 || !strings.Contains(resp, "signed by one of its trusted keys") {
		t.Fatalf("unsigned: %d %s", code, resp)
	}
	if code, resp := a.upload(a.admin, body, "garbage"); code != 400 || !strings.Contains(resp, "signature") {
		t.Fatalf("garbage signature: %d %s", code, resp)
	}
	sig, _ := sign.Sign(priv, body)
	code, resp := a.upload(a.admin, body, sig)
	id, _ := sign.KeyID(pub)
	if code != 201 || !strings.Contains(resp, `"signer":"`+id+`"`) {
		t.Fatalf("signed: %d %s", code, resp)
	}
	var vs []plugins.VersionHosts
	a.ok("GET", "/plugins/hello/versions", a.viewer, nil, &vs)
	if len(vs) != 1 || vs[0].Signer != id {
		t.Fatalf("versions: %+v", vs)
	}
}

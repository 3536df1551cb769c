package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/manage"
	"github.com/prophasis/prophasis/server"
	"github.com/prophasis/prophasis/store"
)

// testServer runs the management API over a real store and returns its URL,
// the store and the admin token.
func testServer(t *testing.T) (string, store.Store, string) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	token, _, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"load", "memory", "disk", "http"} {
		if _, err := st.CreatePlugin(ctx, store.Plugin{Name: p}); err != nil {
			t.Fatal(err)
		}
	}
	// The example's alert rules name these modules, which are not part of
	// a document.
	for _, m := range []string{"email", "slack"} {
		if _, err := st.CreateAlertModule(ctx, store.AlertModule{Name: m, Kind: "command"}); err != nil {
			t.Fatal(err)
		}
	}
	r := gin.New()
	manage.Register(r.Group("/manage/v1", auth.Middleware(st, auth.Options{})), manage.Deps{Store: st})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL, st, token
}

func TestApplyAndExportCommands(t *testing.T) {
	url, st, token := testServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	// The token comes from DATA/admin.token, as after `prophasis serve`.
	if err := os.WriteFile(filepath.Join(dir, server.AdminTokenFile), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROPHASIS_TOKEN", "")
	example := "../../store/testdata/example.yaml"

	var out bytes.Buffer
	if err := applyCmd(ctx, []string{"-f", example, "--dry-run", "--server", url, "--data-dir", dir}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "+ host db1\n") || !strings.HasSuffix(out.String(), "(dry run, nothing changed)\n") {
		t.Fatalf("dry run printed:\n%s", out.String())
	}
	if hosts, _ := st.Hosts(ctx); len(hosts) != 0 {
		t.Fatal("dry run changed the store")
	}

	out.Reset()
	if err := applyCmd(ctx, []string{"-f", example, "--server", url, "--data-dir", dir}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "14 to create, 0 to update, 0 to delete (applied)") {
		t.Fatalf("apply printed:\n%s", out.String())
	}

	// Export (token from the environment), then apply the export from stdin:
	// no changes.
	t.Setenv("PROPHASIS_TOKEN", token)
	out.Reset()
	if err := exportCmd(ctx, []string{"--server", url}, &out); err != nil {
		t.Fatal(err)
	}
	exported := out.String()
	if !strings.Contains(exported, "- name: web1") {
		t.Fatalf("export printed:\n%s", exported)
	}
	out.Reset()
	if err := applyCmd(ctx, []string{"-f", "-", "--server", url}, strings.NewReader(exported), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "no changes\n" {
		t.Fatalf("re-apply printed:\n%s", out.String())
	}

	// JSON export into a file, applied back as JSON.
	jsonFile := filepath.Join(dir, "config.json")
	if err := exportCmd(ctx, []string{"--server", url, "--json", "-o", jsonFile}, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := applyCmd(ctx, []string{"-f", jsonFile, "--server", url, "--token", token}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "no changes\n" {
		t.Fatalf("re-apply JSON printed:\n%s", out.String())
	}
}

func TestApplyCommandErrors(t *testing.T) {
	url, st, token := testServer(t)
	ctx := context.Background()
	t.Setenv("PROPHASIS_TOKEN", "")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("hosts:\n  - name: a\ngroups:\n  - name: g\n    hosts: [a, ghost]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := func(args []string, parts ...string) {
		t.Helper()
		err := applyCmd(ctx, args, strings.NewReader(""), &bytes.Buffer{})
		if err == nil {
			t.Fatalf("apply %v succeeded", args)
		}
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("apply %v: error %q does not mention %q", args, err, p)
			}
		}
	}
	f([]string{"--server", url, "--token", token}, "-f FILE is required")
	f([]string{"-f", bad, "--server", url, "--data-dir", dir}, "no API token", "PROPHASIS_TOKEN")
	f([]string{"-f", bad, "--server", url, "--token", token}, "server refused", "bad_data", `group "g": unknown host "ghost"`)
	f([]string{"-f", bad, "--server", url, "--token", "pht_wrong"}, "401", "invalid or revoked token")
	f([]string{"-f", filepath.Join(dir, "missing.yaml"), "--server", url, "--token", token}, "no such file")
	f([]string{"-f", bad, "--server", "127.0.0.1:1", "--token", token}, "is not an http(s) URL")
	f([]string{"-f", bad, "--server", "http://127.0.0.1:1", "--token", token}, "cannot reach the server")
	f([]string{"-f", bad, "extra", "--token", token}, `unexpected argument "extra"`)
	if hosts, _ := st.Hosts(ctx); len(hosts) != 0 {
		t.Fatalf("a refused apply changed the store: %+v", hosts)
	}
	err := exportCmd(ctx, []string{"--server", url, "--token", "pht_wrong"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("export with a bad token: %v", err)
	}
}

package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/manage"
	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/rules"
	"github.com/prophasis/prophasis/store"
)

// TestPluginPushToRegistry is the worked example against the real
// management API and registry, with signatures required: new, pack,
// keygen, sign, push; an unsigned push and a changed package under the
// same version are refused with the server's reason; the same package
// again changes nothing.
func TestPluginPushToRegistry(t *testing.T) {
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, filepath.Join(dir, "p.db"), logger, store.WithCodeChecker(rules.CodeChecker{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	token, _, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := plugins.NewPackages(filepath.Join(dir, "packages"), st, logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runPluginCmd(t, "keygen", "--out", filepath.Join(dir, "team")); err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "team.pub"))
	pubKey, _, _ := strings.Cut(strings.TrimSpace(string(pub)), " ")
	reg := plugins.NewRegistry(st, pkgs, []string{pubKey}, logger)
	r := gin.New()
	manage.Register(r.Group("/manage/v1", auth.Middleware(st, auth.Options{})), manage.Deps{Store: st, Packages: pkgs, Registry: reg})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	common := []string{"--server", srv.URL, "--token", token}

	pdir := filepath.Join(dir, "diskfree")
	file := filepath.Join(dir, "diskfree.tar.gz")
	for _, args := range [][]string{
		{"new", "diskfree", "--dir", pdir},
		{"pack", pdir, "-o", file},
		{"sign", file, "--key", filepath.Join(dir, "team.key")},
	} {
		if out, err := runPluginCmd(t, args...); err != nil {
			t.Fatalf("plugin %s: %v\n%s", args[0], err, out)
		}
	}
	_, err = runPluginCmd(t, append([]string{"push", file}, common...)...)
	t.Logf("unsigned: %v", err)
	if err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("unsigned push to a server requiring signatures: %v", err)
	}
	out, err := runPluginCmd(t, append([]string{"push", file, "--signature", file + ".sig"}, common...)...)
	if err != nil || !strings.HasPrefix(out, "pushed diskfree 0.1.0\nsha256 ") {
		t.Fatalf("push: %v\n%s", err, out)
	}
	p, err := st.Plugin(ctx, "diskfree")
	if err != nil || p.Version != "0.1.0" || !strings.Contains(out, p.SHA256) {
		t.Fatalf("stored plugin %+v, %v; push said:\n%s", p, err, out)
	}
	if !strings.Contains(out, "signed by key ") || strings.Contains(out, "nothing changed") {
		t.Fatalf("first push:\n%s", out)
	}
	if out, err = runPluginCmd(t, append([]string{"push", file, "--signature", file + ".sig"}, common...)...); err != nil || !strings.Contains(out, "nothing changed") {
		t.Fatalf("the same package again: %v\n%s", err, out)
	}
	// Other content under the same version.
	os.WriteFile(filepath.Join(pdir, "README.md"), []byte("# diskfree\n\nchanged, but still 0.1.0, which is not allowed once pushed.\n"), 0o644)
	for _, args := range [][]string{{"pack", pdir, "-o", file}, {"sign", file, "--key", filepath.Join(dir, "team.key")}} {
		if out, err := runPluginCmd(t, args...); err != nil {
			t.Fatalf("plugin %s: %v\n%s", args[0], err, out)
		}
	}
	_, err = runPluginCmd(t, append([]string{"push", file, "--signature", file + ".sig"}, common...)...)
	t.Logf("changed content: %v", err)
	if err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("same version, other content: %v", err)
	}
}

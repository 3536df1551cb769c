package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/plugins/pkg"
	"github.com/prophasis/prophasis/plugins/sign"
)

func runPluginCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := pluginCmd(context.Background(), args, &out)
	return out.String(), err
}

// TestPluginNewLintTestPackSign is the worked example of docs/plugins.md:
// a new plugin lints clean, its fixture passes, it packs into a package
// Read accepts, and a signature made with a fresh key verifies.
func TestPluginNewLintTestPackSign(t *testing.T) {
	dir := t.TempDir()
	pdir := filepath.Join(dir, "diskfree")
	out, err := runPluginCmd(t, "new", "diskfree", "--dir", pdir)
	if err != nil || !strings.Contains(out, "created exec plugin diskfree") {
		t.Fatalf("new: %v\n%s", err, out)
	}
	if out, err = runPluginCmd(t, "lint", pdir); err != nil || !strings.Contains(out, "0 errors, 0 warnings") {
		t.Fatalf("lint: %v\n%s", err, out)
	}
	out, err = runPluginCmd(t, "test", pdir, "--history", filepath.Join(pdir, "tests", "history.json"))
	if err != nil || !strings.Contains(out, "all 8 results as expected") ||
		!strings.Contains(out, "2026-01-01T00:05:00Z  96     96% used          critical  critical  ok") {
		t.Fatalf("test: %v\n%s", err, out)
	}
	file := filepath.Join(dir, "d.tar.gz")
	out, err = runPluginCmd(t, "pack", pdir, "-o", file)
	if err != nil {
		t.Fatalf("pack: %v\n%s", err, out)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if !strings.Contains(out, "sha256 "+hex.EncodeToString(sum[:])) {
		t.Fatalf("pack does not print the file's sha256:\n%s", out)
	}
	p, err := pkg.Read(bytes.NewReader(body))
	if err != nil || p.Manifest.Name != "diskfree" || p.Manifest.Version != "0.1.0" {
		t.Fatalf("Read of the packed file: %+v, %v", p, err)
	}
	// The package file lints and tests like the directory.
	if out, err = runPluginCmd(t, "lint", file); err != nil {
		t.Fatalf("lint FILE: %v\n%s", err, out)
	}
	if out, err = runPluginCmd(t, "test", file); err != nil || !strings.Contains(out, "tests/history.json") {
		t.Fatalf("test FILE with its own fixtures: %v\n%s", err, out)
	}

	prefix := filepath.Join(dir, "team")
	if out, err = runPluginCmd(t, "keygen", "--out", prefix); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	fi, err := os.Stat(prefix + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v, %v", fi, err)
	}
	if _, err := runPluginCmd(t, "keygen", "--out", prefix); err == nil {
		t.Fatal("keygen overwrote an existing key")
	}
	if out, err = runPluginCmd(t, "sign", file, "--key", prefix+".key"); err != nil {
		t.Fatalf("sign: %v\n%s", err, out)
	}
	sig, err := os.ReadFile(file + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	pubText, _ := os.ReadFile(prefix + ".pub")
	trusted, err := sign.ParsePublicKeys(string(pubText))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Verify(body, string(sig), trusted); err != nil {
		t.Fatalf("the signature does not verify: %v", err)
	}
	if _, err := runPluginCmd(t, "sign", file, "--key", prefix+".pub"); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("signing with the public key: %v", err)
	}
}

func TestPluginLintAndPackRefuse(t *testing.T) {
	dir := t.TempDir()
	pdir := filepath.Join(dir, "p")
	if _, err := runPluginCmd(t, "new", "p", "--dir", pdir, "--kind", "nagios"); err != nil {
		t.Fatal(err)
	}
	// A manifest with two problems: both are reported, nothing is packed.
	mf := filepath.Join(pdir, "manifest.json")
	b, _ := os.ReadFile(mf)
	b = bytes.Replace(b, []byte(`"version": "0.1.0"`), []byte(`"version": "1.2"`), 1)
	b = bytes.Replace(b, []byte(`"kind": "nagios"`), []byte(`"kind": "python"`), 1)
	os.WriteFile(mf, b, 0o644)
	out, err := runPluginCmd(t, "lint", pdir)
	if err == nil || !strings.Contains(out, `manifest: version "1.2": not a semantic version (MAJOR.MINOR.PATCH)`) ||
		!strings.Contains(out, `manifest: kind "python"`) || !strings.Contains(out, "2 errors") {
		t.Fatalf("lint: %v\n%s", err, out)
	}
	pack := filepath.Join(dir, "p.tar.gz")
	if _, err := runPluginCmd(t, "pack", pdir, "-o", pack); err == nil {
		t.Fatal("packed an invalid plugin")
	}
	if _, err := os.Stat(pack); !os.IsNotExist(err) {
		t.Fatalf("pack wrote %s despite the errors", pack)
	}
	// A classifier that breaks the fixture: lint and pack refuse, test fails.
	os.WriteFile(mf, bytes.Replace(bytes.Replace(b, []byte(`"1.2"`), []byte(`"0.1.0"`), 1), []byte(`"python"`), []byte(`"nagios"`), 1), 0o644)
	os.WriteFile(filepath.Join(pdir, "classifier.lua"), []byte(`return "ok"`), 0o644)
	out, err = runPluginCmd(t, "lint", pdir)
	if err == nil || !strings.Contains(out, "tests/history.json: result 1: expected minor, the classifier said ok") {
		t.Fatalf("lint with a failing fixture: %v\n%s", err, out)
	}
	if out, err = runPluginCmd(t, "pack", pdir, "-o", pack); err == nil || !strings.Contains(err.Error(), "not packed") {
		t.Fatalf("pack with a failing fixture: %v\n%s", err, out)
	}
	out, err = runPluginCmd(t, "test", pdir)
	if err == nil || !strings.Contains(out, "FAIL") || !strings.Contains(err.Error(), "did not get the state expected") {
		t.Fatalf("test with a failing fixture: %v\n%s", err, out)
	}
	for _, bad := range [][]string{{}, {"frobnicate"}, {"new"}, {"new", "x", "--kind", "builtin"}, {"lint"}, {"lint", "a", "b"},
		{"pack", filepath.Join(dir, "missing")}, {"keygen"}, {"sign", pack}, {"push"}} {
		if _, err := runPluginCmd(t, bad...); err == nil {
			t.Errorf("plugin %q: no error", bad)
		}
	}
}

func TestPluginPush(t *testing.T) {
	dir := t.TempDir()
	pdir := filepath.Join(dir, "p")
	file := filepath.Join(dir, "p.tar.gz")
	if _, err := runPluginCmd(t, "new", "p", "--dir", pdir); err != nil {
		t.Fatal(err)
	}
	if _, err := runPluginCmd(t, "pack", pdir, "-o", file); err != nil {
		t.Fatal(err)
	}
	if _, err := runPluginCmd(t, "keygen", "--out", filepath.Join(dir, "k")); err != nil {
		t.Fatal(err)
	}
	if _, err := runPluginCmd(t, "sign", file, "--key", filepath.Join(dir, "k.key")); err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(file)
	sig, _ := os.ReadFile(file + ".sig")
	sum := sha256.Sum256(body)
	want := hex.EncodeToString(sum[:])

	refuse := false
	var requests int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		got, _ := io.ReadAll(r.Body)
		gsum := sha256.Sum256(got)
		problems := []string{}
		check := func(ok bool, what string) {
			if !ok {
				problems = append(problems, what)
			}
		}
		check(r.Method == http.MethodPost, "method "+r.Method)
		check(r.URL.Path == "/manage/v1/plugin-packages", "path "+r.URL.Path)
		check(r.Header.Get("Content-Type") == "application/gzip", "content type "+r.Header.Get("Content-Type"))
		check(r.Header.Get("Authorization") == "Bearer s3cret", "authorization "+r.Header.Get("Authorization"))
		check(hex.EncodeToString(gsum[:]) == want, "body hash")
		if h := r.Header.Get("X-Prophasis-Signature"); h != "" {
			check(h == strings.TrimSpace(string(sig)), "signature "+h)
		}
		w.Header().Set("Content-Type", "application/json")
		if len(problems) > 0 || refuse {
			w.WriteHeader(http.StatusBadRequest)
			msg := strings.Join(problems, "; ")
			if refuse {
				msg = `plugin "p" version 0.1.0 exists with different content`
			}
			json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "bad_data", "error": msg})
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]string{
			"plugin": "p", "version": "0.1.0", "sha256": want}})
	}))
	defer srv.Close()
	common := []string{"--server", srv.URL, "--token", "s3cret"}

	out, err := runPluginCmd(t, append([]string{"push", file, "--signature", file + ".sig"}, common...)...)
	if err != nil || out != "pushed p 0.1.0\nsha256 "+want+"\n" {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if out, err = runPluginCmd(t, append([]string{"push", file}, common...)...); err != nil {
		t.Fatalf("push without a signature: %v\n%s", err, out)
	}
	refuse = true
	if _, err = runPluginCmd(t, append([]string{"push", file}, common...)...); err == nil || !strings.Contains(err.Error(), "exists with different content") {
		t.Fatalf("refused push: %v", err)
	}
	// An invalid file never leaves the machine.
	bad := filepath.Join(dir, "bad.tar.gz")
	os.WriteFile(bad, []byte("not a package"), 0o644)
	n := requests
	if _, err = runPluginCmd(t, append([]string{"push", bad}, common...)...); err == nil || requests != n {
		t.Fatalf("push of an invalid file: %v, %d requests", err, requests-n)
	}
	os.WriteFile(bad+".sig", []byte("a\nb\n"), 0o644)
	if _, err = runPluginCmd(t, append([]string{"push", file, "--signature", bad + ".sig"}, common...)...); err == nil || requests != n {
		t.Fatalf("push with a malformed signature file: %v", err)
	}
}

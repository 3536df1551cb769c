package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helloPackage is a plugin package: an exec plugin that prints value.
func helloPackage(t *testing.T, value int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := []byte("#!/bin/sh\necho '{\"value\": " + strconv.Itoa(value) + ", \"message\": \"hello\"}'\n")
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/hello.sh", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Write(body)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

// TestPluginPackages: a plugin package uploaded through the management API
// reaches a real agent through its plan, is downloaded, checked, unpacked
// and run as the plugin user; its value comes back through PromQL. A new
// version replaces it within seconds and the old one leaves the agent's disk.
func TestPluginPackages(t *testing.T) {
	s := startServer(t, "", "--tls-auto", "--tls-hosts", "127.0.0.1")
	token, caSHA := enrolmentToken(t, s, "web1")
	api := s.manage
	upload := func(b []byte) string {
		t.Helper()
		code, resp := s.do("PUT", "/manage/v1/plugins/hello/package", "application/gzip", bytes.NewReader(b))
		sum := sha256.Sum256(b)
		sha := hex.EncodeToString(sum[:])
		if code != 200 || !strings.Contains(string(resp), `"sha256":"`+sha+`"`) {
			t.Fatalf("upload: %d %s", code, resp)
		}
		return sha
	}
	api("POST", "/plugins", map[string]any{"name": "hello", "kind": "exec", "entrypoint": "bin/hello.sh", "version": "1"})
	api("POST", "/schedules", map[string]any{"name": "fast", "intervals": []map[string]any{{"period": "1s"}}})
	// A package without the entrypoint is refused and changes nothing.
	var bad bytes.Buffer
	zw := gzip.NewWriter(&bad)
	tar.NewWriter(zw).Close()
	zw.Close()
	if code, resp := s.do("PUT", "/manage/v1/plugins/hello/package", "application/gzip", &bad); code != 400 ||
		!strings.Contains(string(resp), `entrypoint \"bin/hello.sh\" is not in the archive`) {
		t.Fatalf("bad upload: %d %s", code, resp)
	}
	sha1 := upload(helloPackage(t, 42))

	// As root the agent runs plugins as nobody, who must be able to pass
	// through the test's temporary directories to the agent's data dir.
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := filepath.Join(base, "agent")
	a := startAgent(t, "--server", s.URL, "--enroll-token", token, "--ca-sha256", caSHA, "--data-dir", dataDir, "--host", "web1")
	if _, err := waitFile(filepath.Join(dataDir, "agent.json"), 30*time.Second); err != nil {
		t.Fatalf("agent state: %v\n%s", err, a.Log())
	}
	api("POST", "/checks", map[string]any{"name": "greeting", "plugins": []string{"hello"}, "hosts": []string{"web1"}, "schedule": "fast"})

	waitValue := func(v int) {
		t.Helper()
		q := `prophasis_value{host="web1",plugin="hello",check="greeting"} == ` + strconv.Itoa(v)
		deadline := time.Now().Add(60 * time.Second)
		for {
			if n, _ := s.query(q); n == 1 {
				return
			}
			if time.Now().After(deadline) {
				_, body := s.query(`prophasis_value{host="web1"}`)
				code, msgs := s.do("GET", "/manage/v1/messages?host=web1&plugin=hello&limit=3", "", nil)
				t.Fatalf("no %s after 60 s; web1 has: %s\nmessages %d: %s\nagent log:\n%s", q, body, code, msgs, a.Log())
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	waitValue(42)
	pkgDir := filepath.Join(dataDir, "plugins")
	if fi, err := os.Stat(filepath.Join(pkgDir, sha1, "bin", "hello.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("unpacked entrypoint: %v %v", fi, err)
	}
	code, msgs := s.do("GET", "/manage/v1/messages?host=web1&plugin=hello&limit=1", "", nil)
	if code != 200 || !strings.Contains(string(msgs), "hello") {
		t.Fatalf("messages: %d %s", code, msgs)
	}

	// A new version: the plan changes at once, the agent fetches it, the
	// value follows and the old version leaves the agent's disk.
	api("PUT", "/plugins/hello", map[string]any{"kind": "exec", "entrypoint": "bin/hello.sh", "version": "2"})
	sha2 := upload(helloPackage(t, 43))
	waitValue(43)
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, err := os.ReadDir(pkgDir)
		if err == nil && len(entries) == 1 && entries[0].Name() == sha2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent's packages: %v %v, want only %s\nagent log:\n%s", entries, err, sha2, a.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The server keeps only the package in use, too.
	if _, err := os.Stat(filepath.Join(s.DataDir, "plugins", sha1+".tar.gz")); !os.IsNotExist(err) {
		t.Fatalf("server still holds the old package: %v", err)
	}
	if !strings.Contains(a.Log(), "plugin package installed") {
		t.Fatalf("agent log says nothing of the package:\n%s", a.Log())
	}

	// A package tampered with on the server's disk: the agent refuses it,
	// writes nothing of it, and the run says why.
	api("POST", "/plugins", map[string]any{"name": "tampered", "kind": "exec", "entrypoint": "bin/hello.sh"})
	b := helloPackage(t, 7)
	if code, resp := s.do("PUT", "/manage/v1/plugins/tampered/package", "application/gzip", bytes.NewReader(b)); code != 200 {
		t.Fatalf("upload: %d %s", code, resp)
	}
	sum := sha256.Sum256(b)
	sha3 := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(s.DataDir, "plugins", sha3+".tar.gz"), helloPackage(t, 666), 0o600); err != nil {
		t.Fatal(err)
	}
	api("POST", "/checks", map[string]any{"name": "suspicious", "plugins": []string{"tampered"}, "hosts": []string{"web1"}, "schedule": "fast"})
	deadline = time.Now().Add(30 * time.Second)
	for {
		code, msgs := s.do("GET", "/manage/v1/messages?host=web1&plugin=tampered&limit=1", "", nil)
		if code == 200 && strings.Contains(string(msgs), "plugin package hash mismatch") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no hash mismatch reported for the tampered package: %d %s\nagent log:\n%s", code, msgs, a.Log())
		}
		time.Sleep(250 * time.Millisecond)
	}
	if n, body := s.query(`prophasis_value{host="web1",plugin="tampered"}`); n != 0 {
		t.Fatalf("the tampered package ran: %s", body)
	}
	if _, err := os.Stat(filepath.Join(pkgDir, sha3)); !os.IsNotExist(err) {
		t.Fatalf("the tampered package was unpacked: %v", err)
	}
}

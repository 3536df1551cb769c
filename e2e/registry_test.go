package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPluginRegistryEndToEnd is issue 6's "done when" on the real
// binaries: a plugin made with `prophasis plugin new`, edited, linted,
// packed and pushed with the CLI, attached to a check on a group of two
// real agents, runs on both within seconds and is judged by its own
// classifier; a new version rolls out to both, and a rollback rolls back.
func TestPluginRegistryEndToEnd(t *testing.T) {
	s := startServer(t, "", "--tls-auto", "--tls-hosts", "127.0.0.1")
	cli := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(binDir, "prophasis"), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("prophasis %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// As root the agents run plugins as nobody, who must pass through the
	// test's temporary directories to the agents' data dirs.
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(base, "hello")
	cli("plugin", "new", "hello", "--dir", dir)
	// The plugin prints a fixed value per version, and its own classifier
	// gives each value a state no default classifier would.
	version := func(v string, value int, state string) string {
		t.Helper()
		script := "#!/bin/sh\nprintf '{\"value\": " + strconv.Itoa(value) + ", \"message\": \"hello " + v + "\"}\\n'\n"
		if err := os.WriteFile(filepath.Join(dir, "bin", "hello.sh"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		classifier := "if n == 0 or isMissing(values[1]) then return \"unknown\" end\n" +
			"if values[1] == " + strconv.Itoa(value) + " then return \"" + state + "\" end\nreturn \"ok\"\n"
		if err := os.WriteFile(filepath.Join(dir, "classifier.lua"), []byte(classifier), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		m = []byte(strings.Replace(string(m), `"version": "0.1.0"`, `"version": "`+v+`"`, 1))
		m = []byte(strings.Replace(string(m), `"version": "1.0.0"`, `"version": "`+v+`"`, 1))
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), m, 0o644); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(filepath.Join(dir, "tests")) // the skeleton's fixture is for its own script
		cli("plugin", "lint", dir)
		file := filepath.Join(base, "hello-"+v+".tar.gz")
		cli("plugin", "pack", dir, "-o", file)
		out := cli("plugin", "push", file, "--server", s.URL, "--data-dir", s.DataDir)
		if !strings.Contains(out, v) {
			t.Fatalf("push printed no version %s:\n%s", v, out)
		}
		return file
	}
	version("1.0.0", 42, "minor")

	s.manage("POST", "/hosts", map[string]any{"name": "web1"})
	s.manage("POST", "/hosts", map[string]any{"name": "web2"})
	s.manage("POST", "/groups", map[string]any{"name": "pair", "hosts": []string{"web1", "web2"}})
	s.manage("POST", "/schedules", map[string]any{"name": "fast", "intervals": []map[string]any{{"period": "1s"}}})
	for _, h := range []string{"web1", "web2"} {
		token, caSHA := enrolmentToken(t, s, h)
		dataDir := filepath.Join(base, "agent-"+h)
		a := startAgent(t, "--server", s.URL, "--enroll-token", token, "--ca-sha256", caSHA, "--data-dir", dataDir, "--host", h)
		if _, err := waitFile(filepath.Join(dataDir, "agent.json"), 30*time.Second); err != nil {
			t.Fatalf("agent %s: %v\n%s", h, err, a.Log())
		}
	}
	start := time.Now()
	s.manage("POST", "/checks", map[string]any{"name": "greeting", "plugins": []string{"hello"}, "groups": []string{"pair"}, "schedule": "fast"})

	// both waits until both hosts report value with state.
	both := func(value int, state string) time.Duration {
		t.Helper()
		t0 := time.Now()
		for _, q := range []string{
			`count(prophasis_value{plugin="hello",check="greeting"} == ` + strconv.Itoa(value) + `) == 2`,
			`count(prophasis_state{plugin="hello",check="greeting"} == ` + map[string]string{"minor": "1", "major": "2", "critical": "3"}[state] + `) == 2`,
		} {
			waitFor(t, q, func() bool { n, _ := s.query(q); return n == 1 })
		}
		return time.Since(t0)
	}
	both(42, "minor")
	t.Logf("version 1.0.0 ran and was judged on both agents %.1fs after the check was created", time.Since(start).Seconds())

	// A new version rolls out to both.
	version("1.1.0", 43, "major")
	t.Logf("version 1.1.0 on both within %.1fs", both(43, "major").Seconds())
	var versions []struct {
		Version string   `json:"version"`
		Current bool     `json:"current"`
		Hosts   []string `json:"hosts"`
	}
	get(t, s, "/manage/v1/plugins/hello/versions", &versions)
	if len(versions) < 2 || versions[0].Version != "1.1.0" || !versions[0].Current || strings.Join(versions[0].Hosts, ",") != "web1,web2" {
		t.Errorf("versions %+v, want 1.1.0 current on web1 and web2", versions)
	}

	// A rollback rolls back.
	s.manage("POST", "/plugins/hello/rollback", map[string]any{})
	t.Logf("rollback to 1.0.0 on both within %.1fs", both(42, "minor").Seconds())

	// The standard library shipped with the server is there too.
	var plugins []struct{ Name, Version string }
	get(t, s, "/manage/v1/plugins", &plugins)
	names := map[string]bool{}
	for _, p := range plugins {
		names[p.Name] = true
	}
	for _, want := range []string{"cpu", "disk", "http", "mdraid", "smart"} {
		if !names[want] {
			t.Errorf("standard plugin %s missing from %v", want, names)
		}
	}
}

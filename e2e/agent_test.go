package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// agentProc is a running prophasis-agent.
type agentProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  bytes.Buffer
	done chan error
}

func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	a := &agentProc{done: make(chan error, 1)}
	openDataDirParents(t, args)
	a.cmd = exec.Command(filepath.Join(binDir, "prophasis-agent"), args...)
	stderr, err := a.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			a.mu.Lock()
			a.log.WriteString(sc.Text() + "\n")
			a.mu.Unlock()
		}
		a.done <- a.cmd.Wait()
	}()
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			a.cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", a.Log())
		}
	})
	return a
}

// openDataDirParents lets the agent's unprivileged user (--user, default
// nobody; a root agent drops to it) pass through the test's temporary
// directories to its data directory, as it can through /var/lib: t.TempDir
// makes them 0700. Listing them stays closed (0711).
func openDataDirParents(t *testing.T, args []string) {
	t.Helper()
	i := slices.Index(args, "--data-dir")
	if i < 0 || i+1 >= len(args) {
		return
	}
	tmp := filepath.Clean(os.TempDir())
	for dir := filepath.Dir(filepath.Clean(args[i+1])); strings.HasPrefix(dir, tmp+"/"); dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			continue // not made yet: the agent makes it
		}
		if err := os.Chmod(dir, fi.Mode().Perm()|0o011); err != nil {
			t.Fatal(err)
		}
	}
}

func (a *agentProc) Log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.String()
}

// query runs an instant PromQL query and returns the number of series.
func (s *serverProc) query(q string) (int, string) {
	s.t.Helper()
	code, body := s.do("GET", "/api/v1/query?query="+urlEscape(q), "", nil)
	if code != 200 {
		s.t.Fatalf("query %s: %d %s", q, code, body)
	}
	var env struct {
		Data struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		s.t.Fatal(err)
	}
	return len(env.Data.Result), string(body)
}

func urlEscape(s string) string {
	r := strings.NewReplacer(" ", "%20", "{", "%7B", "}", "%7D", "\"", "%22", "=", "%3D", "+", "%2B", "[", "%5B", "]", "%5D")
	return r.Replace(s)
}

// TestAgentEndToEnd: a real server with --tls-auto and a real agent. The
// agent enrols with a token from `prophasis token create`, checks the
// server's CA against the printed fingerprint, follows the plan configured
// through the management API, runs a built-in collector, a real Nagios
// plugin and a real Munin plugin on a schedule, and their values come back
// through PromQL.
func TestAgentEndToEnd(t *testing.T) {
	s := startServer(t, "", "--tls-auto", "--tls-hosts", "127.0.0.1")
	token, caSHA := enrolmentToken(t, s, "web1")
	api := s.manage
	// "load" (the built-in collector) comes with the server's standard library.
	api("POST", "/plugins", map[string]any{"name": "check_load", "kind": "nagios", "entrypoint": "/usr/lib/nagios/plugins/check_load",
		"args": []string{"-w", "50,50,50", "-c", "100,100,100"}})
	api("POST", "/plugins", map[string]any{"name": "munin_load", "kind": "munin", "entrypoint": "/usr/share/munin/plugins/load"})
	api("POST", "/schedules", map[string]any{"name": "fast", "intervals": []map[string]any{{"period": "2s"}}})

	dataDir := filepath.Join(t.TempDir(), "agent")
	// A wrong fingerprint: enrolment refused, nothing saved.
	bad := startAgent(t, "--server", s.URL, "--enroll-token", token, "--ca-sha256", strings.Repeat("0", 64), "--data-dir", dataDir, "--host", "web1")
	select {
	case err := <-bad.done:
		if err == nil || !strings.Contains(bad.Log(), "not the expected") {
			t.Fatalf("agent with a wrong CA fingerprint: %v\n%s", err, bad.Log())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent with a wrong CA fingerprint kept running")
	}

	a := startAgent(t, "--server", s.URL, "--enroll-token", token, "--ca-sha256", caSHA, "--data-dir", dataDir, "--host", "web1")
	fi, err := waitFile(filepath.Join(dataDir, "agent.json"), 30*time.Second)
	if err != nil {
		t.Fatalf("agent state: %v\n%s", err, a.Log())
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("agent.json mode %v, want 0600", fi.Mode().Perm())
	}
	// The host appeared on enrolment; a check on it reaches the running
	// agent through its plan long poll.
	api("POST", "/checks", map[string]any{"name": "resources", "plugins": []string{"load", "check_load", "munin_load"},
		"hosts": []string{"web1"}, "schedule": "fast"})
	for _, q := range []string{
		`prophasis_value{host="web1",plugin="load",check="resources"}`,
		`prophasis_check_load_load1{host="web1"}`,
		`prophasis_value{host="web1",plugin="munin_load"}`,
		`prophasis_result_duration_seconds{host="web1",plugin="check_load"}`,
	} {
		deadline := time.Now().Add(60 * time.Second)
		for {
			if n, _ := s.query(q); n == 1 {
				break
			}
			if time.Now().After(deadline) {
				_, body := s.query(`{host="web1"}`)
				t.Fatalf("no %s after 60 s; web1 has: %s\nagent log:\n%s", q, body, a.Log())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	// The agent is listed with its version and platform, seen recently.
	code, body := s.do("GET", "/manage/v1/agents", "", nil)
	if code != 200 || !strings.Contains(string(body), `"host":"web1"`) || !strings.Contains(string(body), `"os":"linux"`) {
		t.Fatalf("agents: %d %s", code, body)
	}
	// The message log holds the Nagios plugin's own words.
	code, body = s.do("GET", "/manage/v1/messages?host=web1&plugin=check_load&limit=1", "", nil)
	if code != 200 || !strings.Contains(string(body), "LOAD OK") {
		t.Fatalf("messages: %d %s", code, body)
	}
}

func waitFile(path string, d time.Duration) (os.FileInfo, error) {
	deadline := time.Now().Add(d)
	for {
		fi, err := os.Stat(path)
		if err == nil || time.Now().After(deadline) {
			return fi, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAgentLosesNothing: the server goes away for a while and the agent is
// killed with SIGKILL while it holds a backlog; after both come back every
// result the agent produced is stored once: samples a slot apart from the
// first to the kill, a gap only while the agent itself was down.
func TestAgentLosesNothing(t *testing.T) {
	addr := freeAddr(t)
	s := startServerAt(t, addr, "", "--tls-auto", "--tls-hosts", "127.0.0.1")
	token, caSHA := enrolmentToken(t, s, "web1")
	dataDir := filepath.Join(t.TempDir(), "agent")
	a := startAgent(t, "--server", s.URL, "--enroll-token", token, "--ca-sha256", caSHA, "--data-dir", dataDir, "--host", "web1")
	if _, err := waitFile(filepath.Join(dataDir, "agent.json"), 30*time.Second); err != nil {
		t.Fatalf("agent state: %v\n%s", err, a.Log())
	}
	for _, req := range []struct {
		path string
		body any
	}{
		// "uptime" comes with the server's standard library.
		{"/schedules", map[string]any{"name": "every-second", "intervals": []map[string]any{{"period": "1s"}}, "max_lateness": "1h"}},
		{"/checks", map[string]any{"name": "alive", "plugins": []string{"uptime"}, "hosts": []string{"web1"}, "schedule": "every-second"}},
	} {
		b, _ := json.Marshal(req.body)
		if code, resp := s.do("POST", "/manage/v1"+req.path, "application/json", bytes.NewReader(b)); code != 200 {
			t.Fatalf("POST %s: %d %s", req.path, code, resp)
		}
	}
	waitSeries := func(s *serverProc, min int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for len(sampleTimes(t, s)) < min {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d results after 60 s\nagent log:\n%s", min, a.Log())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitSeries(s, 3)

	// The server goes away; the agent keeps running plugins into its spool.
	s.Stop()
	time.Sleep(4 * time.Second) // the outage: real time the agent must bridge
	// Killed mid-backlog: nothing it spooled may be lost.
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.done
	killedAt := time.Now()
	time.Sleep(2 * time.Second) // the agent is down: these slots are not run

	s2 := startServerAt(t, addr, s.DataDir, "--tls-auto", "--tls-hosts", "127.0.0.1")
	a2 := startAgent(t, "--data-dir", dataDir)
	before := len(sampleTimes(t, s2))
	waitSeries(s2, before+3)
	// Give the agent time to drain its backlog (it pushes oldest first).
	deadline := time.Now().Add(30 * time.Second)
	var ts []int64
	for {
		ts = sampleTimes(t, s2)
		if gaps(ts, killedAt) == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("drained %d results by %s", len(ts), time.Now().Format("15:04:05.000"))
	if g := gaps(ts, killedAt); g != "" {
		t.Fatalf("results lost: %s\nagent log:\n%s\nrestarted agent log:\n%s", g, a.Log(), a2.Log())
	}
	// Stored once each: the message log has one entry per result too.
	code, body := s2.do("GET", "/manage/v1/messages?host=web1&plugin=uptime&limit=10000", "", nil)
	if code != 200 || strings.Count(string(body), `"plugin":"uptime"`) != len(ts) {
		t.Fatalf("message log has %d entries for %d results: %d", strings.Count(string(body), `"plugin":"uptime"`), len(ts), code)
	}
}

// sampleTimes returns the timestamps (ms) of web1's uptime results.
func sampleTimes(t *testing.T, s *serverProc) []int64 {
	t.Helper()
	code, body := s.do("GET", "/api/v1/query?query="+urlEscape(`prophasis_result_duration_seconds{host="web1",plugin="uptime"}[1h]`), "", nil)
	if code != 200 {
		t.Fatalf("query: %d %s", code, body)
	}
	var env struct {
		Data struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	var ts []int64
	for _, r := range env.Data.Result {
		for _, v := range r.Values {
			ts = append(ts, int64(v[0].(float64)*1000+0.5))
		}
	}
	return ts
}

// gaps describes holes in a 1 s series: any two consecutive results more
// than 1.5 s apart, except the one spanning the agent's own downtime.
func gaps(ts []int64, killedAt time.Time) string {
	var out []string
	down := false
	for i := 1; i < len(ts); i++ {
		d := ts[i] - ts[i-1]
		if d < 500 {
			out = append(out, fmt.Sprintf("two results %d ms apart at %d", d, ts[i]))
		}
		if d > 1500 {
			if !down && ts[i-1] <= killedAt.UnixMilli() && ts[i] >= killedAt.UnixMilli() {
				down = true // the agent was dead; no runs, nothing to lose
				continue
			}
			out = append(out, fmt.Sprintf("%d ms without a result before %s", d, time.UnixMilli(ts[i]).Format("15:04:05.000")))
		}
	}
	return strings.Join(out, "; ")
}

// enrolmentToken runs `prophasis token create host` as an operator would
// and returns the token and the CA fingerprint it printed.
func enrolmentToken(t *testing.T, s *serverProc, host string) (token, caSHA256 string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(binDir, "prophasis"), "token", "create", host,
		"--server", s.URL, "--data-dir", s.DataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	token = regexp.MustCompile(`phe_[A-Za-z0-9_-]+`).FindString(string(out))
	fp := regexp.MustCompile(`--ca-sha256 ([0-9a-f]{64})`).FindStringSubmatch(string(out))
	if token == "" || fp == nil {
		t.Fatalf("token create printed no token or CA fingerprint:\n%s", out)
	}
	return token, fp[1]
}

// manage sends a JSON request to the management API and fails the test
// unless it succeeds.
func (s *serverProc) manage(method, path string, body any) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	code, resp := s.do(method, "/manage/v1"+path, "application/json", bytes.NewReader(b))
	if code != 200 {
		s.t.Fatalf("%s %s: %d %s", method, path, code, resp)
	}
}

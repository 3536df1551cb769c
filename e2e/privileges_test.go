package e2e

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAgentDropsPrivileges: an agent started as root with the mesh and its
// status page on a privileged port binds both, then becomes --user nobody
// with nobody's groups (every thread), gives nobody its data directory, and
// keeps working: results arrive, the status page answers on port < 1024.
func TestAgentDropsPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("dropping privileges needs root (CI runs as root)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--tls-auto", "--tls-hosts", "127.0.0.1")
	token, caSHA := enrolmentToken(t, s, "web1")
	s.manage("POST", "/schedules", map[string]any{"name": "fast", "intervals": []map[string]any{{"period": "1s"}}})

	dir := t.TempDir()
	dataDir := filepath.Join(dir, "agent")
	keyFile := filepath.Join(dir, "mesh.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	page := freeLowPort(t, "127.0.0.2")
	meshPort := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	a := startAgent(t, "--server", s.URL, "--enroll-token", token, "--ca-sha256", caSHA, "--data-dir", dataDir, "--host", "web1",
		"--user", "nobody", "--mesh", "--mesh-cluster", "test", "--mesh-key-file", keyFile, "--mesh-bind", "127.0.0.2",
		"--mesh-port", meshPort, "--mesh-allow", "127.0.0.0/8", "--status-listen", page, "--status-allow", "127.0.0.0/8")

	if _, err := waitFile(filepath.Join(dataDir, "agent.json"), 30*time.Second); err != nil {
		t.Fatalf("agent state: %v\n%s", err, a.Log())
	}
	s.manage("POST", "/checks", map[string]any{"name": "alive", "plugins": []string{"uptime"}, "hosts": []string{"web1"}, "schedule": "fast"})
	// Results keep arriving: the agent can write its spool as nobody.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if n, _ := s.query(`prophasis_value{host="web1",plugin="uptime"}`); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no result from the agent after 60 s\n%s", a.Log())
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Every thread is nobody, with nobody's groups, not root's.
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", a.cmd.Process.Pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("the agent's threads: %v %v", tasks, err)
	}
	uidRe := regexp.MustCompile(`(?m)^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$`)
	groupsRe := regexp.MustCompile(`(?m)^Groups:(.*)$`)
	wantGroups, err := nobody.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		m := uidRe.FindStringSubmatch(string(b))
		if m == nil || m[1] != nobody.Uid || m[2] != nobody.Uid || m[3] != nobody.Uid || m[4] != nobody.Uid {
			t.Errorf("%s: uids %v, want all %s", f, m, nobody.Uid)
		}
		g := strings.Fields(groupsRe.FindStringSubmatch(string(b))[1])
		for _, id := range g {
			if id == "0" {
				t.Errorf("%s: still in group 0 (%v)", f, g)
			}
		}
		for _, id := range wantGroups {
			if !strings.Contains(" "+strings.Join(g, " ")+" ", " "+id+" ") {
				t.Errorf("%s: groups %v lack nobody's group %s", f, g, id)
			}
		}
	}
	// The data directory and the credential in it are nobody's.
	for _, f := range []string{dataDir, filepath.Join(dataDir, "agent.json")} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; fmt.Sprint(uid) != nobody.Uid {
			t.Errorf("%s owned by uid %d, want nobody (%s)", f, uid, nobody.Uid)
		}
	}
	// The status page, bound on a privileged port before the drop, answers.
	resp, err := http.Get("http://" + page + "/status.json")
	if err != nil {
		t.Fatalf("status page: %v\n%s", err, a.Log())
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status page: %s", resp.Status)
	}
	if !strings.Contains(a.Log(), "dropped privileges") {
		t.Errorf("the agent's log does not say it dropped privileges:\n%s", a.Log())
	}
}

// freeLowPort finds a privileged port (< 1024) free on host.
func freeLowPort(t *testing.T, host string) string {
	t.Helper()
	for p := 900; p < 1024; p++ {
		addr := fmt.Sprintf("%s:%d", host, p)
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port between 900 and 1023")
	return ""
}

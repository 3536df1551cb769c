package notify

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prophasis/prophasis/store"
)

// script writes an executable shell script into a temporary directory.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "notify.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SMS_KEY", "k3y")
	t.Setenv("NOT_PASSED", "x")
	p := script(t, `cat > "$1/stdin.json"
env > "$1/env"
echo "args: $*" > "$1/args"
`)
	c, err := NewCommand(CommandConfig{Path: p, Args: []string{dir, "two words"}, Env: []string{"SMS_KEY", "UNSET_VAR"}})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert()
	if retry, err := c.Notify(context.Background(), a); err != nil || retry {
		t.Fatalf("Notify: %v %v", retry, err)
	}
	in, _ := os.ReadFile(filepath.Join(dir, "stdin.json"))
	var got Alert
	if err := json.Unmarshal(in, &got); err != nil || got.ID != a.ID || got.Reason != a.Reason {
		t.Fatalf("stdin %s: %v", in, err)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	for _, want := range []string{"SMS_KEY=k3y", "PROPHASIS_ALERT_ID=" + a.ID, "PROPHASIS_ALERT_STATUS=firing", "PROPHASIS_ALERT_STATE=critical",
		"PROPHASIS_ALERT_TITLE=[CRITICAL] web1 disk/res: ok → critical"} {
		if !strings.Contains(string(env), want+"\n") {
			t.Fatalf("environment lacks %q:\n%s", want, env)
		}
	}
	if strings.Contains(string(env), "NOT_PASSED") || strings.Contains(string(env), "UNSET_VAR") {
		t.Fatalf("environment has what the allow-list does not name:\n%s", env)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if string(args) != "args: "+dir+" two words\n" {
		t.Fatalf("args %q", args)
	}
}

func TestCommandFails(t *testing.T) {
	// Non-zero exit: retried, the start of stderr quoted, bounded.
	p := script(t, `cat >/dev/null
echo "provider said no" >&2
head -c 100000 /dev/zero | tr '\0' x >&2
exit 3
`)
	c, _ := NewCommand(CommandConfig{Path: p})
	retry, err := c.Notify(context.Background(), testAlert())
	if err == nil || !retry {
		t.Fatalf("exit 3: %v %v", retry, err)
	}
	if !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "stderr: provider said no x") || len(err.Error()) > 700 {
		t.Fatalf("error %q (%d bytes)", err, len(err.Error()))
	}

	// A program that does not exist is not retried.
	c, _ = NewCommand(CommandConfig{Path: "/nonexistent/sms"})
	if retry, err := c.Notify(context.Background(), testAlert()); err == nil || retry || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing program: %v %v", retry, err)
	}
}

func TestCommandTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	// The script starts a grandchild that would outlive it, then hangs.
	p := script(t, `sleep 300 &
echo $! > "$1/child"
sleep 300
`)
	c, _ := NewCommand(CommandConfig{Path: p, Args: []string{dir}, Timeout: store.Duration(300 * time.Millisecond)})
	start := time.Now()
	retry, err := c.Notify(context.Background(), testAlert())
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("timeout took %s", took)
	}
	if err == nil || !retry || !strings.Contains(err.Error(), "killed after 300ms") {
		t.Fatalf("timeout: %v %v", retry, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "child"))
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if perr != nil {
		t.Fatalf("child pid %q", b)
	}
	// The grandchild was in the killed group: gone (or a zombie being
	// reaped by init) within a moment.
	deadline := time.Now().Add(3 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the script's child %d outlived the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

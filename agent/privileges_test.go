package agent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/prophasis/prophasis/agent/runner"
)

// The privilege tests change the identity of a whole process, so each runs
// in a child: the test binary started again with PROPHASIS_DROP_CHILD set.
// They need root, as the agent does for this: CI runs as root.

const dropChildEnv = "PROPHASIS_DROP_CHILD"

// childReport is what a child prints: its identity as the kernel sees it,
// for every thread, and what it could still do.
type childReport struct {
	Threads  []string // "Uid:\t...\nGid:\t...\nGroups:\t..." per thread
	Err      string   // the drop's error, if any
	ReadRoot string   // the error reading a root-only file, "" if it could
}

func TestMain(m *testing.M) {
	switch os.Getenv(dropChildEnv) {
	case "":
		os.Exit(m.Run())
	case "numeric":
		// Arbitrary ids that need no user in /etc/passwd.
		err := setIDs(&syscall.Credential{Uid: 64123, Gid: 64123, Groups: []uint32{64124, 64125}})
		childExit(err)
	case "user":
		err := dropPrivileges(os.Getenv("PROPHASIS_DROP_USER"), os.Getenv("PROPHASIS_DROP_DIR"),
			slog.New(slog.DiscardHandler))
		childExit(err)
	}
}

func childExit(err error) {
	var r childReport
	if err != nil {
		r.Err = err.Error()
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		var ids []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "Uid:") || strings.HasPrefix(line, "Gid:") || strings.HasPrefix(line, "Groups:") {
				ids = append(ids, strings.Join(strings.Fields(line), " "))
			}
		}
		r.Threads = append(r.Threads, strings.Join(ids, "; "))
	}
	if _, err := os.ReadFile(os.Getenv("PROPHASIS_DROP_SECRET")); err != nil {
		r.ReadRoot = err.Error()
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
	os.Exit(0)
}

func runDropChild(t *testing.T, mode string, env ...string) childReport {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("dropping privileges needs root (CI runs as root)")
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("root only"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, dropChildEnv+"="+mode, "PROPHASIS_DROP_SECRET="+secret)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var r childReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("child printed %q: %v", out, err)
	}
	return r
}

// TestSetIDsEveryThread: after setIDs, every thread of the process has the
// new user, group and exactly the supplementary groups given (plus the
// primary group), root's files are closed to it, and root cannot be
// regained (setIDs checks that itself and would report it).
func TestSetIDsEveryThread(t *testing.T) {
	r := runDropChild(t, "numeric")
	if r.Err != "" {
		t.Fatalf("setIDs: %s", r.Err)
	}
	if len(r.Threads) < 2 {
		t.Fatalf("child had %d threads; the test wants several to check them all", len(r.Threads))
	}
	want := "Uid: 64123 64123 64123 64123; Gid: 64123 64123 64123 64123; Groups: 64123 64124 64125"
	for i, th := range r.Threads {
		if th != want {
			t.Errorf("thread %d: %s, want %s", i, th, want)
		}
	}
	if !strings.Contains(r.ReadRoot, "permission denied") {
		t.Errorf("reading a root-only 0600 file after the drop: %q, want permission denied", r.ReadRoot)
	}
}

// TestDropPrivilegesToUser: the agent becomes a named user with that user's
// groups, gives it the data directory (files made by root before included),
// and can still write there.
func TestDropPrivilegesToUser(t *testing.T) {
	cred, err := runner.LookupCredential("nobody")
	if err != nil {
		t.Fatal(err)
	}
	// The data directory's parents must be open to the user, as /var/lib
	// is; t.TempDir's are 0700.
	base, err := os.MkdirTemp("/tmp", "prophasis-drop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "agent")
	if err := os.MkdirAll(filepath.Join(dir, "spool"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "agent.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runDropChild(t, "user", "PROPHASIS_DROP_USER=nobody", "PROPHASIS_DROP_DIR="+dir)
	if r.Err != "" {
		t.Fatalf("dropPrivileges: %s", r.Err)
	}
	uid := strconv.Itoa(int(cred.Uid))
	for i, th := range r.Threads {
		if !strings.HasPrefix(th, fmt.Sprintf("Uid: %s %s %s %s; Gid: %d", uid, uid, uid, uid, cred.Gid)) {
			t.Errorf("thread %d: %s, want uid %s gid %d", i, th, uid, cred.Gid)
		}
	}
	for _, f := range []string{dir, filepath.Join(dir, "spool"), filepath.Join(dir, "agent.json")} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != cred.Uid || st.Gid != cred.Gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", f, st.Uid, st.Gid, cred.Uid, cred.Gid)
		}
	}
}

// TestDropPrivilegesRefusals: root, an unknown user and a data directory
// the user cannot reach are errors that say so; nothing is half done in
// the first two cases (the process is still root).
func TestDropPrivilegesRefusals(t *testing.T) {
	if r := runDropChild(t, "user", "PROPHASIS_DROP_USER=root", "PROPHASIS_DROP_DIR="+t.TempDir()); !strings.Contains(r.Err, "unprivileged") || !strings.HasPrefix(r.Threads[0], "Uid: 0 ") {
		t.Errorf("drop to root: err %q, identity %s", r.Err, r.Threads[0])
	}
	if r := runDropChild(t, "user", "PROPHASIS_DROP_USER=no-such-user-xyz", "PROPHASIS_DROP_DIR="+t.TempDir()); !strings.Contains(r.Err, "no-such-user-xyz") || !strings.HasPrefix(r.Threads[0], "Uid: 0 ") {
		t.Errorf("drop to an unknown user: err %q, identity %s", r.Err, r.Threads[0])
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Fatal(err)
	}
	// t.TempDir is 0700 root: nobody cannot enter it.
	closed := filepath.Join(t.TempDir(), "agent")
	if r := runDropChild(t, "user", "PROPHASIS_DROP_USER=nobody", "PROPHASIS_DROP_DIR="+closed); !strings.Contains(r.Err, "cannot write the data directory") {
		t.Errorf("drop with a closed parent directory: err %q", r.Err)
	}
}

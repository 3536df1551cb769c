package runner

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// pluginDir returns a directory for test plugins that the plugin user
// (nobody, when the tests run as root) can enter, and a world-writable
// directory inside it for what the plugins record.
func pluginDir(t *testing.T) (dir, out string) {
	t.Helper()
	dir = t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out = filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(out, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	return dir, out
}

// script writes an executable /bin/sh script and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newExecutor(t *testing.T, outputCap int) *Executor {
	t.Helper()
	x, err := NewExecutor("", outputCap, testLogger(t))
	if err != nil {
		t.Fatalf("NewExecutor: %v", err)
	}
	return x
}

// groupGone asserts that no process of the group is left, zombies included.
func groupGone(t *testing.T, pgid int) {
	t.Helper()
	if pgid <= 0 {
		t.Fatalf("no process group (pid %d)", pgid)
	}
	if err := syscall.Kill(-pgid, 0); err != syscall.ESRCH {
		t.Errorf("kill(-%d, 0) = %v, want ESRCH: processes of the plugin's group remain", pgid, err)
	}
}

// pidsGone asserts that none of the pids listed in file (one per line)
// exists any more.
func pidsGone(t *testing.T, file string, atLeast int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b))
	if len(fields) < atLeast {
		t.Fatalf("%s lists %d pids, want at least %d", file, len(fields), atLeast)
	}
	for _, f := range fields {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("pid %q: %v", f, err)
		}
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("kill(%d, 0) = %v, want ESRCH: a child of the plugin survived", pid, err)
		}
	}
}

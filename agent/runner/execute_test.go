package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// A plugin that hangs and leaves children and grandchildren behind is
// killed at its timeout with its whole process group.
func TestTimeoutKillsGrandchildren(t *testing.T) {
	dir, out := pluginDir(t)
	path := script(t, dir, "hang", `
pids="$PROPHASIS_PARAM_OUT/pids"
sleep 1000 &
echo $! >> "$pids"
sh -c 'sleep 1000 & echo $! >> "$0"; sleep 1000' "$pids" &
echo $! >> "$pids"
echo started
sleep 1000
`)
	x := newExecutor(t, 0)
	p := Plugin{Exec: Execution{Path: path, Env: Env(map[string]string{"out": out}), Timeout: 500 * time.Millisecond}}
	o := x.Execute(t.Context(), p.Exec)
	if !o.TimedOut || o.ExitCode != -1 || o.Signal != syscall.SIGKILL || o.Err != nil {
		t.Errorf("output %+v, want timed out, killed (-1, SIGKILL), no error", o)
	}
	if string(o.Stdout) != "started\n" {
		t.Errorf("stdout %q, want what the plugin printed before its timeout", o.Stdout)
	}
	if o.Duration < 500*time.Millisecond || o.Duration > 5*time.Second {
		t.Errorf("duration %s, want about the 500ms timeout", o.Duration)
	}
	groupGone(t, o.PID)
	pidsGone(t, filepath.Join(out, "pids"), 3)

	res := p.Do(t.Context(), x)
	if res.ExitStatus != 3 || res.Message != "timed out after 500ms" {
		t.Errorf("result %+v, want unknown (3) \"timed out after 500ms\"", res)
	}
}

// A plugin that exits leaving a background child (which holds its stdout
// open) does not hold up the runner: the child is killed when the main
// process ends.
func TestLeftoverChildKilled(t *testing.T) {
	dir, out := pluginDir(t)
	path := script(t, dir, "leaver", `
sleep 1000 &
echo $! > "$PROPHASIS_PARAM_OUT/pids"
echo done
`)
	start := time.Now()
	o := newExecutor(t, 0).Execute(t.Context(), Execution{Path: path, Env: Env(map[string]string{"out": out}), Timeout: 20 * time.Second})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Execute took %s: it waited for the plugin's background child", took)
	}
	if o.TimedOut || o.ExitCode != 0 || o.Err != nil || string(o.Stdout) != "done\n" {
		t.Errorf("output %+v, want exit 0 with \"done\"", o)
	}
	groupGone(t, o.PID)
	pidsGone(t, filepath.Join(out, "pids"), 1)
}

// A child that leaves the plugin's process group (setsid) cannot be killed
// with it, but holding the output pipe open does not hold up the runner
// beyond drainGrace.
func TestEscapedChildDoesNotBlock(t *testing.T) {
	dir, out := pluginDir(t)
	pids := filepath.Join(out, "pids")
	path := script(t, dir, "escape", `setsid sleep 1000 &
echo $! > "$PROPHASIS_PARAM_OUT/pids"
echo done
`)
	t.Cleanup(func() {
		b, _ := os.ReadFile(pids)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil) // reparented to the test (a subreaper)
		}
	})
	start := time.Now()
	o := newExecutor(t, 0).Execute(t.Context(), Execution{Path: path, Env: Env(map[string]string{"out": out}), Timeout: 20 * time.Second})
	if took := time.Since(start); took > drainGrace+3*time.Second {
		t.Errorf("Execute took %s: it waited for the escaped child", took)
	}
	if o.TimedOut || o.ExitCode != 0 || string(o.Stdout) != "done\n" {
		t.Errorf("output %+v, want exit 0 with \"done\"", o)
	}
	groupGone(t, o.PID)
}

// A fork bomb (guarded: a binary tree of 127 shells, each also running a
// sleep) is bounded by the timeout, and nothing of it survives.
func TestForkBombBounded(t *testing.T) {
	dir, out := pluginDir(t)
	path := script(t, dir, "bomb", `
f() {
	echo x >> "$PROPHASIS_PARAM_OUT/count"
	if [ "$1" -gt 0 ]; then
		f $(($1 - 1)) &
		f $(($1 - 1)) &
	fi
	sleep 1000
}
f 6
`)
	o := newExecutor(t, 0).Execute(t.Context(), Execution{Path: path, Env: Env(map[string]string{"out": out}), Timeout: 2 * time.Second})
	if !o.TimedOut {
		t.Errorf("output %+v, want timed out", o)
	}
	groupGone(t, o.PID)
	b, err := os.ReadFile(filepath.Join(out, "count"))
	if err != nil {
		t.Fatal(err)
	}
	n := bytes.Count(b, []byte("x"))
	if n < 20 {
		t.Errorf("only %d shells started before the timeout; the test proves little", n)
	}
	t.Logf("%d shells (each with a sleep) killed", n)
}

// Output beyond the cap is read and dropped: 10 MB on each stream leave
// 64 KiB each in memory, and the agent's allocations stay far below 10 MB.
func TestOutputCap(t *testing.T) {
	dir, _ := pluginDir(t)
	path := script(t, dir, "flood", "echo first line\nhead -c 10000000 /dev/zero\nhead -c 10000000 /dev/zero >&2\necho after >&2\n")
	x := newExecutor(t, 0)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	o := x.Execute(t.Context(), Execution{Path: path, Timeout: 20 * time.Second})
	runtime.ReadMemStats(&after)
	if o.Err != nil || o.TimedOut || o.ExitCode != 0 {
		t.Fatalf("output err %v, timed out %v, exit %d", o.Err, o.TimedOut, o.ExitCode)
	}
	if len(o.Stdout) != DefaultOutputCap || len(o.Stderr) != DefaultOutputCap || !o.Truncated {
		t.Errorf("kept %d + %d bytes, truncated %v; want %d each, truncated", len(o.Stdout), len(o.Stderr), o.Truncated, DefaultOutputCap)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("allocated %d bytes for 20 MB of output: it is buffered", alloc)
	}

	res := Plugin{Exec: Execution{Path: path, Timeout: 20 * time.Second}}.Do(t.Context(), x)
	if res.Message != "first line (output truncated at 64 KiB)" {
		t.Errorf("message %.100q, want the first line with the truncation noted", res.Message)
	}
	res = Plugin{Exec: Execution{Path: path, Timeout: 20 * time.Second},
		Parse: func(Output) wire.Result { return wire.Result{Message: "OK - fine"} }}.Do(t.Context(), x)
	if res.Message != "OK - fine (output truncated at 64 KiB)" {
		t.Errorf("message %.100q, want the parser's message with the truncation noted", res.Message)
	}
}

// Binary garbage passes through as bytes, unchanged; output of exactly the
// cap is not truncated, one byte more is.
func TestBinaryOutputAndCapBoundary(t *testing.T) {
	dir, _ := pluginDir(t)
	garbage := make([]byte, 1000)
	rand.Read(garbage)
	garbage[0], garbage[1], garbage[2] = 0, 0xff, '\n'
	if err := os.WriteFile(filepath.Join(dir, "garbage"), garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	x := newExecutor(t, 1000)
	f := func(body string, want []byte, truncated bool) {
		t.Helper()
		o := x.Execute(t.Context(), Execution{Path: script(t, dir, "bin", body)})
		if !bytes.Equal(o.Stdout, want) || o.Truncated != truncated || o.Err != nil {
			t.Errorf("%q: %d bytes (equal %v), truncated %v, err %v; want %d bytes, truncated %v",
				body, len(o.Stdout), bytes.Equal(o.Stdout, want), o.Truncated, o.Err, len(want), truncated)
		}
	}
	f("cat garbage\n", garbage, false)
	f("cat garbage; echo more\n", garbage, true)
	f("head -c 10 garbage\n", garbage[:10], false)
}

func TestExitCodes(t *testing.T) {
	dir, _ := pluginDir(t)
	x := newExecutor(t, 0)
	for _, code := range []int{0, 1, 2, 3, 255} {
		path := script(t, dir, "exit"+strconv.Itoa(code), "echo 'LOAD status "+strconv.Itoa(code)+" | load=1'\necho second line\nexit "+strconv.Itoa(code)+"\n")
		p := Plugin{Exec: Execution{Path: path}}
		o := x.Execute(t.Context(), p.Exec)
		if o.ExitCode != code || o.Err != nil || o.TimedOut {
			t.Errorf("exit %d: output %+v", code, o)
		}
		res := p.Do(t.Context(), x)
		if res.ExitStatus != code || res.Message != "LOAD status "+strconv.Itoa(code)+" | load=1" {
			t.Errorf("exit %d: DefaultParse gave %+v", code, res)
		}
	}
}

// A plugin that crashes (killed by a signal) gives an unknown result naming
// the signal, not a made-up exit status.
func TestKilledBySignal(t *testing.T) {
	dir, _ := pluginDir(t)
	x := newExecutor(t, 0)
	p := Plugin{Exec: Execution{Path: script(t, dir, "crash", "echo partial\nkill -SEGV $$\n")}}
	o := x.Execute(t.Context(), p.Exec)
	if o.Signal != syscall.SIGSEGV || o.ExitCode != -1 || o.TimedOut || o.Err != nil {
		t.Errorf("output %+v, want killed by SIGSEGV", o)
	}
	if res := p.Do(t.Context(), x); res.ExitStatus != 3 || res.Message != "plugin killed by signal 11 (segmentation fault)" {
		t.Errorf("result %+v", res)
	}
}

// A missing executable or working directory is an error in the output and
// an unknown result, not a crash.
func TestMissingExecutable(t *testing.T) {
	dir, _ := pluginDir(t)
	x := newExecutor(t, 0)
	missing := filepath.Join(dir, "no-such-plugin")
	o := x.Execute(t.Context(), Execution{Path: missing})
	if !errors.Is(o.Err, fs.ErrNotExist) || o.PID != 0 || o.ExitCode != -1 {
		t.Errorf("output %+v, want a not-exist error, no process", o)
	}
	res := Plugin{Exec: Execution{Path: missing}}.Do(t.Context(), x)
	if res.ExitStatus != 3 || !strings.HasPrefix(res.Message, "cannot run plugin: start "+missing+": ") {
		t.Errorf("result %+v, want unknown (3) saying the plugin cannot run", res)
	}
	o = x.Execute(t.Context(), Execution{Path: "/bin/true", Dir: filepath.Join(dir, "no-such-dir")})
	if !errors.Is(o.Err, fs.ErrNotExist) {
		t.Errorf("missing working directory: err %v, want not-exist", o.Err)
	}
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if o = x.Execute(t.Context(), Execution{Path: notExec}); !errors.Is(o.Err, fs.ErrPermission) {
		t.Errorf("file without x bit: err %v, want permission denied", o.Err)
	}
}

// As root (as CI runs), plugins run as nobody, without group 0; otherwise
// as the agent's own user.
func TestPrivilegeDrop(t *testing.T) {
	dir, _ := pluginDir(t)
	o := newExecutor(t, 0).Execute(t.Context(), Execution{Path: script(t, dir, "id", "id -u\nid -G\n")})
	if o.Err != nil || o.ExitCode != 0 {
		t.Fatalf("output %+v, stderr %q", o, o.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(o.Stdout)), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout %q, want uid and groups", o.Stdout)
	}
	uid, groups := lines[0], strings.Fields(lines[1])
	if os.Geteuid() == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("look up nobody: %v", err)
		}
		if uid == "0" || uid != nobody.Uid {
			t.Errorf("plugin ran as uid %s, want nobody (%s)", uid, nobody.Uid)
		}
		if slices.Contains(groups, "0") {
			t.Errorf("plugin has groups %v, including root's group", groups)
		}
		return
	}
	if uid != strconv.Itoa(os.Getuid()) {
		t.Errorf("plugin ran as uid %s, want the agent's own %d", uid, os.Getuid())
	}
}

// The user "root" is refused as plugin user, and an unknown user is an
// error, when the agent is root.
func TestPluginUserChecked(t *testing.T) {
	_, errRoot := NewExecutor("root", 0, nil)
	_, errUnknown := NewExecutor("no-such-user-prophasis", 0, nil)
	if os.Geteuid() == 0 {
		if errRoot == nil || errUnknown == nil {
			t.Errorf("as root: user root gave %v, unknown user gave %v; want errors", errRoot, errUnknown)
		}
		return
	}
	if errRoot != nil || errUnknown != nil {
		t.Errorf("not root: the user is ignored, but got %v, %v", errRoot, errUnknown)
	}
}

// Plugins get exactly the minimal environment, stdin from /dev/null and the
// plugin's directory as working directory.
func TestEnvironmentStdinDir(t *testing.T) {
	x := newExecutor(t, 0)
	t.Setenv("PROPHASIS_SECRET", "must-not-leak")
	o := x.Execute(t.Context(), Execution{Path: "/usr/bin/env",
		Env: Env(map[string]string{"warn": "80%", "crit-level": "a b", "ok_1": ""})})
	got := strings.Split(strings.TrimSpace(string(o.Stdout)), "\n")
	want := []string{"PATH=" + DefaultPath, "LANG=C", "PROPHASIS_PARAM_CRIT_LEVEL=a b", "PROPHASIS_PARAM_OK_1=", "PROPHASIS_PARAM_WARN=80%"}
	if !slices.Equal(got, want) {
		t.Errorf("environment %q, want %q", got, want)
	}
	o = x.Execute(t.Context(), Execution{Path: "/usr/bin/env", Env: nil})
	if got := strings.TrimSpace(string(o.Stdout)); got != "PATH="+DefaultPath+"\nLANG=C" {
		t.Errorf("nil Env gave %q, want only PATH and LANG", got)
	}

	dir, _ := pluginDir(t)
	o = x.Execute(t.Context(), Execution{Path: script(t, dir, "where", "pwd\nreadlink /proc/$$/fd/0\ncat\necho end\n")})
	if want := dir + "\n/dev/null\nend\n"; string(o.Stdout) != want {
		t.Errorf("stdout %q, want %q", o.Stdout, want)
	}
}

// Cancelling ctx kills the plugin's group at once and says so in Err; it is
// not a timeout.
func TestExecuteCancelled(t *testing.T) {
	dir, _ := pluginDir(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	o := newExecutor(t, 0).Execute(ctx, Execution{Path: script(t, dir, "long", "sleep 1000 &\nsleep 1000\n"), Timeout: time.Minute})
	if !errors.Is(o.Err, context.DeadlineExceeded) || o.TimedOut {
		t.Errorf("output %+v, want the context's error and no timeout", o)
	}
	groupGone(t, o.PID)
}

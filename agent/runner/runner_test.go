package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// done collects the runner's results.
type done struct {
	mu      sync.Mutex
	results []wire.Result
	jobs    []Job
	ch      chan struct{}
}

func newDone() *done { return &done{ch: make(chan struct{}, 100)} }

func (d *done) add(j Job, r wire.Result) {
	d.mu.Lock()
	d.jobs = append(d.jobs, j)
	d.results = append(d.results, r)
	d.mu.Unlock()
	d.ch <- struct{}{}
}

// wait waits for n more results; the 60 s bound only keeps a broken runner
// from hanging the test.
func (d *done) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-d.ch:
		case <-time.After(60 * time.Second):
			t.Fatalf("runner delivered no result within 60s")
		}
	}
}

func (d *done) all() []wire.Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.results)
}

// startRunner runs a Runner until the test ends (or cancel), checking Run
// returns nil.
func startRunner(t *testing.T, r *Runner) (cancel func(), stopped <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		if err := r.Run(ctx); err != nil {
			t.Errorf("Run: %v, want nil on cancellation", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-ch })
	return cancel, ch
}

func newRunner(t *testing.T, d *done) *Runner {
	t.Helper()
	r, err := New(Config{Host: "h1", Done: d.add, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// Plugins and collectors run one at a time: each records when it starts and
// ends (with the kernel's clock, in the same file) and no two spans overlap.
// Jobs run earliest slot first, whatever the order they were submitted in.
func TestOneAtATime(t *testing.T) {
	dir, out := pluginDir(t)
	log := filepath.Join(out, "log")
	path := script(t, dir, "span", `
echo "start $PROPHASIS_PARAM_NAME $(date +%s%N)" >> "$PROPHASIS_PARAM_LOG"
sleep 0.2
echo "end $PROPHASIS_PARAM_NAME $(date +%s%N)" >> "$PROPHASIS_PARAM_LOG"
echo "ran $PROPHASIS_PARAM_NAME"
`)
	var logMu sync.Mutex
	record := func(what, name string) {
		logMu.Lock()
		defer logMu.Unlock()
		f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o666)
		if err != nil {
			t.Error(err)
			return
		}
		fmt.Fprintf(f, "%s %s %d\n", what, name, time.Now().UnixNano())
		f.Close()
	}
	d := newDone()
	r := newRunner(t, d)
	base := time.Now().Add(-time.Second)
	names := []string{"p4", "c3", "p2", "c1", "p0"} // submitted latest slot first
	for i, name := range names {
		j := Job{Check: "c", Plugin: name, Slot: base.Add(time.Duration(len(names)-1-i) * time.Millisecond)}
		if strings.HasPrefix(name, "p") {
			j.Task = Plugin{Exec: Execution{Path: path, Env: Env(map[string]string{"name": name, "log": log})}}
		} else {
			j.Task = Collector{Collect: func(ctx context.Context) (wire.Result, error) {
				record("start", name)
				select {
				case <-time.After(200 * time.Millisecond): // the collector's work
				case <-ctx.Done():
				}
				record("end", name)
				return wire.Result{Message: "ran " + name}, nil
			}}
		}
		if err := r.Submit(j); err != nil {
			t.Fatalf("Submit: %v", err)
		}
	}
	if r.Len() != len(names) {
		t.Errorf("Len = %d, want %d", r.Len(), len(names))
	}
	startRunner(t, r)
	d.wait(t, len(names))

	var order []string
	for _, res := range d.all() {
		order = append(order, res.Plugin)
		if res.Host != "h1" || res.Check != "c" || res.Message != "ran "+res.Plugin || res.ExitStatus != 0 ||
			res.Duration < 0.2 || res.Timestamp < base.UnixMilli() {
			t.Errorf("result %+v", res)
		}
	}
	if want := []string{"p0", "c1", "p2", "c3", "p4"}; !slices.Equal(order, want) {
		t.Errorf("ran %v, want earliest slot first %v", order, want)
	}

	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2*len(names) {
		t.Fatalf("log has %d lines, want %d:\n%s", len(lines), 2*len(names), b)
	}
	var prevEnd int64
	for i := 0; i < len(lines); i += 2 {
		s, e := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(s) != 3 || len(e) != 3 || s[0] != "start" || e[0] != "end" || s[1] != e[1] {
			t.Fatalf("runs overlap or interleave:\n%s", b)
		}
		start, _ := strconv.ParseInt(s[2], 10, 64)
		end, _ := strconv.ParseInt(e[2], 10, 64)
		if start < prevEnd || end < start {
			t.Errorf("%s started at %d, before the previous run ended at %d", s[1], start, prevEnd)
		}
		prevEnd = end
	}
	if st := r.Stats(); st != (Stats{Ran: 5}) {
		t.Errorf("Stats = %+v", st)
	}
}

// A job that waited in the queue past its max lateness is not run but
// reported as skipped, stamped with its slot; a late job without a max
// lateness runs.
func TestSkipLateJob(t *testing.T) {
	dir, out := pluginDir(t)
	marker := filepath.Join(out, "ran")
	path := script(t, dir, "touch", `touch "$PROPHASIS_PARAM_MARKER"`+"\n")
	d := newDone()
	r := newRunner(t, d)
	slot := time.Now().Add(-time.Minute)
	task := Plugin{Exec: Execution{Path: path, Env: Env(map[string]string{"marker": marker})}}
	if err := r.Submit(Job{Check: "c", Plugin: "late", Slot: slot, MaxLateness: 30 * time.Second, Task: task}); err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	d.wait(t, 1)
	res := d.all()[0]
	if !res.Skipped || res.Timestamp != slot.UnixMilli() || res.Host != "h1" || res.Plugin != "late" ||
		!strings.HasPrefix(res.Message, "skipped: started 1m0s after its slot at ") ||
		!strings.HasSuffix(res.Message, ", max lateness 30s") {
		t.Errorf("result %+v, want skipped with its slot", res)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the skipped plugin ran (stat: %v)", err)
	}

	if err := r.Submit(Job{Check: "c", Plugin: "no-limit", Slot: slot, Task: task}); err != nil {
		t.Fatal(err)
	}
	d.wait(t, 1)
	if res := d.all()[1]; res.Skipped {
		t.Errorf("result %+v, want run: no max lateness", res)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the plugin without max lateness did not run: %v", err)
	}
	if st := r.Stats(); st != (Stats{Ran: 1, Skipped: 1}) {
		t.Errorf("Stats = %+v", st)
	}
}

// A failing job (missing executable) gives an unknown result and the queue
// goes on.
func TestFailedJobDoesNotStopQueue(t *testing.T) {
	dir, _ := pluginDir(t)
	d := newDone()
	r := newRunner(t, d)
	r.Submit(Job{Plugin: "missing", Task: Plugin{Exec: Execution{Path: filepath.Join(dir, "nope")}}})
	r.Submit(Job{Plugin: "ok", Task: Plugin{Exec: Execution{Path: script(t, dir, "ok", "echo OK\n")}}})
	startRunner(t, r)
	d.wait(t, 2)
	got := d.all()
	if got[0].ExitStatus != 3 || !strings.HasPrefix(got[0].Message, "cannot run plugin: ") {
		t.Errorf("missing plugin: %+v", got[0])
	}
	if got[1].ExitStatus != 0 || got[1].Message != "OK" {
		t.Errorf("next plugin: %+v", got[1])
	}
}

// Stopping the runner kills the running plugin's group at once; its run is
// not reported, and Run returns nil.
func TestRunCancelled(t *testing.T) {
	dir, out := pluginDir(t)
	pids := filepath.Join(out, "pids")
	path := script(t, dir, "long", `echo $$ > "$PROPHASIS_PARAM_PIDS.tmp"; mv "$PROPHASIS_PARAM_PIDS.tmp" "$PROPHASIS_PARAM_PIDS"`+"\nsleep 1000\n")
	d := newDone()
	r := newRunner(t, d)
	r.Submit(Job{Plugin: "long", Task: Plugin{Exec: Execution{Path: path, Env: Env(map[string]string{"pids": pids}), Timeout: time.Minute}}})
	cancel, stopped := startRunner(t, r)
	// Wait (bounded) until the plugin has started: its pid file appears.
	for i := 0; ; i++ {
		if _, err := os.Stat(pids); err == nil {
			break
		}
		if i == 3000 {
			t.Fatal("the plugin did not start within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run took %s to stop", took)
	}
	if res := d.all(); len(res) != 0 {
		t.Errorf("a cancelled run was reported: %+v", res)
	}
	pidsGone(t, pids, 1)
}

// A collector that ends with its context, and one that ignores it, both
// give an unknown "timed out" result; the queue goes on.
func TestCollectorTimeout(t *testing.T) {
	d := newDone()
	r := newRunner(t, d)
	stuck := make(chan struct{})
	defer close(stuck)
	r.Submit(Job{Plugin: "polite", Task: Collector{Timeout: 100 * time.Millisecond,
		Collect: func(ctx context.Context) (wire.Result, error) { <-ctx.Done(); return wire.Result{}, ctx.Err() }}})
	r.Submit(Job{Plugin: "stuck", Task: Collector{Timeout: 100 * time.Millisecond,
		Collect: func(context.Context) (wire.Result, error) { <-stuck; return wire.Result{}, nil }}})
	r.Submit(Job{Plugin: "broken", Task: Collector{
		Collect: func(context.Context) (wire.Result, error) { return wire.Result{}, errors.New("no /proc/loadavg") }}})
	startRunner(t, r)
	d.wait(t, 3)
	got := d.all()
	for _, res := range got[:2] {
		if res.ExitStatus != 3 || res.Message != "timed out after 100ms" {
			t.Errorf("%s: %+v, want unknown, timed out", res.Plugin, res)
		}
	}
	if got[2].ExitStatus != 3 || got[2].Message != "collector failed: no /proc/loadavg" {
		t.Errorf("broken: %+v", got[2])
	}
}

// A TaskFunc runs several processes in one job (Munin's config, then
// fetch), and nothing else runs in between.
func TestTaskFuncTwoProcesses(t *testing.T) {
	dir, _ := pluginDir(t)
	path := script(t, dir, "munin", "if [ \"$1\" = config ]; then echo 'graph_title Load'; else echo 'load.value 0.5'; fi\n")
	d := newDone()
	r := newRunner(t, d)
	r.Submit(Job{Plugin: "load", Task: TaskFunc(func(ctx context.Context, x *Executor) wire.Result {
		config := x.Execute(ctx, Execution{Path: path, Args: []string{"config"}})
		fetch := x.Execute(ctx, Execution{Path: path})
		return wire.Result{Message: strings.TrimSpace(string(config.Stdout)) + " / " + strings.TrimSpace(string(fetch.Stdout))}
	})})
	startRunner(t, r)
	d.wait(t, 1)
	if got := d.all()[0]; got.Message != "graph_title Load / load.value 0.5" || got.Plugin != "load" {
		t.Errorf("result %+v", got)
	}
}

func TestSubmitChecks(t *testing.T) {
	d := newDone()
	r, err := New(Config{Done: d.add, QueueLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	noop := Collector{Collect: func(context.Context) (wire.Result, error) { return wire.Result{}, nil }}
	if err := r.Submit(Job{Plugin: "no task"}); err == nil {
		t.Error("Submit without a task: no error")
	}
	for i := range 2 {
		if err := r.Submit(Job{Task: noop}); err != nil {
			t.Fatalf("Submit %d: %v", i, err)
		}
	}
	if err := r.Submit(Job{Task: noop}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("Submit past the limit: %v, want ErrQueueFull", err)
	}
	if st := r.Stats(); st.Rejected != 1 {
		t.Errorf("Stats = %+v, want 1 rejected", st)
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without Done: no error")
	}
}

func TestEnv(t *testing.T) {
	f := func(params map[string]string, want ...string) {
		t.Helper()
		want = append([]string{"PATH=" + DefaultPath, "LANG=C"}, want...)
		if got := Env(params); !slices.Equal(got, want) {
			t.Errorf("Env(%v) = %q, want %q", params, got, want)
		}
	}
	f(nil)
	f(map[string]string{"warning": "80", "Crit": "90"}, "PROPHASIS_PARAM_CRIT=90", "PROPHASIS_PARAM_WARNING=80")
	f(map[string]string{"disk.path-1": "/var lib", "é": "x"}, "PROPHASIS_PARAM_DISK_PATH_1=/var lib", "PROPHASIS_PARAM__=x")
}

func TestFormatSize(t *testing.T) {
	f := func(n int, want string) {
		t.Helper()
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	f(64<<10, "64 KiB")
	f(1<<20, "1 MiB")
	f(1000, "1000 bytes")
	f(1536, "1536 bytes")
}

package rules_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/rules"
	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/rules/stale"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
	"github.com/prophasis/prophasis/wire"
)

// env is a real TSDB and store with ingest feeding a running engine.
type env struct {
	dir    string
	db     *tsdb.DB
	st     store.Store
	in     *ingest.Ingester
	e      *rules.Engine
	cancel context.CancelFunc
	done   chan error
	reach  *reach.Views // the agents' mesh views, nil for none

	mu     sync.Mutex
	events []store.Event
}

var t0 = time.Now().Add(-time.Hour).Truncate(time.Minute)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	e.open(t)
	return e
}

func (e *env) open(t testing.TB) {
	t.Helper()
	db, err := tsdb.Open(filepath.Join(e.dir, "tsdb"), tsdb.Options{}, discard(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(e.dir, "store.db"), discard())
	if err != nil {
		t.Fatal(err)
	}
	e.db, e.st = db, st
	e.start(t)
	t.Cleanup(func() { e.stop(t) })
}

func (e *env) start(t testing.TB) {
	e.e = rules.New(e.st, e.db, discard(), rules.Options{Shards: 2, Reach: e.reach})
	e.e.Subscribe(func(evs []store.Event) {
		e.mu.Lock()
		e.events = append(e.events, evs...)
		e.mu.Unlock()
	})
	e.in = ingest.New(e.db, e.st, e.e, discard(), ingest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.e.Run(ctx) }()
	select {
	case <-e.e.Started():
	case err := <-e.done:
		t.Fatalf("engine stopped at start: %v", err)
	}
}

func (e *env) stop(t testing.TB) {
	if e.db == nil {
		return
	}
	e.cancel()
	if err := <-e.done; err != nil {
		t.Error(err)
	}
	if err := e.db.Close(); err != nil {
		t.Error(err)
	}
	if err := e.st.Close(); err != nil {
		t.Error(err)
	}
	e.db = nil
}

// restart stops everything and opens it again over the same directory.
func (e *env) restart(t *testing.T) {
	e.stop(t)
	e.mu.Lock()
	e.events = nil
	e.mu.Unlock()
	e.open(t)
}

// push stores results through ingest and waits until they are judged.
func (e *env) push(t *testing.T, rs ...wire.Result) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.in.WriteBatch(ctx, wire.Batch{Results: rs}); err != nil {
		t.Fatal(err)
	}
	if err := e.e.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

// takeEvents returns the events seen since the last call, as
// "kind subject from>to" strings.
func (e *env) takeEvents() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.events {
		subj := ev.Subject.Host
		if ev.Subject.Kind == "check" {
			subj = fmt.Sprintf("%s/%s/%s", ev.Subject.Host, ev.Subject.Plugin, ev.Subject.Check)
		}
		out = append(out, fmt.Sprintf("%s %s %s %s>%s", ev.Kind, ev.Subject.Kind, subj,
			classify.State(ev.From), classify.State(ev.To)))
	}
	e.events = nil
	return out
}

// series returns the values of the series selected by ms.
func (e *env) series(t *testing.T, ms ...*labels.Matcher) []float64 {
	t.Helper()
	q, err := e.db.Querier(0, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var out []float64
	ss := q.Select(context.Background(), true, nil, ms...)
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			_, v := it.At()
			out = append(out, v)
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func eq(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, name, value)
}

func result(host, plugin, check string, minute int, value float64) wire.Result {
	return wire.Result{Host: host, Plugin: plugin, Check: check, Value: &value,
		Timestamp: t0.Add(time.Duration(minute) * time.Minute).UnixMilli(), Duration: 0.01}
}

func (e *env) plugin(t testing.TB, p store.Plugin) {
	t.Helper()
	if _, err := e.st.CreatePlugin(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	e.sync(t)
}

func (e *env) sync(t testing.TB) {
	t.Helper()
	if err := e.e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
}

const loadClassifier = `
if consecutive(values, function(v) return v > 8 end) >= 3 then return "critical" end
if values[1] > 4 then return "minor" end
return "ok"`

func TestClassifiesOverHistory(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "load", Kind: "exec", Entrypoint: "load.sh", Classifier: loadClassifier, History: 5})
	e.push(t, result("web1", "load", "res", 0, 9), result("web1", "load", "res", 1, 9))
	e.push(t, result("web1", "load", "res", 2, 9))
	e.push(t, result("web1", "load", "res", 3, 1))

	got := e.series(t, eq("__name__", rules.MetricState), eq("host", "web1"))
	if want := []float64{1, 1, 3, 0}; !slices.Equal(got, want) {
		t.Errorf("prophasis_state = %v, want %v (minor, minor, critical on the third value above 8, ok)", got, want)
	}
	if got, want := e.series(t, eq("__name__", rules.MetricHostState)), []float64{1, 3, 0}; !slices.Equal(got, want) {
		t.Errorf("prophasis_host_state = %v, want %v", got, want)
	}
	wantEvents := []string{
		"state check web1/load/res unknown>minor", "state host web1 unknown>minor",
		"state check web1/load/res minor>critical", "state host web1 minor>critical",
		"state check web1/load/res critical>ok", "state host web1 critical>ok",
	}
	if got := e.takeEvents(); !slices.Equal(got, wantEvents) {
		t.Errorf("events\n got %q\nwant %q", got, wantEvents)
	}
	// The events are in the store too, newest first.
	stored, err := e.st.Events(context.Background(), store.EventQuery{Host: "web1", SubjectKind: "check"})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 || stored[0].To != int(classify.OK) || !strings.Contains(stored[1].Reason, "classified critical, value 9") {
		t.Errorf("stored events: %+v", stored)
	}
	states := e.e.States()
	if len(states) != 1 || states[0].State != classify.OK || states[0].Value == nil || *states[0].Value != 1 || states[0].Since != t0.Add(3*time.Minute).UnixMilli() {
		t.Errorf("States() = %+v", states)
	}
}

func TestClassifierErrorIsUnknownAndLoggedOnce(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "bad", Kind: "exec", Entrypoint: "x", Classifier: "local x = 1\nreturn values[1] .. nil"})
	for i := range 3 {
		r := result("db1", "bad", "c", 0, 1)
		r.Timestamp += int64(i) * 10_000 // 10 s apart: within the minute
		e.push(t, r)
	}
	r := result("db1", "bad", "c", 2, 1) // a minute later: logged again, with the count
	e.push(t, r)
	if got := e.series(t, eq("__name__", rules.MetricState)); !slices.Equal(got, []float64{-1, -1, -1, -1}) {
		t.Errorf("states %v, want unknown each time", got)
	}
	logs, err := e.st.SystemLog(context.Background(), store.LogQuery{Component: "classifier"})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 {
		t.Fatalf("system log has %d entries for the same error three times in 20 s and once a minute later, want 2: %+v", len(logs), logs)
	}
	if !strings.Contains(logs[0].Message, "(and 2 more times since") {
		t.Errorf("the repeat entry %q does not count the repeats", logs[0].Message)
	}
	l := logs[1]
	if l.Host != "db1" || l.Plugin != "bad" || l.Check != "c" || !strings.Contains(l.Message, "line 2") || !strings.Contains(l.Message, "concatenate") {
		t.Errorf("log entry %+v, want host, plugin, check and the Lua line", l)
	}
}

// TestSkippedRunsInTheSystemLog: a run the agent skipped is in the system
// log with its reason, repeats within a minute held back and counted, and
// it changes no state.
func TestSkippedRunsInTheSystemLog(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "disk", Kind: "exec", Entrypoint: "x"})
	e.push(t, result("db1", "disk", "c", 0, 1))
	for i := range 3 {
		r := result("db1", "disk", "c", 1, 0)
		r.Timestamp += int64(i) * 10_000
		r.Value, r.Skipped = nil, true
		r.Message = fmt.Sprintf("skipped: started 2m1%ds after its slot, max lateness 1m", i)
		e.push(t, r)
	}
	r := result("db1", "disk", "c", 3, 0)
	r.Value, r.Skipped, r.Message = nil, true, "skipped: started 5m after its slot, max lateness 1m"
	e.push(t, r)
	if got := e.series(t, eq("__name__", rules.MetricState)); len(got) != 1 {
		t.Errorf("states %v: a skipped run wrote a state", got)
	}
	logs, err := e.st.SystemLog(context.Background(), store.LogQuery{Component: "schedule"})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 {
		t.Fatalf("system log has %d entries for three skips in 20 s and one two minutes later, want 2: %+v", len(logs), logs)
	}
	if l := logs[1]; l.Host != "db1" || l.Plugin != "disk" || l.Check != "c" || l.Level != "warn" || l.Message != "skipped: started 2m10s after its slot, max lateness 1m" {
		t.Errorf("first entry %+v", l)
	}
	if !strings.HasPrefix(logs[0].Message, "skipped: started 5m after its slot") || !strings.Contains(logs[0].Message, "(and 2 more times since") {
		t.Errorf("the later entry %q does not count the two held back", logs[0].Message)
	}
}

func TestAttemptsConfirmStates(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "ping", Kind: "exec", Entrypoint: "ping.sh",
		Classifier: `if values[1] > 0 then return "critical" end return "ok"`})
	mustApply(t, e.st, store.Document{
		Hosts:     []store.Host{{Name: "r1"}},
		Schedules: []store.Schedule{{Name: "1m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}},
		Checks:    []store.Check{{Name: "net", Plugins: []string{"ping"}, Hosts: []string{"r1"}, Schedule: "1m", Attempts: 3}},
	})
	e.sync(t)
	for i, v := range []float64{0, 1, 1, 0, 1, 1, 1} {
		e.push(t, result("r1", "ping", "net", i, v))
	}
	// The first confirmed state waits for three agreeing results too:
	// unknown until then (one ok, then two critical, then ok again).
	got := e.series(t, eq("__name__", rules.MetricState))
	want := []float64{-1, -1, -1, -1, -1, -1, 3}
	if !slices.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
	if got, want := e.takeEvents(), []string{"state check r1/ping/net unknown>critical", "state host r1 unknown>critical"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func mustApply(t *testing.T, st store.Store, doc store.Document) {
	t.Helper()
	if _, err := st.Apply(context.Background(), doc, false); err != nil {
		t.Fatal(err)
	}
}

func TestPerCheckClassifierOverride(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "disk", Kind: "exec", Entrypoint: "d", Classifier: `return "ok"`})
	mustApply(t, e.st, store.Document{
		Hosts:     []store.Host{{Name: "h"}},
		Schedules: []store.Schedule{{Name: "1m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}},
		Checks: []store.Check{{Name: "strict", Plugins: []string{"disk"}, Hosts: []string{"h"}, Schedule: "1m",
			Classifiers: map[string]string{"disk": `return "major"`}}},
	})
	e.sync(t)
	e.push(t, result("h", "disk", "strict", 0, 1), result("h", "disk", "other", 0, 1))
	if got := e.series(t, eq("__name__", rules.MetricState), eq("check", "strict")); !slices.Equal(got, []float64{2}) {
		t.Errorf("check with an override: %v, want major", got)
	}
	if got := e.series(t, eq("__name__", rules.MetricState), eq("check", "other")); !slices.Equal(got, []float64{0}) {
		t.Errorf("check without one: %v, want the plugin's ok", got)
	}
}

func TestNagiosDefaultClassifier(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "check_disk", Kind: "nagios", Entrypoint: "/usr/lib/nagios/plugins/check_disk"})
	for i, code := range []int{0, 1, 2, 3} {
		r := result("h", "check_disk", "c", i, 1)
		r.ExitStatus, r.Message = code, "DISK"
		e.push(t, r)
	}
	if got := e.series(t, eq("__name__", rules.MetricState)); !slices.Equal(got, []float64{0, 2, 3, -1}) {
		t.Errorf("nagios exit 0,1,2,3 → %v, want ok, major, critical, unknown", got)
	}
}

func TestRestartKeepsHistoryAndStates(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "load", Kind: "exec", Entrypoint: "load.sh", Classifier: loadClassifier, History: 5})
	e.push(t, result("web1", "load", "res", 0, 9), result("web1", "load", "res", 1, 9))
	e.restart(t)
	// The third value above 8 in a row is critical only if the two before
	// it came back from the TSDB.
	e.push(t, result("web1", "load", "res", 2, 9))
	if got := e.takeEvents(); !slices.Equal(got, []string{"state check web1/load/res minor>critical", "state host web1 minor>critical"}) {
		t.Errorf("events after restart: %q (the minor state should be restored, the history rebuilt)", got)
	}
	e.push(t, result("web1", "load", "res", 3, 9))
	if got := e.takeEvents(); len(got) != 0 {
		t.Errorf("events for an unchanged state: %q", got)
	}
}

func TestOutOfOrderResultChangesNoState(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "p", Kind: "exec", Entrypoint: "p", Classifier: `if values[1] > 5 then return "critical" end return "ok"`})
	e.push(t, result("h", "p", "c", 5, 1))
	e.push(t, result("h", "p", "c", 4, 9)) // older, and critical
	if got := e.series(t, eq("__name__", rules.MetricState)); !slices.Equal(got, []float64{0}) {
		t.Errorf("states %v: an out-of-order result must not be judged", got)
	}
	if st := e.e.States(); st[0].State != classify.OK {
		t.Errorf("state %v, want ok", st[0].State)
	}
}

func TestOverdueChecksBecomeUnknown(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "p", Kind: "exec", Entrypoint: "p", Classifier: `return "ok"`})
	e.push(t, result("h", "p", "c", 0, 1))
	e.takeEvents()
	now := t0.Add(10 * time.Minute)
	k := stale.Key{Host: "h", Plugin: "p", Check: "c"}
	e.e.Overdue(context.Background(), []stale.Overdue{{Key: k, Last: t0, Period: time.Minute}}, now)
	e.e.Overdue(context.Background(), []stale.Overdue{{Key: k, Last: t0, Period: time.Minute}}, now.Add(10*time.Second))
	if err := e.e.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.series(t, eq("__name__", rules.MetricState)); !slices.Equal(got, []float64{0, -1, -1}) {
		t.Errorf("states %v, want ok then unknown at each tick", got)
	}
	if got, want := e.takeEvents(), []string{"state check h/p/c ok>unknown", "state host h ok>unknown"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	e.push(t, result("h", "p", "c", 11, 1))
	if got, want := e.takeEvents(), []string{"state check h/p/c unknown>ok", "state host h unknown>ok"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestHostIsWorstOfItsChecks(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "v", Kind: "exec", Entrypoint: "v",
		Classifier: `local s = {[0]="ok", [1]="minor", [2]="major", [3]="critical"} return s[values[1]] or "unknown"`})
	e.push(t, result("h", "v", "a", 0, 0), result("h", "v", "b", 0, 1))
	e.push(t, result("h", "v", "a", 1, 3))
	e.push(t, result("h", "v", "a", 2, 0))
	e.push(t, result("h", "v", "b", 3, 7)) // unknown ranks above ok only
	hs := e.e.HostStates()
	if len(hs) != 1 || hs[0].State != classify.Unknown {
		t.Fatalf("host states %+v, want unknown", hs)
	}
	if got, want := e.series(t, eq("__name__", rules.MetricHostState)), []float64{1, 3, 1, -1}; !slices.Equal(got, want) {
		t.Errorf("host state %v, want %v", got, want)
	}
}

func TestClassifierTestReplaysStoredResults(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "load", Kind: "exec", Entrypoint: "load.sh", Classifier: loadClassifier, History: 5})
	for i, v := range []float64{1, 9, 9, 9, 2} {
		r := result("web1", "load", "res", i, v)
		r.Message = fmt.Sprintf("load %g", v)
		e.push(t, r)
	}
	ctx := context.Background()

	// The configured classifier reproduces what was recorded.
	steps, err := e.e.TestClassifier(ctx, rules.ClassifierTest{Plugin: "load", Host: "web1", Check: "res", Last: 3})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		got = append(got, fmt.Sprintf("%s/%s/%s", s.Message, s.State, s.Recorded))
	}
	if want := []string{"load 9/minor/minor", "load 9/critical/critical", "load 2/ok/ok"}; !slices.Equal(got, want) {
		t.Errorf("replay of the configured classifier: %q, want %q", got, want)
	}

	// A candidate classifier over the same results, with the history
	// before the first replayed result: "critical at two in a row".
	steps, err = e.e.TestClassifier(ctx, rules.ClassifierTest{Plugin: "load", Host: "web1", Check: "res", Last: 3,
		Source: `if consecutive(values, function(v) return v > 8 end) >= 2 then return "critical" end return "ok"`})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, s := range steps {
		got = append(got, s.State.String())
	}
	if want := []string{"critical", "critical", "ok"}; !slices.Equal(got, want) {
		t.Errorf("replay of a candidate: %q, want %q", got, want)
	}

	// A given history, and the errors.
	nine := 9.0
	steps, err = e.e.TestClassifier(ctx, rules.ClassifierTest{Plugin: "load",
		History: &rules.TestHistory{Values: []*float64{&nine, &nine, &nine}}})
	if err != nil || len(steps) != 1 || steps[0].State != classify.Critical {
		t.Errorf("given history: %+v, %v; want critical", steps, err)
	}
	steps, err = e.e.TestClassifier(ctx, rules.ClassifierTest{Plugin: "load", Source: "return values[1] .. nil",
		History: &rules.TestHistory{Values: []*float64{nil}}})
	if err != nil || len(steps) != 1 || steps[0].State != classify.Unknown || !strings.Contains(steps[0].Error, "line 1") {
		t.Errorf("failing classifier: %+v, %v; want unknown with the Lua line", steps, err)
	}
	for _, tc := range []struct {
		req  rules.ClassifierTest
		want string
	}{
		{rules.ClassifierTest{Host: "web1"}, "plugin is required"},
		{rules.ClassifierTest{Plugin: "load"}, "give a history, or a host"},
		{rules.ClassifierTest{Plugin: "load", Host: "web1", Last: 5000}, "last 5000 must be between 1 and 1000"},
		{rules.ClassifierTest{Plugin: "load", Host: "nohost"}, "no stored results"},
		{rules.ClassifierTest{Plugin: "load", Host: "web1", History: &rules.TestHistory{}}, "not both"},
	} {
		if _, err := e.e.TestClassifier(ctx, tc.req); !errors.Is(err, rules.ErrBadTest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want ErrBadTest with %q", tc.req, err, tc.want)
		}
	}
	if _, err := e.e.TestClassifier(ctx, rules.ClassifierTest{Plugin: "load", Host: "web1", Source: "return ("}); !errors.Is(err, classify.ErrCompile) {
		t.Errorf("source that does not compile: %v, want ErrCompile", err)
	}
}

// TestConfigChangeAppliesToTheNextResult: a result arriving after a
// configuration change is judged by the new configuration, not the one the
// engine had a moment before (no explicit reload here).
func TestConfigChangeAppliesToTheNextResult(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := range 20 {
		p := store.Plugin{Name: "p", Kind: "exec", Entrypoint: "p", Classifier: `return "ok"`}
		want := 0.0
		if i%2 == 1 {
			p.Classifier, want = `return "critical"`, 3
		}
		var err error
		if i == 0 {
			_, err = e.st.CreatePlugin(ctx, p)
		} else {
			_, err = e.st.UpdatePlugin(ctx, "p", p)
		}
		if err != nil {
			t.Fatal(err)
		}
		e.push(t, result("h", "p", "c", i, 1))
		got := e.series(t, eq("__name__", rules.MetricState))
		if got[len(got)-1] != want {
			t.Fatalf("change %d: state %v, want %v from the classifier saved just before", i, got[len(got)-1], want)
		}
	}
}

// TestFlappingCheckIsOneEvent: a check alternating ok/critical raises a
// flapping_start event and then stays quiet, though every state is still
// written as a series.
func TestFlappingCheckIsOneEvent(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "p", Kind: "exec", Entrypoint: "p", Classifier: `if values[1] > 5 then return "critical" end return "ok"`})
	mustApply(t, e.st, store.Document{
		Hosts:     []store.Host{{Name: "h"}},
		Schedules: []store.Schedule{{Name: "1m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}},
		Checks: []store.Check{{Name: "c", Plugins: []string{"p"}, Hosts: []string{"h"}, Schedule: "1m",
			Flapping: store.Flapping{Window: 10, Start: 0.5, Stop: 0.2}}},
	})
	e.sync(t)
	for i := range 40 {
		e.push(t, result("h", "p", "c", i, float64(i%2*9)))
	}
	var kinds []string
	for _, ev := range e.takeEvents() {
		if strings.Contains(ev, " check ") {
			kinds = append(kinds, strings.Fields(ev)[0])
		}
	}
	starts := 0
	for _, k := range kinds {
		if k == "flapping_start" {
			starts++
		}
	}
	if starts != 1 || len(kinds) > 10 || kinds[len(kinds)-1] != "flapping_start" {
		t.Errorf("check events for 40 alternating results: %q, want at most the window's 9 changes, then one flapping_start and silence", kinds)
	}
	if got := e.series(t, eq("__name__", rules.MetricState)); len(got) != 40 {
		t.Errorf("%d state samples, want all 40 written while flapping", len(got))
	}
	if st := e.e.States(); !st[0].Flapping {
		t.Errorf("status %+v, want flapping", st[0])
	}
}

// TestServicesFollowTheirMembers: the website — a dependency on the
// router and a redundancy group of three web servers, k = 1 — goes
// degraded when one web server is down, failed when the router is, and
// the changes are events and series; a restart keeps it quiet.
func TestServicesFollowTheirMembers(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "ping", Kind: "exec", Entrypoint: "ping", Classifier: `if values[1] > 0 then return "critical" end return "ok"`})
	hosts := []store.Host{{Name: "router"}, {Name: "web1"}, {Name: "web2"}, {Name: "web3"}}
	mustApply(t, e.st, store.Document{
		Hosts:     hosts,
		Schedules: []store.Schedule{{Name: "1m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}},
		Checks:    []store.Check{{Name: "up", Plugins: []string{"ping"}, Hosts: []string{"router", "web1", "web2", "web3"}, Schedule: "1m"}},
	})
	e.sync(t)
	all := func(minute int, down ...string) {
		var rs []wire.Result
		for _, h := range hosts {
			rs = append(rs, result(h.Name, "ping", "up", minute, map[bool]float64{true: 1}[slices.Contains(down, h.Name)]))
		}
		e.push(t, rs...)
	}
	serviceEvents := func() []string {
		var out []string
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, ev := range e.events {
			if ev.Subject.Kind == "service" {
				out = append(out, fmt.Sprintf("%d>%d %s", ev.From, ev.To, ev.Reason))
			}
		}
		e.events = nil
		return out
	}
	all(0)
	// The service is created once its members report: it starts ok,
	// without an event.
	if _, err := e.st.CreateService(context.Background(), store.Service{Name: "website",
		Dependencies: []store.Member{{Host: "router"}},
		RedundancyGroups: []store.RedundancyGroup{{Name: "web", K: 1,
			Members: []store.Member{{Host: "web1"}, {Host: "web2"}, {Host: "web3"}}}}}); err != nil {
		t.Fatal(err)
	}
	e.sync(t)
	all(1, "web1")
	all(2, "web1", "router")
	all(3)
	// Recovery is judged host by host: if the router's recovery comes
	// first, the website is degraded (web1 still down) for a moment.
	want := []string{
		"0>1 degraded: redundancy group web has 2 of 3 up (needs 1); web1 is critical",
		"1>2 failed: dependency host router is critical",
		"2>0 ok: every member is up",
	}
	wantRouterFirst := []string{want[0], want[1],
		"2>1 degraded: redundancy group web has 2 of 3 up (needs 1); web1 is critical",
		"1>0 ok: every member is up",
	}
	if got := serviceEvents(); !slices.Equal(got, want) && !slices.Equal(got, wantRouterFirst) {
		t.Errorf("service events\n got %q\nwant %q\n  or %q", got, want, wantRouterFirst)
	}
	if got := e.series(t, eq("__name__", rules.MetricServiceState), eq("service", "website")); !slices.Contains(got, 2) || got[len(got)-1] != 0 {
		t.Errorf("prophasis_service_state = %v, want it to pass through failed (2) and end ok", got)
	}
	if st := e.e.ServiceStates(); len(st) != 1 || st[0].State != 0 {
		t.Errorf("ServiceStates() = %+v", st)
	}
	if got := e.e.Impact("web2"); !slices.Equal(got, []string{"website"}) {
		t.Errorf("Impact(web2) = %v", got)
	}

	all(4, "web2")
	e.restart(t)
	all(5, "web2")
	if got := serviceEvents(); len(got) != 0 {
		t.Errorf("service events after a restart with nothing new: %q", got)
	}
	if st := e.e.ServiceStates(); len(st) != 1 || st[0].State != 1 {
		t.Errorf("after restart: %+v, want degraded", st)
	}
}

// TestOutOfOrderResultIsUnknownInLaterHistories: a result inserted out of
// order was never classified, so later classifiers see "unknown" for it.
func TestOutOfOrderResultIsUnknownInLaterHistories(t *testing.T) {
	e := newEnv(t)
	e.plugin(t, store.Plugin{Name: "p", Kind: "exec", Entrypoint: "p", History: 3,
		Classifier: `if states[2] == "unknown" and states[3] == "critical" then return "major" end
if values[1] > 5 then return "critical" end return "ok"`})
	e.push(t, result("h", "p", "c", 0, 9)) // critical
	e.push(t, result("h", "p", "c", 2, 1)) // ok
	e.push(t, result("h", "p", "c", 1, 1)) // out of order: between them, never judged
	e.push(t, result("h", "p", "c", 3, 1)) // sees [new, minute 2 (ok), minute 1 (unknown)]...
	got := e.series(t, eq("__name__", rules.MetricState))
	if want := []float64{3, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
	steps, err := e.e.TestClassifier(context.Background(), rules.ClassifierTest{Plugin: "p", Host: "h", Check: "c", Last: 1,
		Source: `return states[3]`})
	if err != nil || len(steps) != 1 || steps[0].State.String() != "unknown" {
		t.Errorf("the out-of-order result's state in a later history: %+v, %v; want unknown", steps, err)
	}
}

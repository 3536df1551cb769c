package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/manage"
	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/rules"
	"github.com/prophasis/prophasis/server"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
	"github.com/prophasis/prophasis/wire"
)

// rulesServer is the management API with a running rules engine, over a
// real store and TSDB, behind an HTTP server.
type rulesServer struct {
	url, admin, viewer string
	now                time.Time
}

// newRulesServer configures plugin load (critical at three values above 8,
// minor above 4), stores web1's load results 1, 9, 9, 9, 2 and db1's 1 a
// minute apart within the last hour, six hours of h1's disk_used_percent
// (sda full at the end, sdb in days) and the trend rule disk-full (10m),
// and waits until the engine has judged them all.
func newRulesServer(t *testing.T) *rulesServer {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	db, err := tsdb.Open(filepath.Join(dir, "tsdb"), tsdb.Options{}, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := store.Open(ctx, filepath.Join(dir, "p.db"), logger, store.WithCodeChecker(rules.CodeChecker{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, _, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, viewer, err := st.CreateToken(ctx, store.TokenSpec{Name: "viewer", Role: store.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreatePlugin(ctx, store.Plugin{Name: "load", Kind: "exec", Entrypoint: "load.sh", History: 5, Classifier: `
if consecutive(values, function(v) return v > 8 end) >= 3 then return "critical" end
if values[1] > 4 then return "minor" end
return "ok"`}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Minute)
	app := db.Appender(ctx)
	for i := 360; i >= 0; i-- {
		ts := now.Add(-time.Duration(i) * time.Minute)
		hours := float64(360-i) / 60
		for dev, perHour := range map[string]float64{"sda": 8, "sdb": 1} {
			l := labels.FromStrings("__name__", "disk_used_percent", "host", "h1", "device", dev)
			if _, err := app.Append(0, l, ts.UnixMilli(), 50+perHour*hours); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTrendRule(ctx, store.TrendRule{Name: "disk-full", Selector: "disk_used_percent",
		Window: store.Duration(time.Hour), Interval: store.Duration(10 * time.Minute),
		Expr: `timeleft(window, 100) < duration("3h") ? "critical" : "ok"`}); err != nil {
		t.Fatal(err)
	}

	eng := rules.New(st, db, logger, rules.Options{Shards: 2})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-eng.Started():
	case err := <-done:
		t.Fatalf("engine stopped at start: %v", err)
	}
	in := ingest.New(db, st, eng, logger, ingest.Options{})
	var rs []wire.Result
	for i, v := range []float64{1, 9, 9, 9, 2} {
		for _, host := range []string{"web1", "db1"} {
			v := v
			if host == "db1" {
				v = 1
			}
			rs = append(rs, wire.Result{Host: host, Plugin: "load", Check: "res", Value: &v, Message: fmt.Sprintf("load %g", v),
				Timestamp: now.Add(-time.Hour + time.Duration(i)*time.Minute).UnixMilli(), Duration: 0.01})
		}
	}
	// Up to the third 9: web1 is critical when the states are listed.
	if _, err := in.WriteBatch(ctx, wire.Batch{Results: rs[:8]}); err != nil {
		t.Fatal(err)
	}
	if err := eng.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(eng.TrendStates()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the engine evaluated no trend rule in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	r := gin.New()
	manage.Register(r.Group("/manage/v1", auth.Middleware(st, auth.Options{})), manage.Deps{Store: st, Rules: eng})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &rulesServer{url: srv.URL, admin: admin, viewer: viewer, now: now}
}

// lines returns out's lines with runs of spaces made one, for comparing
// tables.
func lines(out string) []string {
	sp := regexp.MustCompile(` {2,}`)
	var ls []string
	for l := range strings.SplitSeq(strings.TrimRight(out, "\n"), "\n") {
		ls = append(ls, sp.ReplaceAllString(strings.TrimSpace(l), " | "))
	}
	return ls
}

func TestStatesCommand(t *testing.T) {
	s := newRulesServer(t)
	ctx := context.Background()
	t.Setenv("PROPHASIS_TOKEN", "")
	// The token comes from DATA/admin.token, as after `prophasis serve`.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, server.AdminTokenFile), []byte(s.admin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := statesCmd(ctx, []string{"--server", s.url, "--data-dir", dir}, &out); err != nil {
		t.Fatal(err)
	}
	got := lines(out.String())
	critSince := msTime(s.now.Add(-time.Hour + 3*time.Minute).UnixMilli())
	want := []string{
		"HOST | PLUGIN | CHECK | STATE | SINCE | MESSAGE",
		"db1 | load | res | ok | " + msTime(s.now.Add(-time.Hour).UnixMilli()) + " | load 1",
		"web1 | load | res | critical | " + critSince + " | load 9",
		"",
		"HOST | STATE | SINCE | REASON",
	}
	if len(got) < len(want)+2 {
		t.Fatalf("states printed:\n%s", out.String())
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("line %d\n got %q\nwant %q\nall:\n%s", i, got[i], w, out.String())
		}
	}
	if !strings.HasPrefix(got[5], "db1 | ok |") || !strings.HasPrefix(got[6], "web1 | critical | "+critSince) {
		t.Errorf("host lines %q", got[5:7])
	}
	if !strings.Contains(out.String(), "TREND RULE") ||
		!regexp.MustCompile(`disk-full +\{device="sda", host="h1"\} +critical`).MatchString(out.String()) {
		t.Errorf("no trend line for sda:\n%s", out.String())
	}

	// Filters, with the viewer's token.
	out.Reset()
	if err := statesCmd(ctx, []string{"--server", s.url, "--token", s.viewer, "--state", "major", "--host", "web1"}, &out); err != nil {
		t.Fatal(err)
	}
	got = lines(out.String())
	if len(got) != 5 || !strings.HasPrefix(got[1], "web1 | load | res | critical") || !strings.HasPrefix(got[4], "web1 | critical") {
		t.Errorf("--state major --host web1 printed:\n%s", out.String())
	}
	err := statesCmd(ctx, []string{"--server", s.url, "--token", s.viewer, "--state", "bad"}, &out)
	if err == nil || !strings.Contains(err.Error(), `state "bad" must be one of`) {
		t.Errorf("--state bad: %v", err)
	}
	err = statesCmd(ctx, []string{"--server", s.url, "--token", "pht_wrong"}, &out)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a bad token: %v", err)
	}
}

func TestClassifyTestCommand(t *testing.T) {
	s := newRulesServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := classifyCmd(ctx, append(args, "--server", s.url, "--token", s.viewer), &out)
		return out.String(), err
	}

	out, err := run("test", "--plugin", "load", "--check", "res", "--host", "web1", "--last", "3")
	if err != nil {
		t.Fatal(err)
	}
	at := func(minute int) string {
		return msTime(s.now.Add(-time.Hour + time.Duration(minute)*time.Minute).UnixMilli())
	}
	want := []string{
		"TIME | VALUE | STATE | RECORDED | MESSAGE / ERROR",
		at(1) + " | 9 | minor | minor | load 9",
		at(2) + " | 9 | minor | minor | load 9",
		at(3) + " | 9 | critical | critical | load 9",
	}
	if got := lines(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replay printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A candidate classifier from a file over a history from a file.
	lua := filepath.Join(dir, "c.lua")
	if err := os.WriteFile(lua, []byte(`if values[1] == nil then return "unknown" end
if values[1] > 5 then error("too high: " .. values[1]) end
return "ok"`), 0o644); err != nil {
		t.Fatal(err)
	}
	hist := filepath.Join(dir, "h.json")
	if err := os.WriteFile(hist, []byte(`{"values": [7, null], "messages": ["seven\nlines"], "timestamps": [1700000000000]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run("test", "--plugin", "load", "--history", hist, "-f", lua)
	if err != nil {
		t.Fatal(err)
	}
	got := lines(out)
	if len(got) != 2 || !strings.HasPrefix(got[1], "2023-11-14T22:13:20Z | 7 | unknown | - | error: ") || !strings.Contains(got[1], "too high: 7") {
		t.Errorf("history with a failing classifier printed:\n%s", out)
	}

	f := func(args []string, parts ...string) {
		t.Helper()
		_, err := run(args...)
		if err == nil {
			t.Fatalf("classify %v succeeded", args)
		}
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("classify %v: error %q does not mention %q", args, err, p)
			}
		}
	}
	f([]string{"run"}, "usage: prophasis classify test")
	f([]string{"test", "--host", "web1"}, "--plugin is required")
	f([]string{"test", "--plugin", "load"}, "give --host")
	f([]string{"test", "--plugin", "load", "--host", "web1", "--history", hist}, "give --host")
	f([]string{"test", "--plugin", "load", "--host", "nohost"}, "bad_data", `no stored results for host "nohost"`)
	f([]string{"test", "--plugin", "load", "--host", "web1", "--last", "5000"}, "last 5000 must be between 1 and 1000")
	f([]string{"test", "--plugin", "load", "--history", filepath.Join(dir, "none.json")}, "no such file")
	if err := os.WriteFile(hist, []byte(`{"valeus": [1]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f([]string{"test", "--plugin", "load", "--history", hist}, "h.json", `unknown field "valeus"`)
	if err := os.WriteFile(lua, []byte(`return (`), 0o644); err != nil {
		t.Fatal(err)
	}
	f([]string{"test", "--plugin", "load", "--host", "web1", "-f", lua}, "bad_data", "does not compile")
}

func TestTrendBacktestCommand(t *testing.T) {
	s := newRulesServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := trendCmd(ctx, append(args, "--server", s.url, "--token", s.viewer), &out)
		return out.String(), err
	}
	from := s.now.Add(-5 * time.Hour)
	out, err := run("backtest", "disk-full", "--from", from.Format(time.RFC3339), "--until", fmt.Sprint(s.now.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	got := lines(out)
	if len(got) != 4 {
		t.Fatalf("backtest printed:\n%s", out)
	}
	line := regexp.MustCompile(`^(\S+) \| (.*) \| (\S+) → (\S+) \| (.*)$`)
	var changes []string
	for _, l := range got[:3] {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not time, labels, from → to, explain", l)
		}
		at, err := time.Parse(time.RFC3339, m[1])
		if err != nil || at.Before(from) || !strings.Contains(m[5], "timeleft(100)") {
			t.Errorf("line %q: time %v (%v), explain %q", l, at, err, m[5])
		}
		changes = append(changes, m[2]+" "+m[3]+">"+m[4])
	}
	wantChanges := []string{
		`disk_used_percent{device="sda", host="h1"} (start)>ok`,
		`disk_used_percent{device="sda", host="h1"} ok>critical`,
		`disk_used_percent{device="sdb", host="h1"} (start)>ok`,
	}
	if strings.Join(changes, "\n") != strings.Join(wantChanges, "\n") {
		t.Errorf("changes\n%s\nwant\n%s", strings.Join(changes, "\n"), strings.Join(wantChanges, "\n"))
	}
	if want := fmt.Sprintf("disk-full: 3 changes from %s to %s, every 10m", from.UTC().Format(time.RFC3339), s.now.UTC().Format(time.RFC3339)); got[3] != want {
		t.Errorf("summary %q, want %q", got[3], want)
	}

	// An unsaved rule from a file, flags before the file, a duration ago
	// as --from, a step of its own: sda never gets within 1 h of full
	// before the end, so only the first states.
	rule := filepath.Join(dir, "rule.yaml")
	if err := os.WriteFile(rule, []byte("name: near-full\nselector: disk_used_percent{device=\"sda\"}\nwindow: 1h\nexpr: |\n  timeleft(window, 100) < duration(\"10m\") ? \"critical\" : \"ok\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run("backtest", "--from", "4h", "--step", "30m", "-f", rule)
	if err != nil {
		t.Fatal(err)
	}
	got = lines(out)
	if len(got) != 2 || !strings.Contains(got[0], `{device="sda", host="h1"} | (start) → ok`) ||
		!strings.HasPrefix(got[1], "near-full: 1 changes from ") || !strings.HasSuffix(got[1], "every 30m") {
		t.Errorf("backtest -f printed:\n%s", out)
	}
	// A configuration document with trend_rules: NAME picks the rule.
	doc := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(doc, []byte("trend_rules:\n  - name: a\n    selector: up\n    window: 1h\n    expr: '\"ok\"'\n  - name: b\n    selector: disk_used_percent\n    window: 1h\n    expr: '\"minor\"'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run("backtest", "-f", doc, "b", "--from", "1h")
	if err != nil {
		t.Fatal(err)
	}
	if got = lines(out); len(got) != 3 || !strings.Contains(got[0], "(start) → minor") {
		t.Errorf("backtest of a document's rule printed:\n%s", out)
	}

	f := func(args []string, parts ...string) {
		t.Helper()
		_, err := run(args...)
		if err == nil {
			t.Fatalf("trend %v succeeded", args)
		}
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("trend %v: error %q does not mention %q", args, err, p)
			}
		}
	}
	f([]string{"test"}, "usage: prophasis trend backtest")
	f([]string{"backtest"}, "give the NAME of a saved trend rule")
	f([]string{"backtest", "a", "b"}, `unexpected argument "b"`)
	f([]string{"backtest", "nope"}, "not_found", "nope")
	f([]string{"backtest", "disk-full", "--step", "1s"}, "bad_data", "at most 10000")
	f([]string{"backtest", "disk-full", "--from", "last tuesday"}, "--from", "neither RFC 3339")
	f([]string{"backtest", "-f", doc}, "has 2 trend rules (a, b): name the one to test")
	f([]string{"backtest", "-f", doc, "c"}, `has no trend rule "c"`)
	if err := os.WriteFile(rule, []byte("name: x\nselector: up\nwindow: 1h\nexpr: '\"fine\"'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f([]string{"backtest", "-f", rule}, "bad_data", "fine")
	if err := os.WriteFile(rule, []byte("name: x\nselectr: up\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f([]string{"backtest", "-f", rule}, "rule.yaml", "selectr")
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// TestClassificationEndToEnd is issue 4's "done when" on the real binary:
// results pushed → classified with their history → the state series
// queryable through PromQL → state-change events through the API; a
// classifier that does not compile is refused when saved; a failing one
// makes the state unknown and writes the Lua line to the system log; a
// trend rule predicts over stored data; a restart keeps histories and
// states, so it neither forgets nor re-announces.
func TestClassificationEndToEnd(t *testing.T) {
	s := startServer(t, "")

	// A classifier that does not compile is refused with the Lua error.
	code, body := s.do("POST", "/manage/v1/plugins", "application/json", strings.NewReader(
		`{"name":"loadavg","kind":"exec","entrypoint":"load.sh","history":5,"classifier":"if values[1] > 8 then return \"critical\"\nreturn \"ok\""}`))
	if code != 400 || !strings.Contains(string(body), "does not compile") || !strings.Contains(string(body), "line") {
		t.Fatalf("classifier that does not compile: %d %s", code, body)
	}
	s.manage("POST", "/plugins", map[string]any{"name": "loadavg", "kind": "exec", "entrypoint": "load.sh", "history": 5,
		"classifier": "if consecutive(values, function(v) return v > 8 end) >= 3 then return \"critical\" end\n" +
			"if values[1] > 4 then return \"minor\" end\nreturn \"ok\""})
	s.manage("POST", "/plugins", map[string]any{"name": "broken", "kind": "exec", "entrypoint": "b.sh",
		"classifier": "local t = {}\nreturn t.x.y"})

	now := time.Now().Truncate(time.Second)
	push := func(plugin string, minute int, v float64) {
		t.Helper()
		r := wire.Result{Host: "web1", Plugin: plugin, Check: "res", Value: val(v), Duration: 0.01,
			Timestamp: now.Add(time.Duration(minute-10) * time.Minute).UnixMilli(), Message: fmt.Sprintf("load %g", v)}
		code, body := s.do("POST", "/agent/v1/results", "application/json", resultsBody(t, r))
		if code != 200 || !strings.Contains(string(body), `"accepted":1`) {
			t.Fatalf("push: %d %s", code, body)
		}
	}
	push("loadavg", 0, 1)
	push("loadavg", 1, 9)
	push("loadavg", 2, 9)
	push("loadavg", 3, 9) // the third above 8 in a row: critical
	push("broken", 3, 1)

	waitFor(t, "web1's load check critical in PromQL", func() bool {
		_, res := s.query(`prophasis_state{host="web1",plugin="loadavg",check="res"} == 3`)
		return strings.Contains(res, `"3"`)
	})
	waitFor(t, "web1 critical as a host", func() bool {
		_, res := s.query(`prophasis_host_state{host="web1"}`)
		return strings.Contains(res, `"3"`)
	})
	waitFor(t, "the broken classifier unknown", func() bool {
		_, res := s.query(`prophasis_state{plugin="broken"} == -1`)
		return strings.Contains(res, `"-1"`)
	})

	var events []struct {
		Kind    string            `json:"kind"`
		Subject map[string]string `json:"subject"`
		From    int               `json:"from"`
		To      int               `json:"to"`
		Reason  string            `json:"reason"`
	}
	waitFor(t, "three check events for load", func() bool {
		get(t, s, "/manage/v1/events?host=web1&plugin=loadavg&subject_kind=check", &events)
		return len(events) == 3
	})
	// Newest first: minor→critical, ok→minor, unknown→ok.
	if e := events[0]; e.From != 1 || e.To != 3 || !strings.Contains(e.Reason, "classified critical, value 9") {
		t.Errorf("newest event %+v, want minor→critical with the value", e)
	}
	if e := events[2]; e.From != -1 || e.To != 0 {
		t.Errorf("first event %+v, want unknown→ok", e)
	}

	// The current states, and what the classifier would have said.
	var states struct {
		Checks []struct{ Host, Plugin, Check, State string } `json:"checks"`
		Hosts  []struct{ Host, State string }                `json:"hosts"`
	}
	get(t, s, "/manage/v1/states?host=web1&plugin=loadavg", &states)
	if len(states.Checks) != 1 || states.Checks[0].State != "critical" || len(states.Hosts) != 1 || states.Hosts[0].State != "critical" {
		t.Errorf("GET /states: %+v, want web1's load check and web1 critical", states)
	}
	code, body = s.do("POST", "/manage/v1/classifier-test", "application/json", strings.NewReader(
		`{"plugin":"loadavg","check":"res","host":"web1","last":2,"source":"if values[1] > 8 then return \"major\" end return \"ok\""}`))
	if code != 200 || strings.Count(string(body), `"state":"major"`) != 2 || !strings.Contains(string(body), `"recorded":"critical"`) {
		t.Errorf("classifier test: %d %s, want two majors beside the recorded critical", code, body)
	}

	var logs []struct {
		Host, Plugin, Check, Message, Component string
	}
	waitFor(t, "the broken classifier's error in the system log", func() bool {
		get(t, s, "/manage/v1/system-log?component=classifier", &logs)
		return len(logs) > 0
	})
	if l := logs[0]; l.Host != "web1" || l.Plugin != "broken" || !strings.Contains(l.Message, "line 2") {
		t.Errorf("system log %+v, want host, plugin and the Lua line", l)
	}

	// A trend rule over the stored values: load rising 8 points a minute
	// is critical before it reaches 100 within the hour.
	s.manage("POST", "/trend-rules", map[string]any{"name": "load-rising", "selector": `prophasis_value{plugin="loadavg"}`,
		"window": "1h", "interval": "1s", "expr": `timeleft(window, 100) < duration("1h") ? "critical" : "ok"`})
	waitFor(t, "the trend rule's state series", func() bool {
		_, res := s.query(`prophasis_trend_state{rule="load-rising",host="web1"} == 3`)
		return strings.Contains(res, `"3"`)
	})

	// Restart: the fourth value above 8 is still critical (the history came
	// back), and no event repeats.
	s.Stop()
	s = startServer(t, s.DataDir)
	push("loadavg", 4, 9)
	push("loadavg", 5, 2)
	waitFor(t, "the recovery after restart", func() bool {
		get(t, s, "/manage/v1/events?host=web1&plugin=loadavg&subject_kind=check", &events)
		return len(events) == 4
	})
	if e := events[0]; e.From != 3 || e.To != 0 {
		t.Errorf("after restart: newest event %+v, want critical→ok and nothing in between", e)
	}
}

// get reads a management API list into out, failing on any error.
func get(t *testing.T, s *serverProc, path string, out any) {
	t.Helper()
	code, body := s.do("GET", path, "", nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&env); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// waitFor polls cond until it holds or 20 s pass: the server judges
// results asynchronously, within milliseconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

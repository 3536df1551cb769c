package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	promapi "github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	"github.com/prophasis/prophasis/wire"
)

func resultsBody(t *testing.T, results ...wire.Result) *bytes.Reader {
	t.Helper()
	b, err := json.Marshal(wire.Batch{Results: results})
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func val(f float64) *float64 { return &f }

// TestServerSpine is the "done when": the real binary serves, takes
// agent results and a remote-write request, and gives them back through
// query_range with the Prometheus Go client and through promtool; bad input
// is refused and the server keeps serving; SIGTERM stops it cleanly and a
// restart keeps every acknowledged sample.
func TestServerSpine(t *testing.T) {
	s := startServer(t, "")

	// First start: the admin token file exists, owner-only, and the log names
	// the file but never the token.
	fi, err := os.Stat(filepath.Join(s.DataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v, want 0700 (it holds password and token hashes)", di.Mode().Perm())
	}
	if !strings.Contains(s.Log(), "admin.token") || strings.Contains(s.Log(), s.Token) {
		t.Fatalf("log must name the token file and never the token:\n%s", s.Log())
	}
	// And the admin's password, to log in to the web UI with.
	pw, err := os.ReadFile(filepath.Join(s.DataDir, "admin.password"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(s.DataDir, "admin.password")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.password mode %v, want 0600", fi.Mode().Perm())
	}
	password := strings.TrimSpace(string(pw))
	if len(password) < 16 || strings.Contains(s.Log(), password) {
		t.Fatalf("admin password %d characters, or in the log", len(password))
	}
	login, _ := json.Marshal(map[string]string{"user": "admin", "password": password})
	if code, body := s.do("POST", "/manage/v1/session", "application/json", bytes.NewReader(login)); code != 200 || !strings.Contains(string(body), `"role":"admin"`) {
		t.Fatalf("login with the first start's password: %d %s", code, body)
	}

	now := time.Now().Truncate(time.Second)
	var results []wire.Result
	for i := 0; i < 10; i++ {
		ts := now.Add(time.Duration(i-10) * time.Minute).UnixMilli()
		results = append(results, wire.Result{Host: "web1", Plugin: "load", Check: "resources", Timestamp: ts,
			Value: val(float64(i)), Message: fmt.Sprintf("OK - load %d", i), Duration: 0.05})
	}
	code, body := s.do("POST", "/agent/v1/results", "application/json", resultsBody(t, results...))
	if code != 200 || !strings.Contains(string(body), `"accepted":10`) {
		t.Fatalf("push results: %d %s", code, body)
	}
	// Re-sending the batch stores nothing twice.
	code, body = s.do("POST", "/agent/v1/results", "application/json", resultsBody(t, results...))
	if code != 200 || !strings.Contains(string(body), `"duplicates":10`) {
		t.Fatalf("resend results: %d %s", code, body)
	}

	// A remote-write request, as Prometheus in agent mode sends it.
	wr := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "node_load1"}, {Name: "instance", Value: "web1:9100"}},
		Samples: []prompb.Sample{{Timestamp: now.Add(-5 * time.Minute).UnixMilli(), Value: 0.25}, {Timestamp: now.Add(-4 * time.Minute).UnixMilli(), Value: 0.5}},
	}}}
	pb, err := wr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	code, body = s.do("POST", "/api/v1/write", "application/x-protobuf", bytes.NewReader(snappy.Encode(nil, pb)),
		"Content-Encoding", "snappy", "X-Prometheus-Remote-Write-Version", "0.1.0")
	if code != http.StatusNoContent {
		t.Fatalf("remote write: %d %s", code, body)
	}

	checkQueries(t, s, now)

	// Bad input: a clear 4xx, and the server keeps serving.
	for _, bad := range []struct {
		path, ct, body string
		code           int
		want           string
	}{
		{"/agent/v1/results", "application/json", `{"results":[{"host":"web 1","plugin":"p","timestamp":1}]}`, 400, "results[0]: host"},
		{"/agent/v1/results", "application/json", `{"results":`, 400, "decode JSON batch"},
		{"/agent/v1/results", "application/json", `{"results":[{"host":"h","plugin":"p","timestamp":` + fmt.Sprint(now.Add(time.Hour).UnixMilli()) + `}]}`, 400, "in the future"},
		{"/api/v1/write", "application/x-protobuf", "garbage", 400, ""},
	} {
		code, body := s.do("POST", bad.path, bad.ct, strings.NewReader(bad.body), "Content-Encoding", map[bool]string{true: "snappy"}[bad.path == "/api/v1/write"])
		if code != bad.code || !strings.Contains(string(body), bad.want) {
			t.Errorf("POST %s %q: %d %s, want %d containing %q", bad.path, bad.body, code, body, bad.code, bad.want)
		}
	}
	// No token, a wrong token: 401.
	res, err := http.Get(s.URL + "/api/v1/query?query=up")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("query without a token: %d, want 401", res.StatusCode)
	}
	tok := s.Token
	s.Token = "pht_wrong"
	if code, _ := s.do("GET", "/api/v1/query?query=up", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("query with a wrong token: %d, want 401", code)
	}
	s.Token = tok

	// Self-metrics: Prophasis's own and the TSDB's.
	code, body = s.do("GET", "/metrics", "", nil)
	if code != 200 || !strings.Contains(string(body), `prophasis_ingest_results_total{outcome="accepted"} 10`) ||
		!strings.Contains(string(body), "prometheus_tsdb_head_series") {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}

	// Clean shutdown, restart on the same data: everything is still there,
	// and no second admin token is made.
	s.Stop()
	s2 := startServer(t, s.DataDir)
	if s2.Token != s.Token {
		t.Fatalf("restart changed admin.token")
	}
	checkQueries(t, s2, now)
	code, body = s2.do("POST", "/agent/v1/results", "application/json", resultsBody(t, results...))
	if code != 200 || !strings.Contains(string(body), `"duplicates":10`) {
		t.Fatalf("resend after restart: %d %s", code, body)
	}
	s2.Stop()
}

// checkQueries reads the pushed data back with the Prometheus Go client and
// with promtool.
func checkQueries(t *testing.T, s *serverProc, now time.Time) {
	t.Helper()
	client, err := promapi.NewClient(promapi.Config{Address: s.URL, RoundTripper: bearer{s.Token}})
	if err != nil {
		t.Fatal(err)
	}
	api := v1.NewAPI(client)
	ctx := context.Background()
	r := v1.Range{Start: now.Add(-15 * time.Minute), End: now, Step: time.Minute}
	got, _, err := api.QueryRange(ctx, `prophasis_value{host="web1",plugin="load",check="resources"}`, r)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := got.(model.Matrix)
	if !ok || len(m) != 1 {
		t.Fatalf("query_range prophasis_value = %v, want one series", got)
	}
	// Samples every minute from -10m to -1m with values 0..9; the range
	// steps every minute, so step -10m+k sees value k.
	byTime := map[int64]float64{}
	for _, p := range m[0].Values {
		byTime[p.Timestamp.Unix()] = float64(p.Value)
	}
	for i := 0; i < 10; i++ {
		at := now.Add(time.Duration(i-10) * time.Minute).Unix()
		if v, ok := byTime[at]; !ok || v != float64(i) {
			t.Fatalf("query_range at -%dm = %v (present %v), want %d; all: %v", 10-i, v, ok, i, m[0].Values)
		}
	}
	got, _, err = api.QueryRange(ctx, `node_load1`, r)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := got.(model.Matrix); !ok || len(m) != 1 || m[0].Metric["instance"] != "web1:9100" {
		t.Fatalf("query_range node_load1 = %v", got)
	}

	// promtool, as an operator would run it; Debian's promtool 2.42 has no
	// HTTP config flag, so the token goes as the basic-auth password.
	withToken := strings.Replace(s.URL, "http://", "http://prophasis:"+s.Token+"@", 1)
	out, err := exec.Command("promtool", "query", "instant", withToken, `max(prophasis_value{host="web1"})`).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool query instant: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "=> 9 @[") {
		t.Fatalf("promtool output %q, want the max value 9", out)
	}
}

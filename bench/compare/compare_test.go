package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTeeSummary(t *testing.T) {
	in := "loadgen: 100 agents\nt=5s results/s=1\nloadgen_summary mode=agent results=10 results_per_second=123.5 errors=0\n"
	var out bytes.Buffer
	got := teeSummary(strings.NewReader(in), &out)
	if got["results_per_second"] != "123.5" || got["mode"] != "agent" || got["errors"] != "0" {
		t.Fatalf("summary %v", got)
	}
	if !strings.Contains(out.String(), "  | t=5s results/s=1\n") {
		t.Fatalf("output not copied: %q", out.String())
	}
	if teeSummary(strings.NewReader("no summary\n"), &out) != nil {
		t.Fatal("a summary from nothing")
	}
}

func TestProcfs(t *testing.T) {
	m, err := readMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.Peak < m.Now || m.Now < 1<<20 {
		t.Fatalf("memory %+v", m)
	}
	// Burn some CPU so the reading moves.
	c0, err := readCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0.0
	for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); {
		for i := range 10000 {
			x += math.Sqrt(float64(i))
		}
	}
	c1, _ := readCPU(os.Getpid())
	if c1 <= c0 {
		t.Fatalf("CPU did not advance: %s then %s (%v)", c0, c1, x)
	}
	if _, err := readMemory(-1); err == nil {
		t.Fatal("no error for a missing process")
	}
}

func TestFormatting(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	f(shortCount(100_000), "100k")
	f(shortCount(1_000_000), "1M")
	f(shortCount(12_345), "12345")
	f(num(1234567.4), "1,234,567")
	f(num(-1234), "-1,234")
	f(num(123.4), "123")
	f(num(12.34), "12.3")
	f(num(1.234), "1.23")
	f(num(math.NaN()), "-")
	f(plain(42), "42")
	f(plain(0.5), "0.500")
}

func TestParseFlags(t *testing.T) {
	f := func(parts, order, rss, wantErr string) {
		t.Helper()
		cfg := &config{rwSeries: 1, rwPerRequest: 1, rwConcurrency: 1, rwRepeats: 1,
			rwInterval: 15 * time.Second, rwSpan: time.Hour, queryRange: time.Hour, queryStep: time.Second,
			queryRuns: 1, rawQueryRuns: 1, rssRounds: 1}
		err := cfg.parse(parts, order, rss)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("parse(%q, %q, %q): %v", parts, order, rss, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("parse(%q, %q, %q) = %v, want %q", parts, order, rss, err, wantErr)
		}
	}
	f("rw,query,agent,rss", "prometheus,prophasis", "100000,1000000", "")
	f("rw", "prophasis,prometheus", "", "")
	f("rw,cpu", "prometheus,prophasis", "", `unknown part "cpu"`)
	f("rw", "prophasis", "", "--order")
	f("rw", "prophasis,prophasis", "", "--order")
	f("rss", "prometheus,prophasis", "100k", "--rss-series")
}

func TestResultsTable(t *testing.T) {
	var rs results
	rs.add(row{key: "rw_samples_per_second", label: "remote-write samples/s", prophasis: 300, prometheus: 100, goal: ratioAtLeast(1.5)})
	rs.add(row{key: "query_raw_p50_ms", label: "query raw", prophasis: 20, prometheus: 10, goal: ratioAtMost(1.0)})
	rs.add(row{key: "agent_results_per_second", label: "agent results/s", prophasis: 1000, prometheus: math.NaN(), goal: atLeast(200_000, ">= 200,000")})
	rs.note("a %s", "note")
	rs.kv("bench_seconds", "%d", 3)
	var out bytes.Buffer
	rs.print(&out)
	s := out.String()
	for _, want := range []string{
		"rw_samples_per_second_ratio=3.000\n", "rw_samples_per_second_goal_met=true\n",
		"query_raw_p50_ms_goal_met=false\n", "agent_results_per_second_prophasis=1000\n",
		"note: a note\n", "bench_seconds=3\n", "MISSED",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "agent_results_per_second_prometheus") {
		t.Errorf("an absent figure printed:\n%s", s)
	}
	if got := rs.missed(); len(got) != 2 || got[0] != "query raw" || got[1] != "agent results/s" {
		t.Errorf("missed %v", got)
	}
}

// fakeQueryServer answers query_range with a matrix of n series of points
// points each.
func fakeQueryServer(t *testing.T, n, points int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query_range" || r.URL.Query().Get("query") == "" || r.URL.Query().Get("step") != "15" {
			http.Error(w, `{"status":"error","errorType":"bad_data","error":"bad request"}`, http.StatusBadRequest)
			return
		}
		var b strings.Builder
		b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"metric":{"job":"j%d"},"values":[`, i)
			for j := range points {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `[%d,"1"]`, 1000+j*15)
			}
			b.WriteString("]}")
		}
		b.WriteString("]}}")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(b.String()))
	}))
}

func TestTimeQueries(t *testing.T) {
	a, b, c := fakeQueryServer(t, 10, 241), fakeQueryServer(t, 10, 241), fakeQueryServer(t, 9, 241)
	defer a.Close()
	defer b.Close()
	defer c.Close()
	end := time.Unix(1000+240*15, 0)
	q := rangeQuery{name: "sum_rate", expr: "sum by (job) (rate(x[5m]))", start: end.Add(-time.Hour), end: end, step: 15 * time.Second}
	servers := []*server{{name: "prometheus", url: a.URL}, {name: "prophasis", url: b.URL, token: "t"}}
	stats, errs := timeQueries(context.Background(), http.DefaultClient, servers, q, 1, 3)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, name := range []string{"prometheus", "prophasis"} {
		st := stats[name]
		if st.series != 10 || st.points != 2410 || st.p50 <= 0 || st.mean <= 0 {
			t.Fatalf("%s: %+v", name, st)
		}
	}
	servers[1].url = c.URL
	if _, errs := timeQueries(context.Background(), http.DefaultClient, servers, q, 0, 1); len(errs) != 1 || !strings.Contains(errs[0].Error(), "disagree") {
		t.Fatalf("errors %v, want the servers to disagree", errs)
	}
	q.step = time.Second
	stats, errs = timeQueries(context.Background(), http.DefaultClient, servers, q, 0, 1)
	if len(errs) != 2 || len(stats) != 0 || !strings.Contains(errs[0].Error(), "400") {
		t.Fatalf("stats %v, errors %v", stats, errs)
	}
}

func TestQueryViaProxy(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("X-Forwarded-For"))
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
	}))
	defer srv.Close()
	s := &server{name: "prophasis", url: srv.URL}
	for _, via := range []bool{false, true} {
		q := rangeQuery{name: "raw", expr: "x", end: time.Now(), step: time.Second, viaProxy: via}
		if _, _, _, _, _, err := doQuery(context.Background(), http.DefaultClient, s, q); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0] != "" || got[1] == "" {
		t.Fatalf("X-Forwarded-For sent: %q", got)
	}
}

func TestMedianMean(t *testing.T) {
	p50, mean := medianMean([]time.Duration{4, 1, 3, 2})
	if p50 != 2 || mean != 2 { // (2+3)/2 = 2 in integer nanoseconds
		t.Fatalf("p50 %d mean %d", p50, mean)
	}
	p50, mean = medianMean([]time.Duration{5, 1, 9})
	if p50 != 5 || mean != 5 {
		t.Fatalf("p50 %d mean %d", p50, mean)
	}
}

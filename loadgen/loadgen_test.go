package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// agentServer is a fake /agent/v1/results that checks everything it is sent
// and acknowledges like the real server.
type agentServer struct {
	t     *testing.T
	mu    sync.Mutex
	last  map[string]int64
	count int64
	minTs int64
	fail  bool // answer 503
}

func (s *agentServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/agent/v1/results" || r.Method != http.MethodPost {
		http.Error(w, "wrong endpoint "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer secret" {
		http.Error(w, "bad token "+got, http.StatusUnauthorized)
		return
	}
	if s.fail {
		http.Error(w, `{"status":"error","errorType":"unavailable","error":"down"}`, http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away (an interrupted run)
	}
	b, err := decodeBatch(body, r.Header.Get("Content-Encoding") == "gzip")
	if err == nil {
		s.mu.Lock()
		err = checkResults(b.Results, s.last)
		s.count += int64(len(b.Results))
		for _, r := range b.Results {
			if s.minTs == 0 || r.Timestamp < s.minTs {
				s.minTs = r.Timestamp
			}
		}
		s.mu.Unlock()
	}
	if err != nil {
		s.t.Error(err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := map[string]any{"status": "success", "data": wire.BatchResponse{Accepted: len(b.Results)}}
	_ = json.NewEncoder(w).Encode(resp)
}

func testOptions(url string) Options {
	o := Defaults()
	o.Server = url
	o.Token = "secret"
	o.ReportEvery = 0
	return o
}

func TestRunAgentMode(t *testing.T) {
	for _, gz := range []bool{false, true} {
		fake := &agentServer{t: t, last: map[string]int64{}}
		srv := httptest.NewServer(fake)
		o := testOptions(srv.URL)
		o.Agents, o.Plugins, o.Metrics, o.Batch, o.Gzip = 30, 20, 1, 250, gz
		o.Count = 30 * 20 * 7 // seven rounds
		o.Duration = time.Minute
		var progress bytes.Buffer
		o.Progress, o.ReportEvery = &progress, time.Millisecond
		r, err := Run(context.Background(), o)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r.Errors != 0 || r.FirstError != "" {
			t.Fatalf("errors: %d, %s", r.Errors, r.FirstError)
		}
		if r.Accepted != o.Count || fake.count != o.Count {
			t.Fatalf("accepted %d, server counted %d, want %d", r.Accepted, fake.count, o.Count)
		}
		if math.Abs(r.SamplesPerSecond()-r.PerSecond()*3) > 1e-6*r.SamplesPerSecond() {
			t.Fatalf("samples/s %v for results/s %v with 1 metric", r.SamplesPerSecond(), r.PerSecond())
		}
		if !r.CPUKnown || r.P50 <= 0 || r.P99 < r.P50 {
			t.Fatalf("report %+v", r)
		}
		sum := r.Summary()
		for _, want := range []string{"mode=agent", "results=4200 ", "results_per_second=", "errors=0", "loadgen_cpu_percent_of_core="} {
			if !strings.Contains(sum, want) {
				t.Errorf("summary %q lacks %q", sum, want)
			}
		}
	}
}

func TestRunBackfills(t *testing.T) {
	fake := &agentServer{t: t, last: map[string]int64{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	o := testOptions(srv.URL)
	o.Agents, o.Plugins, o.Count = 10, 10, 100*90 // 60 history rounds, then 30 live
	o.Backfill, o.Interval = time.Hour, time.Minute
	o.HostPrefix = "web"
	before := time.Now()
	r, err := Run(context.Background(), o)
	if err != nil || r.Accepted != o.Count {
		t.Fatalf("accepted %d, err %v", r.Accepted, err)
	}
	if first := time.UnixMilli(fake.minTs); first.After(before.Add(-59*time.Minute)) || first.Before(before.Add(-61*time.Minute)) {
		t.Fatalf("history starts at %s, want about an hour before %s", first, before)
	}
	for id := range fake.last {
		if !strings.HasPrefix(id, "web") {
			t.Fatalf("host %s ignores the prefix", id)
		}
	}
}

func TestRunStopsAfterDuration(t *testing.T) {
	fake := &agentServer{t: t, last: map[string]int64{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	o := testOptions(srv.URL)
	o.Duration = 300 * time.Millisecond
	start := time.Now()
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a 300ms run took %s", took)
	}
	if r.Accepted == 0 || r.Accepted != fake.count {
		t.Fatalf("accepted %d, server counted %d", r.Accepted, fake.count)
	}
}

func TestRunCountsFailures(t *testing.T) {
	fake := &agentServer{t: t, last: map[string]int64{}, fail: true}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	o := testOptions(srv.URL)
	o.Count, o.Batch, o.Concurrency = 2000, 500, 2
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 4 || r.Accepted != 0 || !strings.Contains(r.FirstError, "503") {
		t.Fatalf("errors %d, accepted %d, first error %q", r.Errors, r.Accepted, r.FirstError)
	}
	if !strings.Contains(r.Summary(), "errors=4") {
		t.Fatalf("summary %q", r.Summary())
	}
}

func TestRunInterrupted(t *testing.T) {
	fake := &agentServer{t: t, last: map[string]int64{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	o := testOptions(srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r, err := Run(ctx, o)
	if err == nil {
		t.Fatal("an interrupted run must say so")
	}
	if r.Errors != 0 {
		t.Fatalf("cancelled requests counted as %d errors: %s", r.Errors, r.FirstError)
	}
}

// rwServer is a fake remote-write receiver.
type rwServer struct {
	t       *testing.T
	mu      sync.Mutex
	last    map[string]int64
	samples int64
}

func (s *rwServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	want := map[string]string{
		"Content-Type":                      "application/x-protobuf",
		"Content-Encoding":                  "snappy",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
		"Authorization":                     "Bearer secret",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			http.Error(w, k+": "+got, http.StatusBadRequest)
			return
		}
	}
	if r.URL.Path != "/api/v1/write" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away (an interrupted run)
	}
	wr, err := decodeWrite(body)
	if err == nil {
		s.mu.Lock()
		err = checkSeries(wr, s.last)
		s.samples += int64(len(wr.Timeseries))
		s.mu.Unlock()
	}
	if err != nil {
		s.t.Error(err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestRunRemoteWriteMode(t *testing.T) {
	fake := &rwServer{t: t, last: map[string]int64{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	o := testOptions(srv.URL + "/")
	o.Mode = ModeRemoteWrite
	o.Series, o.SeriesPerRequest, o.Count = 5000, 1000, 25_000
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 || r.Accepted != 25_000 || fake.samples != 25_000 || len(fake.last) != 5000 {
		t.Fatalf("errors %d (%s), accepted %d, received %d over %d series", r.Errors, r.FirstError, r.Accepted, fake.samples, len(fake.last))
	}
	if s := r.Summary(); !strings.Contains(s, "mode=remote-write") || !strings.Contains(s, "samples_per_second=") || strings.Contains(s, "results_per_second") {
		t.Fatalf("summary %q", s)
	}
}

func TestSendRemoteWrite(t *testing.T) {
	p, err := BuildRemoteWrite(RemoteWriteData{
		Series: 2000, SeriesPerRequest: 500, Lanes: 2, Start: time.Now().Add(-time.Hour), Interval: 15 * time.Second, Rounds: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two servers get the same bytes.
	for range 2 {
		fake := &rwServer{t: t, last: map[string]int64{}}
		srv := httptest.NewServer(fake)
		r, err := SendRemoteWrite(context.Background(), testOptions(srv.URL), p)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r.Accepted != 20_000 || fake.samples != 20_000 || r.Workers != 2 || r.Errors != 0 {
			t.Fatalf("report %+v, server got %d", r, fake.samples)
		}
	}
}

func TestValidate(t *testing.T) {
	f := func(mod func(*Options), wantErr string) {
		t.Helper()
		o := Defaults()
		mod(&o)
		err := o.Validate()
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("unexpected error %v", err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("error %v, want one containing %q", err, wantErr)
		}
	}
	f(func(*Options) {}, "")
	f(func(o *Options) { o.Server = "localhost:4048" }, "want an http")
	f(func(o *Options) { o.Mode = "udp" }, `mode "udp"`)
	f(func(o *Options) { o.Agents = 0 }, "agents, plugins and batch must be positive")
	f(func(o *Options) { o.Mode, o.Series = ModeRemoteWrite, 0 }, "series and series per request")
	f(func(o *Options) { o.Mode, o.Agents = ModeRemoteWrite, 0 }, "")
	f(func(o *Options) { o.Concurrency = 0 }, "concurrency")
	f(func(o *Options) { o.Duration, o.Count = 0, 0 }, "set a duration or a count")
	f(func(o *Options) { o.Interval = 0 }, "interval")
	f(func(o *Options) { o.HostPrefix = "-web" }, "host prefix")
	f(func(o *Options) { o.HostPrefix = "web-eu.1" }, "")
}

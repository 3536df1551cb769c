package ingest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

const (
	ctV1 = "application/x-protobuf"
	ctV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
)

func v1Request(series ...prompb.TimeSeries) []byte {
	req := prompb.WriteRequest{Timeseries: series}
	b, err := req.Marshal()
	if err != nil {
		panic(err)
	}
	return snappy.Encode(nil, b)
}

func series(name string, extra []prompb.Label, samples ...prompb.Sample) prompb.TimeSeries {
	ls := append([]prompb.Label{{Name: "__name__", Value: name}}, extra...)
	return prompb.TimeSeries{Labels: ls, Samples: samples}
}

func post(t *testing.T, h http.Handler, contentType string, body []byte) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", "snappy")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestRemoteWriteV1(t *testing.T) {
	e := newEnv(t)
	h := e.in.RemoteWriteHandler()
	ts := ms(-time.Minute)
	body := v1Request(
		series("node_load1", []prompb.Label{{Name: "instance", Value: "a:9100"}, {Name: "job", Value: "node"}},
			prompb.Sample{Timestamp: ts, Value: 1.5}, prompb.Sample{Timestamp: ts + 15000, Value: 2}),
		// Unsorted labels are sorted, not stored as a broken series.
		series("up", []prompb.Label{{Name: "job", Value: "node"}, {Name: "instance", Value: "a:9100"}},
			prompb.Sample{Timestamp: ts, Value: 1}),
	)
	res, msg := post(t, h, ctV1, body)
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d: %s", res.StatusCode, msg)
	}
	got := e.samples(t, eq("job", "node"))
	if v := got[`{__name__="node_load1", instance="a:9100", job="node"}`]; len(v) != 2 || v[1] != 2 {
		t.Fatalf("samples = %v", got)
	}
	if v := got[`{__name__="up", instance="a:9100", job="node"}`]; len(v) != 1 {
		t.Fatalf("samples = %v", got)
	}
	// A retry of the same request is harmless.
	if res, msg := post(t, h, ctV1, body); res.StatusCode != http.StatusNoContent {
		t.Fatalf("retry: status %d: %s", res.StatusCode, msg)
	}
	if v := e.samples(t, eq("__name__", "node_load1")); len(v[`{__name__="node_load1", instance="a:9100", job="node"}`]) != 2 {
		t.Fatalf("after retry: %v", v)
	}
}

func TestRemoteWriteV2(t *testing.T) {
	e := newEnv(t)
	h := e.in.RemoteWriteHandler()
	req := writev2.Request{
		Symbols: []string{"", "__name__", "http_requests_total", "job", "api"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2, 3, 4},
			Samples:    []writev2.Sample{{Value: 42, Timestamp: ms(-time.Minute)}},
		}},
	}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	res, msg := post(t, h, ctV2, snappy.Encode(nil, b))
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d: %s", res.StatusCode, msg)
	}
	if got := res.Header.Get("X-Prometheus-Remote-Write-Samples-Written"); got != "1" {
		t.Fatalf("samples-written header = %q, want 1", got)
	}
	if v := e.samples(t, eq("__name__", "http_requests_total")); len(v) != 1 {
		t.Fatalf("samples = %v", v)
	}
}

func TestRemoteWriteRefusesBadInputAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	h := e.in.RemoteWriteHandler()
	ok := series("good", nil, prompb.Sample{Timestamp: ms(-time.Minute), Value: 1})
	f := func(contentType string, body []byte, wantStatus int, wantMsg string) {
		t.Helper()
		res, msg := post(t, h, contentType, body)
		if res.StatusCode != wantStatus || !strings.Contains(msg, wantMsg) {
			t.Fatalf("status %d %q, want %d containing %q", res.StatusCode, msg, wantStatus, wantMsg)
		}
		if got := e.samples(t, eq("__name__", "good")); len(got) != 0 {
			t.Fatalf("a refused request wrote %v", got)
		}
	}
	f(ctV1, []byte("not snappy"), 400, "")
	f(ctV1, snappy.Encode(nil, []byte("\xff\xff\xff not protobuf")), 400, "decode remote write 1.0 protobuf")
	f(ctV2, snappy.Encode(nil, []byte("\xff\xff\xff")), 400, "decode remote write 2.0 protobuf")
	f("text/plain", v1Request(ok), 415, "")
	f(ctV1, v1Request(ok, series("", []prompb.Label{{Name: "job", Value: "x"}}, prompb.Sample{Timestamp: 1, Value: 1})), 400, "timeseries[1]: series has no metric name")
	f(ctV1, v1Request(ok, prompb.TimeSeries{Samples: []prompb.Sample{{Timestamp: 1}}}), 400, "series has no labels")
	f(ctV1, v1Request(ok, series("x", []prompb.Label{{Name: "", Value: "v"}}, prompb.Sample{Timestamp: ms(0)})), 400, `label name "" is not valid`)
	f(ctV1, v1Request(ok, series("x", []prompb.Label{{Name: "a\xff", Value: "v"}}, prompb.Sample{Timestamp: ms(0)})), 400, "is not valid")
	f(ctV1, v1Request(ok, series("x", []prompb.Label{{Name: "a", Value: "v\xff"}}, prompb.Sample{Timestamp: ms(0)})), 400, "not valid UTF-8")
	f(ctV1, v1Request(ok, series("x", []prompb.Label{{Name: "a", Value: "1"}, {Name: "a", Value: "2"}}, prompb.Sample{Timestamp: ms(0)})), 400, `label name "a" appears twice`)
	f(ctV1, v1Request(ok, series("x", nil, prompb.Sample{Timestamp: ms(time.Hour)})), 400, "too far in the future")
	f(ctV1, v1Request(ok, series("x", nil, prompb.Sample{Timestamp: ms(-30 * 24 * time.Hour)})), 400, "too old sample")
	v2 := writev2.Request{Symbols: []string{"", "__name__", "x"}, Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 9}}}}
	b, _ := v2.Marshal()
	f(ctV2, snappy.Encode(nil, b), 400, "outside the symbol table")
}

func TestRemoteWriteIsPostOnly(t *testing.T) {
	e := newEnv(t)
	// vmagent probes GET ?get_vm_proto_version=1 and switches to its own
	// protocol if the answer is "1": we must not claim it.
	req := httptest.NewRequest(http.MethodGet, "/api/v1/write?get_vm_proto_version=1", nil)
	rec := httptest.NewRecorder()
	e.in.RemoteWriteHandler().ServeHTTP(rec, req)
	if rec.Code == http.StatusOK || strings.TrimSpace(rec.Body.String()) == "1" {
		t.Fatalf("GET probe answered %d %q", rec.Code, rec.Body.String())
	}
}

func FuzzRemoteWriteV1(f *testing.F) {
	good, _ := (&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{series("x", nil, prompb.Sample{Timestamp: 1, Value: 1})}}).Marshal()
	f.Add(good, false)
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00}, true)
	e := newEnv(f)
	h := e.in.RemoteWriteHandler()
	f.Fuzz(func(t *testing.T, data []byte, v2 bool) {
		ct := ctV1
		if v2 {
			ct = ctV2
		}
		res, msg := post(t, h, ct, snappy.Encode(nil, data))
		if res.StatusCode != http.StatusNoContent && res.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d %q: want 204 or 400", res.StatusCode, msg)
		}
	})
}

// BenchmarkRemoteWrite measures the receiver in-process: requests of 2000
// samples over 10k series (every series gets a sample every 15 s, as from a
// Prometheus scraping them), snappy and protobuf included. The bodies are
// built before the timer starts.
func BenchmarkRemoteWrite(b *testing.B) {
	e := newEnv(b)
	h := e.in.RemoteWriteHandler()
	const series, perReq = 10_000, 2000
	start := ms(-time.Hour)
	bodies := make([][]byte, b.N)
	for r := range bodies {
		ts := make([]prompb.TimeSeries, 0, perReq)
		for i := 0; i < perReq; i++ {
			n := r*perReq + i
			ts = append(ts, series_(n%series, start+int64(n/series)*15_000))
		}
		bodies[r] = v1Request(ts...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, body := range bodies {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctV1)
		req.Header.Set("Content-Encoding", "snappy")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N*perReq)/b.Elapsed().Seconds(), "samples/s")
}

func series_(i int, ts int64) prompb.TimeSeries {
	return prompb.TimeSeries{
		Labels: []prompb.Label{
			{Name: "__name__", Value: fmt.Sprintf("metric_%d", i%100)},
			{Name: "instance", Value: fmt.Sprintf("host%d:9100", i/100)},
			{Name: "job", Value: "node"},
		},
		Samples: []prompb.Sample{{Timestamp: ts, Value: float64(i)}},
	}
}

package promapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/prophasis/prophasis/tsdb"
)

// The benchmarks of the goal: query_range over one hour of 10,000
// series. Run with
//
//	go test -run '^$' -bench 'QueryRange|EncodeMatrix' -benchmem ./api/promapi/

const (
	benchSeries   = 10_000
	benchInterval = 15 * time.Second
)

// benchValue is a monitoring-like value: two decimals, 0 to 100.
func benchValue(r *rand.Rand) float64 { return math.Round(r.Float64()*10000) / 100 }

// fillBench writes benchSeries series (1,000 hosts x 10 plugins) with one
// sample every 15 s for an hour from start.
func fillBench(b *testing.B, db *tsdb.DB, start time.Time) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	sets := make([]labels.Labels, benchSeries)
	for i := range sets {
		sets[i] = labels.FromStrings("__name__", "prophasis_value",
			"host", fmt.Sprintf("host-%04d.example.org", i/10), "plugin", fmt.Sprintf("plugin%d", i%10), "check", "resources")
	}
	for ts := start; !ts.After(start.Add(time.Hour)); ts = ts.Add(benchInterval) {
		app := db.Appender(context.Background())
		for _, ls := range sets {
			if _, err := app.Append(0, ls, ts.UnixMilli(), benchValue(r)); err != nil {
				b.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// discard is a ResponseWriter that counts and drops the body.
type discard struct {
	h    http.Header
	code int
	n    int64
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(code int)        { d.code = code }
func (d *discard) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }

func BenchmarkQueryRange(b *testing.B) {
	db := openDB(b)
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	fillBench(b, db, start)
	h := newRouter(b, db, nil)

	for _, tc := range []struct {
		name, query, step, encoding string
	}{
		{"raw/step=15s", "prophasis_value", "15", ""},
		{"raw/step=60s", "prophasis_value", "60", ""},
		{"raw/step=60s/gzip", "prophasis_value", "60", "gzip"},
		{"rate/step=60s", "rate(prophasis_value[5m])", "60", ""},
		{"sum_rate/step=15s", "sum by (plugin) (rate(prophasis_value[5m]))", "15", ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			params := url.Values{
				"query": {tc.query},
				"start": {strconv.FormatInt(start.Unix(), 10)},
				"end":   {strconv.FormatInt(start.Add(time.Hour).Unix(), 10)},
				"step":  {tc.step},
			}
			target := "/api/v1/query_range?" + params.Encode()
			var bytes int64
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, target, nil)
				req.Header.Set("Authorization", "Bearer "+viewerToken)
				if tc.encoding != "" {
					req.Header.Set("Accept-Encoding", tc.encoding)
				}
				w := &discard{h: http.Header{}}
				h.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
				bytes = w.n
			}
			b.ReportMetric(float64(bytes), "resp-bytes")
		})
	}
}

// benchMatrix is 10,000 series of an hour at 15 s, as the engine returns them.
func benchMatrix() promql.Matrix {
	r := rand.New(rand.NewPCG(2, 2))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	m := make(promql.Matrix, benchSeries)
	for i := range m {
		m[i].Metric = labels.FromStrings("__name__", "prophasis_value",
			"host", fmt.Sprintf("host-%04d.example.org", i/10), "plugin", fmt.Sprintf("plugin%d", i%10), "check", "resources")
		for t := int64(0); t <= 3600_000; t += benchInterval.Milliseconds() {
			m[i].Floats = append(m[i].Floats, promql.FPoint{T: start + t, F: benchValue(r)})
		}
	}
	return m
}

// BenchmarkEncodeMatrix encodes the matrix of the range query above, with
// this package's encoder and, for comparison, with Prometheus's jsoniter
// encoders (the reference of encode_test.go).
func BenchmarkEncodeMatrix(b *testing.B) {
	m := benchMatrix()
	var out bytes.Buffer
	s := &stream{w: &out}
	appendValue(s, m, nil)
	s.flush()
	size := int64(out.Len())

	start := m[0].Floats[0].T
	for _, tc := range []struct {
		name  string
		table bool
	}{{"promapi", true}, {"promapi-no-step-table", false}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			for b.Loop() {
				var tt *tsTable
				if tc.table {
					tt = newTSTable(start, start+3600_000, benchInterval.Milliseconds())
				}
				bp := bufPool.Get().(*[]byte)
				s := &stream{w: io.Discard, b: (*bp)[:0]}
				appendValue(s, m, tt)
				s.flush()
				*bp = s.b[:0]
				bufPool.Put(bp)
			}
		})
	}
	b.Run("prometheus-jsoniter", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			if out := refEncode(m); len(out) == 0 {
				b.Fatal("empty")
			}
		}
	})
}

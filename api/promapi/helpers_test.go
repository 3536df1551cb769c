package promapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	promclient "github.com/prometheus/client_golang/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
)

// Tokens the fake authenticator knows.
const (
	viewerToken = "viewer-secret"
	agentToken  = "agent-secret"
)

type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, secret string) (store.Principal, error) {
	switch secret {
	case viewerToken:
		return store.Principal{Kind: "token", Name: "grafana", Role: store.RoleViewer}, nil
	case agentToken:
		return store.Principal{Kind: "token", Name: "web1", Role: store.RoleAgent}, nil
	}
	return store.Principal{}, store.ErrUnauthenticated
}

var testBuild = BuildInfo{
	Version:   "0.1.0",
	Revision:  "abc123",
	Branch:    "main",
	BuildUser: "ci@prophasis",
	BuildDate: "20260101-00:00:00",
	GoVersion: "go1.26",
}

// base is the timestamp of the first test sample: a whole hour, in the
// past, so every test sample is older than "now".
var base = time.Now().Add(-2 * time.Hour).Truncate(time.Hour)

func ms(t time.Time) int64 { return t.UnixMilli() }

// openDB opens a real TSDB in a temporary directory.
func openDB(t testing.TB) *tsdb.DB {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("open tsdb: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close tsdb: %v", err)
		}
	})
	return db
}

// fillDB writes the test data set:
//
//   - prophasis_value{host=web1|web2|db1, plugin=cpu, check=res}: one sample
//     every 15 s for an hour from base; value i*k for host k (1, 2, 3) at
//     sample i;
//   - prophasis_state{host=web1, plugin=cpu, check=res}: 0, then 2 from 30 m on;
//   - prophasis_rpc_duration_seconds{host=web1}: a native histogram every minute;
//   - an exemplar on web1's value at base+1m.
func fillDB(t testing.TB, db *tsdb.DB) {
	t.Helper()
	app := db.Appender(context.Background())
	hosts := []string{"web1", "web2", "db1"}
	for k, h := range hosts {
		ls := labels.FromStrings("__name__", "prophasis_value", "host", h, "plugin", "cpu", "check", "res")
		for i := range 241 {
			if _, err := app.Append(0, ls, ms(base)+int64(i)*15000, float64(i*(k+1))); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
	}
	state := labels.FromStrings("__name__", "prophasis_state", "host", "web1", "plugin", "cpu", "check", "res")
	for i := range 61 {
		v := 0.0
		if i >= 30 {
			v = 2
		}
		if _, err := app.Append(0, state, ms(base)+int64(i)*60000, v); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	hl := labels.FromStrings("__name__", "prophasis_rpc_duration_seconds", "host", "web1")
	for i := range 61 {
		if _, err := app.AppendHistogram(0, hl, ms(base)+int64(i)*60000, testHistogram(i), nil); err != nil {
			t.Fatalf("append histogram: %v", err)
		}
	}
	web1 := labels.FromStrings("__name__", "prophasis_value", "host", "web1", "plugin", "cpu", "check", "res")
	ex := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), Value: 4, Ts: ms(base) + 60000, HasTs: true}
	if _, err := app.AppendExemplar(0, web1, ex); err != nil {
		t.Fatalf("append exemplar: %v", err)
	}
	if err := app.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// testHistogram is a small exponential histogram whose count grows with i:
// count 4i, sum 10i, buckets (0.5,1] and (1,2] each i, zero bucket 2i.
func testHistogram(i int) *histogram.Histogram {
	n := uint64(i)
	return &histogram.Histogram{
		Schema:          0,
		Count:           4 * n,
		Sum:             10 * float64(i),
		ZeroThreshold:   0.001,
		ZeroCount:       2 * n,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{int64(i), 0}, // deltas: i, i
	}
}

// newRouter mounts the API on /api/v1 behind the real auth middleware, as the
// server does.
func newRouter(t testing.TB, db *tsdb.DB, mod func(*Deps)) *gin.Engine {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	g := r.Group("/api/v1", auth.Middleware(fakeAuth{}, auth.Options{}))
	d := Deps{
		Queryable: db,
		Engine:    db.Engine(),
		Parser:    db.Parser(),
		Exemplars: db.ExemplarQuerier,
		Head:      db.Head,
		Build:     testBuild,
		Retention: 30 * 24 * time.Hour,
		Logger:    slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&d)
	}
	Register(g, d)
	return r
}

// newTestServer serves the test data set over HTTP.
func newTestServer(t testing.TB) (*httptest.Server, *tsdb.DB) {
	t.Helper()
	db := openDB(t)
	fillDB(t, db)
	srv := httptest.NewServer(newRouter(t, db, nil))
	t.Cleanup(srv.Close)
	return srv, db
}

// bearer adds a bearer token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// newClient returns a client_golang API client authenticated as a viewer.
func newClient(t testing.TB, srv *httptest.Server) promclient.Client {
	t.Helper()
	c, err := promclient.NewClient(promclient.Config{
		Address:      srv.URL,
		RoundTripper: bearer{token: viewerToken, next: http.DefaultTransport},
	})
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return c
}

// response is a raw HTTP answer.
type response struct {
	code   int
	header http.Header
	body   string
}

// do sends one request through the router in process. For POST, params go
// in a form-encoded body; for GET in the URL.
func do(t testing.TB, h http.Handler, method, path string, params url.Values, header ...string) response {
	t.Helper()
	var body io.Reader
	target := path
	if method == http.MethodPost {
		body = strings.NewReader(params.Encode())
	} else if len(params) > 0 {
		target += "?" + params.Encode()
	}
	req := httptest.NewRequest(method, target, body)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Authorization", "Bearer "+viewerToken)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{code: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
)

func newServer(t *testing.T) (http.Handler, string) {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	token, _, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	db, err := tsdb.Open(filepath.Join(t.TempDir(), "tsdb"), tsdb.Options{}, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := New(Deps{
		Logger:   logger,
		Store:    st,
		Ingest:   ingest.New(db, st, nil, logger, ingest.Options{}),
		Gatherer: reg,
		UI:       fstest.MapFS{"index.html": {Data: []byte("<h1>ui</h1>")}, "assets/app.js": {Data: []byte("js")}},
		Routes: []func(*gin.RouterGroup){func(g *gin.RouterGroup) {
			g.GET("/panic", func(*gin.Context) { panic("handler bug") })
		}},
	})
	return h, token
}

func call(t *testing.T, h http.Handler, method, path, token string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestRoutes(t *testing.T) {
	h, token := newServer(t)
	f := func(method, path, token string, wantCode int, wantBody string) {
		t.Helper()
		code, body := call(t, h, method, path, token)
		if code != wantCode || !strings.Contains(body, wantBody) {
			t.Fatalf("%s %s: %d %q, want %d containing %q", method, path, code, body, wantCode, wantBody)
		}
	}
	// Open: health checks and the UI's static files.
	f("GET", "/-/healthy", "", 200, "Healthy")
	f("GET", "/-/ready", "", 200, "Ready")
	f("GET", "/", "", 200, "<h1>ui</h1>")
	f("GET", "/assets/app.js", "", 200, "js")
	// Everything else needs a token.
	f("GET", "/metrics", "", 401, `"errorType":"unauthorized"`)
	f("POST", "/agent/v1/results", "", 401, "unauthorized")
	f("POST", "/api/v1/write", "", 401, "unauthorized")
	f("GET", "/metrics", token, 200, "prometheus_tsdb_head_series")
	f("GET", "/metrics", token, 200, "prophasis_http_requests_total")
	// Unknown routes and methods answer in the envelope.
	f("GET", "/manage/v1/nothing/here", token, 404, `"error":"no endpoint at /manage/v1/nothing/here"`)
	f("GET", "/nothing/here.txt", token, 404, `"error":"no endpoint at /nothing/here.txt"`)
	f("GET", "/agent/v1/results", token, 405, "GET is not allowed on /agent/v1/results")
	// A panicking handler is a 500; the server keeps serving.
	f("GET", "/panic", token, 500, `"errorType":"internal","error":"internal error: the server log has the details"`)
	f("GET", "/-/healthy", "", 200, "Healthy")
}

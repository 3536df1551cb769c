package agentapi

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
)

// testAPI is the agent API over a real SQLite store and TSDB, behind the
// real auth middleware, with the admin token of a first start.
type testAPI struct {
	st     store.Store
	admin  string
	logger *slog.Logger
	r      *gin.Engine
}

// newTestAPI mounts the agent API; mod may change its Deps (packages, CA).
func newTestAPI(t *testing.T, mod func(*Deps)) *testAPI {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, _, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db, err := tsdb.Open(filepath.Join(t.TempDir(), "tsdb"), tsdb.Options{}, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d := Deps{Store: st, Ingest: ingest.New(db, st, nil, logger, ingest.Options{}), Logger: logger}
	if mod != nil {
		mod(&d)
	}
	r := gin.New()
	Register(r.Group("/agent/v1"), r.Group("/agent/v1", auth.Middleware(st, auth.Options{})), d)
	return &testAPI{st: st, admin: admin, logger: logger, r: r}
}

// do sends a request with a bearer token (none when empty) and headers as
// name, value pairs.
func (a *testAPI) do(method, path, token, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	a.r.ServeHTTP(rec, req)
	return rec
}

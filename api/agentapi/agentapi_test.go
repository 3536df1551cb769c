package agentapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
)

func TestResults(t *testing.T) {
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	admin, _, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, agent, err := st.CreateToken(ctx, store.TokenSpec{Name: "web1", Role: store.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	_, viewer, err := st.CreateToken(ctx, store.TokenSpec{Name: "ro", Role: store.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	db, err := tsdb.Open(filepath.Join(t.TempDir(), "tsdb"), tsdb.Options{}, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := gin.New()
	Register(r.Group("/agent/v1", auth.Middleware(st, auth.Options{})), ingest.New(db, st, nil, logger, ingest.Options{}), logger)

	now := time.Now().UnixMilli()
	good := `{"results":[{"host":"web1","plugin":"load","timestamp":` + jsonInt(now) + `,"value":0.5,"message":"OK"}]}`
	f := func(token, body string, wantCode int, wantBody string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/agent/v1/results", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != wantCode || !strings.Contains(rec.Body.String(), wantBody) {
			t.Fatalf("POST %.60q: %d %s, want %d containing %q", body, rec.Code, rec.Body, wantCode, wantBody)
		}
	}
	f(agent, good, 200, `"accepted":1`)
	f(admin, good, 200, `"duplicates":1`)
	f(viewer, good, 403, `"errorType":"forbidden"`)
	f(agent, `{"results":[{"host":"web1"}]}`, 400, `"errorType":"bad_data","error":"results[0]: plugin: must not be empty"`)
	f(agent, `not json`, 400, "decode JSON batch")
	f(agent, string(bytes.Repeat([]byte(" "), ingest.MaxBodyBytes+1)), 413, `"errorType":"too_large"`)
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

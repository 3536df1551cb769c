package api

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestUIServing(t *testing.T) {
	h, _ := newServer(t)
	f := func(method, path string, wantCode int, wantBody, wantCache string) {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != wantCode || !strings.Contains(rec.Body.String(), wantBody) {
			t.Fatalf("%s %s: %d %q, want %d containing %q", method, path, rec.Code, rec.Body, wantCode, wantBody)
		}
		if wantCode != 200 {
			return
		}
		hdr := rec.Header()
		for k, v := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"Cache-Control":           wantCache,
		} {
			if got := hdr.Get(k); got != v {
				t.Fatalf("%s %s: %s %q, want %q", method, path, k, got, v)
			}
		}
	}
	const noCache, forever = "no-cache", "public, max-age=31536000, immutable"
	f("GET", "/", 200, "<h1>ui</h1>", noCache)
	f("HEAD", "/", 200, "", noCache)
	f("GET", "/assets/app.js", 200, "js", forever)
	// Client-side routes get index.html.
	f("GET", "/hosts", 200, "<h1>ui</h1>", noCache)
	f("GET", "/hosts/web1/checks/cpu", 200, "<h1>ui</h1>", noCache)
	f("GET", "/dashboards/a.b/edit", 200, "<h1>ui</h1>", noCache)
	// Files that do not exist, API paths and other methods do not.
	f("GET", "/favicon.ico", 404, "no endpoint", "")
	f("GET", "/assets/missing.js", 404, "404", "")
	f("GET", "/assets/", 404, "", "")
	f("GET", "/api/v1/nothing", 404, "no endpoint", "")
	f("GET", "/manage/v1/nothing", 404, "no endpoint", "")
	f("GET", "/agent/v1/nothing", 404, "no endpoint", "")
	f("GET", "/-/nothing", 404, "no endpoint", "")
	f("GET", "/metrics/x", 404, "no endpoint", "")
	f("POST", "/hosts", 404, "no endpoint", "")
	// The APIs themselves carry no UI headers and still need auth.
	f("GET", "/metrics", 401, "unauthorized", "")
	if code, _ := call(t, h, "GET", "/manage/v1/session", ""); code != 401 {
		t.Fatalf("GET /manage/v1/session without a cookie: %d, want 401", code)
	}
}

package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/store"
)

// tokens is an Authenticator over a fixed table. The store's real token
// lookup is tested in the store; here the middleware's own logic is.
type tokens map[string]store.Principal

func (t tokens) Authenticate(_ context.Context, secret string) (store.Principal, error) {
	if secret == "boom" {
		return store.Principal{}, fmt.Errorf("database on fire")
	}
	p, ok := t[secret]
	if !ok {
		return store.Principal{}, fmt.Errorf("token: %w", store.ErrUnauthenticated)
	}
	return p, nil
}

func TestMiddleware(t *testing.T) {
	gin.SetMode(gin.TestMode)
	a := tokens{
		"admin":  {Kind: "token", Name: "a", Role: store.RoleAdmin},
		"viewer": {Kind: "token", Name: "v", Role: store.RoleViewer},
	}
	build := func(opts Options) *gin.Engine {
		r := gin.New()
		g := r.Group("/", Middleware(a, opts))
		g.GET("/read", Require(store.RoleAdmin, store.RoleViewer), func(c *gin.Context) {
			p, _ := PrincipalOf(c)
			c.String(200, p.Name)
		})
		g.POST("/write", Require(store.RoleAdmin), func(c *gin.Context) { c.String(200, "written") })
		return r
	}
	strict, loop := build(Options{}), build(Options{LoopbackReads: true})
	f := func(r *gin.Engine, method, path, remote string, setAuth func(*http.Request), wantCode int, wantBody string) {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		req.RemoteAddr = remote
		if setAuth != nil {
			setAuth(req)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != wantCode {
			t.Fatalf("%s %s from %s: %d %s, want %d", method, path, remote, rec.Code, rec.Body, wantCode)
		}
		if wantCode == 200 {
			if rec.Body.String() != wantBody {
				t.Fatalf("body %q, want %q", rec.Body, wantBody)
			}
			return
		}
		var env struct{ Status, ErrorType, Error string }
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Status != "error" || env.ErrorType != wantBody {
			t.Fatalf("error body %s, want errorType %q", rec.Body, wantBody)
		}
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	basic := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth("anyone", tok) }
	}
	const remote, local = "192.0.2.1:1234", "127.0.0.1:5555"
	f(strict, "GET", "/read", remote, nil, 401, "unauthorized")
	f(strict, "GET", "/read", local, nil, 401, "unauthorized")
	f(strict, "GET", "/read", remote, bearer("viewer"), 200, "v")
	f(strict, "GET", "/read", remote, func(r *http.Request) { r.Header.Set("Authorization", "bearer  admin ") }, 200, "a")
	f(strict, "GET", "/read", remote, basic("admin"), 200, "a")
	f(strict, "GET", "/read", remote, bearer("nope"), 401, "unauthorized")
	f(strict, "GET", "/read", remote, basic("nope"), 401, "unauthorized")
	f(strict, "GET", "/read", remote, func(r *http.Request) { r.Header.Set("Authorization", "Digest x") }, 401, "unauthorized")
	f(strict, "GET", "/read", remote, bearer("boom"), 500, "internal")
	f(strict, "POST", "/write", remote, bearer("viewer"), 403, "forbidden")
	f(strict, "POST", "/write", remote, bearer("admin"), 200, "written")
	// Loopback reads: anonymous reads from loopback only, never writes; a
	// bad token is refused even from loopback.
	f(loop, "GET", "/read", local, nil, 200, "loopback")
	f(loop, "GET", "/read", "[::1]:80", nil, 200, "loopback")
	f(loop, "GET", "/read", remote, nil, 401, "unauthorized")
	f(loop, "POST", "/write", local, nil, 403, "forbidden")
	f(loop, "GET", "/read", local, bearer("nope"), 401, "unauthorized")
}

package auth

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/store"
)

// sessionServer is a router with the session endpoints and two guarded
// routes, over a real SQLite store with users ann (admin) and vic (viewer).
func sessionServer(t *testing.T) (*gin.Engine, store.Store, string) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	token, _, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.UserSpec{
		{Name: "ann", Role: store.RoleAdmin, Password: "correct horse"},
		{Name: "vic", Role: store.RoleViewer, Password: "battery staple"},
	} {
		if _, err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	sess := NewSessions(st.(SessionBackend), nil)
	r := gin.New()
	sess.Register(r.Group("/manage/v1/session"))
	g := r.Group("/", Middleware(st, Options{Sessions: sess}))
	g.GET("/read", Require(store.RoleAdmin, store.RoleViewer), func(c *gin.Context) {
		p, _ := PrincipalOf(c)
		c.String(200, p.Kind+":"+p.Name)
	})
	g.POST("/write", Require(store.RoleAdmin), func(c *gin.Context) { c.String(200, "written") })
	return r, st, token
}

type response struct {
	code   int
	body   string
	cookie *http.Cookie
	hdr    http.Header
}

// req sends a request; opts are header name/value pairs, with the
// pseudo-headers "cookie" (the session cookie's value) and "tls".
func req(t *testing.T, h http.Handler, method, path, body string, opts ...string) response {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.7:4321"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(opts); i += 2 {
		switch opts[i] {
		case "cookie":
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: opts[i+1]})
		case "tls":
			r.TLS = &tls.ConnectionState{}
		case "remote":
			r.RemoteAddr = opts[i+1]
		default:
			r.Header.Set(opts[i], opts[i+1])
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	out := response{code: rec.Code, body: rec.Body.String(), hdr: rec.Header()}
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			out.cookie = c
		}
	}
	return out
}

func loginBody(user, pw string) string {
	b, _ := json.Marshal(map[string]string{"user": user, "password": pw})
	return string(b)
}

func sessionInfo(t *testing.T, body string) SessionInfo {
	t.Helper()
	var env struct {
		Status string
		Data   SessionInfo
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || env.Status != "success" {
		t.Fatalf("body %s: %v", body, err)
	}
	return env.Data
}

func TestSessionLoginAndCSRF(t *testing.T) {
	h, st, token := sessionServer(t)
	want := func(r response, code int, body string) {
		t.Helper()
		if r.code != code || !strings.Contains(r.body, body) {
			t.Fatalf("%d %s, want %d containing %q", r.code, r.body, code, body)
		}
	}

	// Wrong passwords and unknown users get one generic answer.
	want(req(t, h, "POST", "/manage/v1/session", loginBody("ann", "wrong password")), 401, `"error":"wrong user name or password"`)
	want(req(t, h, "POST", "/manage/v1/session", loginBody("nobody", "wrong password")), 401, `"error":"wrong user name or password"`)
	// The bootstrap admin has no password and cannot log in.
	want(req(t, h, "POST", "/manage/v1/session", loginBody("admin", "")), 400, "required")
	// Only JSON, and only the two fields.
	r := req(t, h, "POST", "/manage/v1/session", "user=ann&password=correct+horse", "Content-Type", "application/x-www-form-urlencoded")
	want(r, 400, "Content-Type: application/json")
	want(req(t, h, "POST", "/manage/v1/session", `{"user":"ann","password":"correct horse","role":"admin"}`), 400, "unknown field")
	want(req(t, h, "POST", "/manage/v1/session", `{"user":"ann","password":"`+strings.Repeat("x", 5000)+`"}`), 400, "too large")

	// Log in: the cookie and the body.
	r = req(t, h, "POST", "/manage/v1/session", loginBody("ann", "correct horse"))
	want(r, 200, `"user":"ann","role":"admin"`)
	ck := r.cookie
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" ||
		ck.MaxAge != int(store.SessionMaxAge/time.Second) || len(ck.Value) != 43 {
		t.Fatalf("session cookie %+v", ck)
	}
	if r.hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("login answer is cacheable: %q", r.hdr.Get("Cache-Control"))
	}
	info := sessionInfo(t, r.body)
	if len(info.CSRFToken) != 64 || info.ExpiresAt.IsZero() {
		t.Fatalf("session info %+v", info)
	}
	id := ck.Value

	// Who am I.
	r = req(t, h, "GET", "/manage/v1/session", "", "cookie", id)
	want(r, 200, `"user":"ann"`)
	if again := sessionInfo(t, r.body); again.CSRFToken != info.CSRFToken {
		t.Fatalf("CSRF token changed between calls: %q then %q", info.CSRFToken, again.CSRFToken)
	}
	want(req(t, h, "GET", "/manage/v1/session", ""), 401, "not logged in")
	r = req(t, h, "GET", "/manage/v1/session", "", "cookie", "junk")
	want(r, 401, "log in again")
	if r.cookie == nil || r.cookie.MaxAge >= 0 {
		t.Fatalf("a dead cookie is not cleared: %+v", r.cookie)
	}

	// The cookie authenticates; reads need nothing more.
	want(req(t, h, "GET", "/read", "", "cookie", id), 200, "user:ann")
	// Writes need the CSRF token.
	want(req(t, h, "POST", "/write", "", "cookie", id), 403, "missing or wrong X-CSRF-Token")
	want(req(t, h, "POST", "/write", "", "cookie", id, CSRFHeader, strings.Repeat("0", 64)), 403, "X-CSRF-Token")
	want(req(t, h, "POST", "/write", "", "cookie", id, CSRFHeader, info.CSRFToken), 200, "written")
	// Another session's token does not fit this one.
	other := sessionInfo(t, req(t, h, "POST", "/manage/v1/session", loginBody("ann", "correct horse")).body)
	want(req(t, h, "POST", "/write", "", "cookie", id, CSRFHeader, other.CSRFToken), 403, "X-CSRF-Token")
	// Bearer tokens are no ambient credential: no CSRF token needed, and an
	// Authorization header wins over a cookie.
	want(req(t, h, "POST", "/write", "", "Authorization", "Bearer "+token), 200, "written")
	want(req(t, h, "GET", "/read", "", "Authorization", "Bearer "+token, "cookie", id), 200, "token:admin")
	// An unknown session is refused even for reads.
	want(req(t, h, "GET", "/read", "", "cookie", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 401, "log in again")

	// A viewer's session reads, and may not write even with the token.
	r = req(t, h, "POST", "/manage/v1/session", loginBody("vic", "battery staple"))
	want(r, 200, `"role":"viewer"`)
	vic, vicInfo := r.cookie.Value, sessionInfo(t, r.body)
	want(req(t, h, "GET", "/read", "", "cookie", vic), 200, "user:vic")
	want(req(t, h, "POST", "/write", "", "cookie", vic, CSRFHeader, vicInfo.CSRFToken), 403, "role viewer may not")

	// Deleting the user ends its sessions at once.
	if err := st.DeleteUser(context.Background(), "vic"); err != nil {
		t.Fatal(err)
	}
	want(req(t, h, "GET", "/read", "", "cookie", vic), 401, "log in again")

	// Logout needs the CSRF token too, then ends the session.
	want(req(t, h, "DELETE", "/manage/v1/session", "", "cookie", id), 403, "X-CSRF-Token")
	r = req(t, h, "DELETE", "/manage/v1/session", "", "cookie", id, CSRFHeader, info.CSRFToken)
	want(r, 200, "success")
	if r.cookie == nil || r.cookie.MaxAge >= 0 {
		t.Fatalf("logout does not clear the cookie: %+v", r.cookie)
	}
	want(req(t, h, "GET", "/manage/v1/session", "", "cookie", id), 401, "not logged in")
	want(req(t, h, "GET", "/read", "", "cookie", id), 401, "log in again")
	// Logging out again, or without a session, is fine.
	want(req(t, h, "DELETE", "/manage/v1/session", "", "cookie", id), 200, "success")
	want(req(t, h, "DELETE", "/manage/v1/session", ""), 200, "success")
}

func TestSessionCookieSecureUnderTLS(t *testing.T) {
	h, _, _ := sessionServer(t)
	r := req(t, h, "POST", "/manage/v1/session", loginBody("ann", "correct horse"), "tls", "")
	if r.code != 200 || r.cookie == nil || !r.cookie.Secure || !r.cookie.HttpOnly || r.cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login over TLS: %d, cookie %+v", r.code, r.cookie)
	}
	r = req(t, h, "DELETE", "/manage/v1/session", "", "tls", "", "cookie", "junk")
	if r.cookie == nil || !r.cookie.Secure {
		t.Fatalf("clearing cookie over TLS: %+v", r.cookie)
	}
}

func TestLoginRateLimit(t *testing.T) {
	h, _, _ := sessionServer(t)
	login := func(user, pw, remote string) response {
		t.Helper()
		return req(t, h, "POST", "/manage/v1/session", loginBody(user, pw), "remote", remote)
	}
	// Per user: ten failures, then even the right password waits, from any
	// address.
	for i := range loginFailures {
		if r := login("ann", "wrong password", "192.0.2.1:1"); r.code != 401 {
			t.Fatalf("failure %d: %d %s", i+1, r.code, r.body)
		}
	}
	r := login("ann", "correct horse", "198.51.100.9:1")
	if r.code != 429 || !strings.Contains(r.body, "too many failed logins") || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("11th login: %d %s Retry-After %q, want 429", r.code, r.body, r.hdr.Get("Retry-After"))
	}
	// Other users from other addresses are not affected.
	if r := login("vic", "battery staple", "198.51.100.9:1"); r.code != 200 {
		t.Fatalf("vic: %d %s", r.code, r.body)
	}
	// Per address: one client spraying names is stopped too, for every
	// name; an IPv6 client's whole /64 counts as one.
	for i := range loginFailures {
		if r := login("user"+string(rune('a'+i)), "wrong password", "[2001:db8::1]:1"); r.code != 401 {
			t.Fatalf("spray %d: %d %s", i, r.code, r.body)
		}
	}
	if r := login("vic", "battery staple", "[2001:db8::ffff]:1"); r.code != 429 {
		t.Fatalf("vic from the spraying /64: %d %s, want 429", r.code, r.body)
	}
	if r := login("vic", "battery staple", "[2001:db8:1::1]:1"); r.code != 200 {
		t.Fatalf("vic from another /64: %d %s", r.code, r.body)
	}
}

func TestLimiterWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(3, time.Minute)
		for i := range 3 {
			if blocked, _ := l.blocked("k"); blocked {
				t.Fatalf("blocked after %d failures", i)
			}
			if reached := l.fail("k", "other"); reached != (i == 2) {
				t.Fatalf("failure %d: reached %v", i+1, reached)
			}
		}
		blocked, wait := l.blocked("k")
		if !blocked || wait != time.Minute {
			t.Fatalf("after 3 failures: blocked %v, wait %v", blocked, wait)
		}
		time.Sleep(40 * time.Second)
		if _, wait := l.blocked("x", "k"); wait != 20*time.Second {
			t.Fatalf("wait %v after 40 s, want 20 s", wait)
		}
		time.Sleep(20 * time.Second)
		if blocked, _ := l.blocked("k", "other"); blocked {
			t.Fatal("still blocked when the window ended")
		}
		// A new window starts at the next failure.
		l.fail("k")
		if blocked, _ := l.blocked("k"); blocked {
			t.Fatal("blocked after one failure of a new window")
		}
		l.fail("k")
		l.fail("k")
		l.forget("k")
		if blocked, _ := l.blocked("k"); blocked {
			t.Fatal("blocked after forget")
		}
	})
}

func TestClientKey(t *testing.T) {
	f := func(remote, want string) {
		t.Helper()
		if got := clientKey(remote); got != want {
			t.Fatalf("clientKey(%q) = %q, want %q", remote, got, want)
		}
	}
	f("192.0.2.1:80", "addr:192.0.2.1")
	f("[2001:db8:0:0:1::9]:80", "addr:2001:db8::")
	f("[::ffff:192.0.2.1]:80", "addr:192.0.2.1")
	f("pipe", "addr:pipe")
}

func TestLoginLogsNoPassword(t *testing.T) {
	_, st, _ := sessionServer(t)
	var logs strings.Builder
	sess := NewSessions(st.(SessionBackend), slog.New(slog.NewTextHandler(&logs, nil)))
	r := gin.New()
	sess.Register(r.Group("/manage/v1/session"))
	for _, pw := range []string{"guess-one-1", "correct horse"} {
		req(t, r, "POST", "/manage/v1/session", loginBody("ann", pw))
	}
	out := logs.String()
	if !strings.Contains(out, `msg="login failed" component=session user=ann client=192.0.2.7:4321`) || !strings.Contains(out, `msg=login component=session user=ann role=admin`) {
		t.Fatalf("logins not logged as expected:\n%s", out)
	}
	if strings.Contains(out, "guess-one-1") || strings.Contains(out, "correct horse") {
		t.Fatalf("a password was logged:\n%s", out)
	}
}

package auth

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/prophasis/prophasis/store"
)

// TestSessionExpiry runs the whole path (login, cookie, middleware, real
// SQLite store) on synctest's fake clock: a session lives while used at
// least every 12 h, and ends 12 h after its last use or 7 days after the
// login.
func TestSessionExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _, _ := sessionServer(t)
		login := func() string {
			t.Helper()
			r := req(t, h, "POST", "/manage/v1/session", loginBody("ann", "correct horse"))
			if r.code != 200 || r.cookie == nil {
				t.Fatalf("login: %d %s", r.code, r.body)
			}
			return r.cookie.Value
		}
		read := func(id string) int {
			t.Helper()
			return req(t, h, "GET", "/read", "", "cookie", id).code
		}

		// Idle.
		id := login()
		time.Sleep(store.SessionIdleTimeout - time.Minute)
		if code := read(id); code != 200 {
			t.Fatalf("after 11h59m idle: %d", code)
		}
		time.Sleep(store.SessionIdleTimeout - time.Minute) // the read above reset the idle clock
		if code := read(id); code != 200 {
			t.Fatalf("used 11h59m ago: %d", code)
		}
		time.Sleep(store.SessionIdleTimeout)
		if code := read(id); code != 401 {
			t.Fatalf("after 12 h idle: %d, want 401", code)
		}

		// Absolute: used every 6 hours, it still ends at 7 days.
		id = login()
		start := time.Now()
		for time.Since(start) < store.SessionMaxAge-6*time.Hour {
			time.Sleep(6 * time.Hour)
			if code := read(id); code != 200 {
				t.Fatalf("after %v in use: %d", time.Since(start), code)
			}
		}
		time.Sleep(store.SessionMaxAge - time.Since(start))
		if code := read(id); code != 401 {
			t.Fatalf("7 days after login: %d, want 401", code)
		}
		if code := req(t, h, "GET", "/manage/v1/session", "", "cookie", id).code; code != 401 {
			t.Fatalf("GET session 7 days after login: %d, want 401", code)
		}
	})
}

package store

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t)
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	st.now = func() time.Time { return now }
	if _, err := st.CreateUser(ctx, UserSpec{Name: "ann", Role: RoleAdmin, Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, UserSpec{Name: "vic", Role: RoleViewer, Password: "battery staple"}); err != nil {
		t.Fatal(err)
	}
	login := func(name, pw string) string {
		t.Helper()
		p, err := st.CheckPassword(ctx, name, pw)
		if err != nil {
			t.Fatal(err)
		}
		id, s, err := st.CreateSession(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Principal != p || !s.ExpiresAt.Equal(now.Add(SessionMaxAge)) || len(id) != 43 {
			t.Fatalf("session %+v id %q, want principal %+v expiring %v", s, id, p, now.Add(SessionMaxAge))
		}
		return id
	}
	live := func(id string, want Principal) {
		t.Helper()
		s, err := st.Session(ctx, id)
		if err != nil {
			t.Fatalf("session: %v", err)
		}
		if s.Principal != want {
			t.Fatalf("principal %+v, want %+v", s.Principal, want)
		}
	}
	ended := func(id string, why string) {
		t.Helper()
		_, err := st.Session(ctx, id)
		wantErr(t, err, ErrUnauthenticated, why)
	}

	ann := login("ann", "correct horse")
	annP, _ := st.CheckPassword(ctx, "ann", "correct horse")
	live(ann, annP)
	if ann2 := login("ann", "correct horse"); ann2 == ann {
		t.Fatal("two logins gave one session id")
	}

	// The id is stored only as its hash.
	var n int
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE id_hash = ?`, []byte(ann)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("session id stored in clear (%d rows, %v)", n, err)
	}

	// Not ids at all, and ids of no session.
	for _, bad := range []string{"", "x", ann + "A", ann[:42] + "!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		_, err := st.Session(ctx, bad)
		wantErr(t, err, ErrUnauthenticated)
	}

	// Idle: used every 11 h the session lives on; 12 h without use ends it.
	for range 5 {
		now = now.Add(11 * time.Hour)
		live(ann, annP)
	}
	now = now.Add(SessionIdleTimeout)
	ended(ann, "expired")

	// Absolute: a session used every hour still ends 7 days after login.
	now = now.Add(time.Hour)
	start := now
	ann = login("ann", "correct horse")
	for now.Before(start.Add(SessionMaxAge - time.Hour)) {
		now = now.Add(time.Hour)
		live(ann, annP)
	}
	now = start.Add(SessionMaxAge)
	ended(ann, "expired")

	// Logout ends it at once; logging out twice, or with junk, is no error.
	ann = login("ann", "correct horse")
	if err := st.DeleteSession(ctx, ann); err != nil {
		t.Fatal(err)
	}
	ended(ann, "ended or unknown")
	if err := st.DeleteSession(ctx, ann); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(ctx, "junk"); err != nil {
		t.Fatal(err)
	}

	// A demotion or rename applies to the open session at once.
	vic := login("vic", "battery staple")
	vicP, _ := st.CheckPassword(ctx, "vic", "battery staple")
	live(vic, vicP)
	if _, err := st.UpdateUser(ctx, "vic", UserSpec{Name: "victor"}); err != nil {
		t.Fatal(err)
	}
	vicP.Name = "victor"
	live(vic, vicP)
	if _, err := st.UpdateUser(ctx, "victor", UserSpec{Role: RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	vicP.Role = RoleAdmin
	live(vic, vicP)

	// A changed password ends every session opened with the old one.
	if _, err := st.UpdateUser(ctx, "victor", UserSpec{Password: "new password!"}); err != nil {
		t.Fatal(err)
	}
	ended(vic, "password changed")
	vic = login("victor", "new password!")
	live(vic, vicP)

	// Deleting the user ends the user's sessions.
	if err := st.DeleteUser(ctx, "victor"); err != nil {
		t.Fatal(err)
	}
	ended(vic, "ended or unknown")
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE user_id = ?`, vicP.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d sessions of a deleted user left (%v)", n, err)
	}

	// Users without a password (the bootstrap admin) and unknown users get
	// no session.
	if _, _, err := st.CreateSession(ctx, 9999); err == nil {
		t.Fatal("session for a user that does not exist")
	}

	// Expired sessions are forgotten at the next login.
	now = now.Add(SessionMaxAge)
	login("ann", "correct horse")
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d sessions left after expiry and a new login, want 1 (%v)", n, err)
	}
}

func TestSessionUseIsThrottled(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t)
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	st.now = func() time.Time { return now }
	u, err := st.CreateUser(ctx, UserSpec{Name: "ann", Role: RoleAdmin, Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := st.CreateSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := func() time.Time {
		var ms int64
		if err := st.r.QueryRowContext(ctx, `SELECT last_seen_at FROM sessions`).Scan(&ms); err != nil {
			t.Fatal(err)
		}
		return fromMillis(ms)
	}
	login := now
	now = now.Add(30 * time.Second)
	if _, err := st.Session(ctx, id); err != nil {
		t.Fatal(err)
	}
	if !seen().Equal(login) {
		t.Fatalf("last use written after 30 s: %v", seen())
	}
	now = now.Add(time.Minute)
	if _, err := st.Session(ctx, id); err != nil {
		t.Fatal(err)
	}
	if !seen().Equal(now) {
		t.Fatalf("last use %v, want %v", seen(), now)
	}
}

func TestServerSecret(t *testing.T) {
	ctx := context.Background()
	path := testDSN(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := Open(ctx, path, logger)
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.(SessionStore).ServerSecret(ctx, "csrf")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := st.(SessionStore).ServerSecret(ctx, "csrf")
	other, _ := st.(SessionStore).ServerSecret(ctx, "other")
	if len(a) != 32 || !bytes.Equal(a, b) || bytes.Equal(a, other) {
		t.Fatalf("secrets %x %x %x: want one stable 32-byte secret per name", a, b, other)
	}
	st.Close()
	st, err = Open(ctx, path, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, _ := st.(SessionStore).ServerSecret(ctx, "csrf")
	if !bytes.Equal(a, c) {
		t.Fatal("the secret changed across a restart")
	}
}

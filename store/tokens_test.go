package store

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestBootstrapOnce(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	secret, created, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !created || !strings.HasPrefix(secret, TokenPrefix) {
		t.Fatalf("first Bootstrap = %q, %v", secret, created)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, TokenPrefix))
	if err != nil || len(raw) != 32 {
		t.Fatalf("secret %q is not pht_ + base64url of 32 bytes (%d bytes, %v)", secret, len(raw), err)
	}
	p, err := st.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != RoleAdmin || p.Kind != "token" || p.Name != "admin" {
		t.Fatalf("principal %+v", p)
	}
	admin := must[User](t)(st.User(ctx, "admin"))
	if admin.Role != RoleAdmin || admin.HasPassword {
		t.Fatalf("admin user %+v", admin)
	}
	again, created, err := st.Bootstrap(ctx)
	if err != nil || created || again != "" {
		t.Fatalf("second Bootstrap = %q, %v, %v", again, created, err)
	}
	if ts := must[[]Token](t)(st.Tokens(ctx)); len(ts) != 1 || ts[0].Owner != "admin" {
		t.Fatalf("tokens after two bootstraps: %+v", ts)
	}
}

func TestTokenAuthAndRevocation(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	clock := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	st.now = func() time.Time { return clock }
	must[User](t)(st.CreateUser(ctx, UserSpec{Name: "ann", Role: RoleAdmin}))
	must[User](t)(st.CreateUser(ctx, UserSpec{Name: "vic", Role: RoleViewer}))

	tok, secret, err := st.CreateToken(ctx, TokenSpec{Name: "web1", Role: RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if tok.ID == 0 || tok.Role != RoleAgent || tok.Owner != "" || tok.Revoked() {
		t.Fatalf("token %+v", tok)
	}
	// Only the hash is stored.
	var stored []byte
	if err := st.r.QueryRowContext(ctx, `SELECT hash FROM api_tokens WHERE id = ?`, tok.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 32 || strings.Contains(string(stored), strings.TrimPrefix(secret, TokenPrefix)) {
		t.Fatalf("stored %x is not a SHA-256", stored)
	}

	p, err := st.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != tok.ID || p.Role != RoleAgent || p.Name != "web1" {
		t.Fatalf("principal %+v", p)
	}
	got := must[Token](t)(st.Token(ctx, tok.ID))
	if !got.LastUsedAt.Equal(clock) {
		t.Fatalf("last used %v, want %v", got.LastUsedAt, clock)
	}

	f := func(secret, part string) {
		t.Helper()
		_, err := st.Authenticate(ctx, secret)
		wantErr(t, err, ErrUnauthenticated, part)
	}
	f("", "not a Prophasis API token")
	f("Bearer x", "not a Prophasis API token")
	f(secret+"x", "unknown API token")
	f(TokenPrefix+strings.Repeat("A", 200), "not a Prophasis API token")

	if err := st.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	f(secret, `API token "web1" was revoked`)
	if err := st.RevokeToken(ctx, tok.ID); err != nil { // twice is fine
		t.Fatal(err)
	}
	wantErr(t, st.RevokeToken(ctx, 9999), ErrNotFound, "token 9999 not found")
	if got := must[Token](t)(st.Token(ctx, tok.ID)); !got.Revoked() {
		t.Fatalf("token not marked revoked: %+v", got)
	}

	// Owners and roles.
	_, _, err = st.CreateToken(ctx, TokenSpec{Name: "t", Role: RoleAdmin, Owner: "vic"})
	wantErr(t, err, ErrInvalid, `user "vic" is a viewer and cannot own an admin token`)
	_, _, err = st.CreateToken(ctx, TokenSpec{Name: "t", Role: "root"})
	wantErr(t, err, ErrInvalid, `role must be admin, viewer or agent, not "root"`)
	_, _, err = st.CreateToken(ctx, TokenSpec{Name: "t", Role: RoleViewer, Owner: "nobody"})
	wantErr(t, err, ErrInvalid, `unknown owner "nobody"`)
	annTok, annSecret, err := st.CreateToken(ctx, TokenSpec{Name: "ann-cli", Role: RoleAdmin, Owner: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if annTok.Owner != "ann" {
		t.Fatalf("owner %q", annTok.Owner)
	}
	// Demoting ann revokes her admin tokens; deleting her deletes them.
	// Authenticated first, so the token is in the cache the change must drop.
	must[Principal](t)(st.Authenticate(ctx, annSecret))
	must[User](t)(st.CreateUser(ctx, UserSpec{Name: "boss", Role: RoleAdmin}))
	must[User](t)(st.UpdateUser(ctx, "ann", UserSpec{Role: RoleViewer}))
	f(annSecret, "revoked")
	_, vicSecret, err := st.CreateToken(ctx, TokenSpec{Name: "vic-ro", Role: RoleViewer, Owner: "vic"})
	if err != nil {
		t.Fatal(err)
	}
	must[Principal](t)(st.Authenticate(ctx, vicSecret))
	if err := st.DeleteUser(ctx, "vic"); err != nil {
		t.Fatal(err)
	}
	f(vicSecret, "unknown API token")
	if err := st.DeleteUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	_, err = st.Token(ctx, annTok.ID)
	wantErr(t, err, ErrNotFound)
	f(annSecret, "unknown API token")
	if ts := must[[]Token](t)(st.Tokens(ctx)); len(ts) != 1 || ts[0].ID != tok.ID {
		t.Fatalf("tokens %+v", ts)
	}
}

func TestUsers(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	u := must[User](t)(st.CreateUser(ctx, UserSpec{Name: "ann", Role: RoleAdmin, Password: "correct horse"}))
	if !u.HasPassword || u.Role != RoleAdmin {
		t.Fatalf("user %+v", u)
	}
	var hash string
	if err := st.r.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE name = 'ann'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2a$") || strings.Contains(hash, "horse") {
		t.Fatalf("password stored as %q, want a bcrypt hash", hash)
	}
	p, err := st.CheckPassword(ctx, "ann", "correct horse")
	if err != nil || p.Kind != "user" || p.Role != RoleAdmin || p.Name != "ann" {
		t.Fatalf("CheckPassword = %+v, %v", p, err)
	}
	_, err = st.CheckPassword(ctx, "ann", "wrong horse")
	wantErr(t, err, ErrUnauthenticated, "wrong user name or password")
	_, err = st.CheckPassword(ctx, "nobody", "correct horse")
	wantErr(t, err, ErrUnauthenticated, "wrong user name or password")

	f := func(u UserSpec, kind error, parts ...string) {
		t.Helper()
		_, err := st.CreateUser(ctx, u)
		wantErr(t, err, kind, parts...)
	}
	f(UserSpec{Name: "ann", Role: RoleViewer}, ErrConflict, `user "ann" already exists`)
	f(UserSpec{Name: "bob", Role: RoleAgent}, ErrInvalid, `role must be admin or viewer, not "agent"`)
	f(UserSpec{Name: "bob", Role: RoleViewer, Password: "short"}, ErrInvalid, "password must be 8 to 72 bytes")
	f(UserSpec{Name: "bob", Role: RoleViewer, Password: strings.Repeat("p", 73)}, ErrInvalid, "8 to 72 bytes")
	f(UserSpec{Name: "", Role: RoleViewer}, ErrInvalid, "name is required")

	// The last admin stays.
	wantErr(t, st.DeleteUser(ctx, "ann"), ErrConflict, `user "ann" is the last admin`)
	_, err = st.UpdateUser(ctx, "ann", UserSpec{Role: RoleViewer})
	wantErr(t, err, ErrConflict, "last admin")
	// Rename and password change; an empty password keeps the old one.
	must[User](t)(st.UpdateUser(ctx, "ann", UserSpec{Name: "anna"}))
	if _, err := st.CheckPassword(ctx, "anna", "correct horse"); err != nil {
		t.Fatalf("password lost on rename: %v", err)
	}
	must[User](t)(st.UpdateUser(ctx, "anna", UserSpec{Password: "battery staple"}))
	if _, err := st.CheckPassword(ctx, "anna", "battery staple"); err != nil {
		t.Fatal(err)
	}
	must[User](t)(st.CreateUser(ctx, UserSpec{Name: "vic", Role: RoleViewer}))
	_, err = st.UpdateUser(ctx, "vic", UserSpec{Name: "anna"})
	wantErr(t, err, ErrConflict, "already exists")
	if us := must[[]User](t)(st.Users(ctx)); len(us) != 2 || us[0].Name != "anna" || us[1].Name != "vic" {
		t.Fatalf("users %+v", us)
	}
	if err := st.DeleteUser(ctx, "vic"); err != nil {
		t.Fatal(err)
	}
	_, err = st.User(ctx, "vic")
	wantErr(t, err, ErrNotFound)
}

package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestEnrolment(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	clock := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	st.now = func() time.Time { return clock }

	_, err := st.CreateEnrollment(ctx, "web 1", 0)
	wantErr(t, err, ErrInvalid, "host")
	_, err = st.CreateEnrollment(ctx, "web1", 40*24*time.Hour)
	wantErr(t, err, ErrInvalid, "longer than 30 days")

	e, err := st.CreateEnrollment(ctx, "web1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.Token, EnrollmentPrefix) || !e.ExpiresAt.Equal(clock.Add(time.Hour)) {
		t.Fatalf("enrolment %+v", e)
	}
	// An enrolment token is not an API credential.
	_, err = st.Authenticate(ctx, e.Token)
	wantErr(t, err, ErrUnauthenticated)

	host, cred, err := st.Enroll(ctx, e.Token, AgentInfo{Version: "1.0", OS: "linux", Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if host != "web1" || !strings.HasPrefix(cred, AgentPrefix) {
		t.Fatalf("enrolled %q with %q", host, cred)
	}
	// The host now exists; the credential is stored only as an argon2id hash.
	must[Host](t)(st.Host(ctx, "web1"))
	var stored string
	if err := st.r.QueryRowContext(ctx, `SELECT credential FROM agents`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	// The credential is AgentPrefix, the agent's id, "_", then the secret,
	// whose base64url text may itself contain "_".
	_, secret, _ := strings.Cut(strings.TrimPrefix(cred, AgentPrefix), "_")
	if !strings.HasPrefix(stored, "$argon2id$") || len(secret) < 32 || strings.Contains(stored, secret) {
		t.Fatalf("stored credential %q is not an argon2id hash", stored)
	}
	p, err := st.Authenticate(ctx, cred)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != "agent" || p.Role != RoleAgent || p.Name != "web1" {
		t.Fatalf("principal %+v", p)
	}
	// Used once only; tampering with the credential fails.
	_, _, err = st.Enroll(ctx, e.Token, AgentInfo{})
	wantErr(t, err, ErrUnauthenticated, "already used")
	_, err = st.Authenticate(ctx, cred+"x")
	wantErr(t, err, ErrUnauthenticated, "unknown agent credential")
	_, err = st.Authenticate(ctx, AgentPrefix+"999_abc")
	wantErr(t, err, ErrUnauthenticated, "unknown agent credential")
	_, err = st.Authenticate(ctx, AgentPrefix+"nonsense")
	wantErr(t, err, ErrUnauthenticated, "malformed")

	// Expired tokens are refused.
	old, err := st.CreateEnrollment(ctx, "web2", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Minute)
	_, _, err = st.Enroll(ctx, old.Token, AgentInfo{})
	wantErr(t, err, ErrUnauthenticated, "expired")

	// Re-enrolling a host revokes its earlier credential at once, even
	// though it was cached by the authentication above.
	again, err := st.CreateEnrollment(ctx, "web1", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, cred2, err := st.Enroll(ctx, again.Token, AgentInfo{Version: "1.1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Authenticate(ctx, cred)
	wantErr(t, err, ErrUnauthenticated, "revoked")
	if _, err := st.Authenticate(ctx, cred2); err != nil {
		t.Fatal(err)
	}
	agents := must[[]Agent](t)(st.Agents(ctx))
	if len(agents) != 2 || agents[0].Version != "1.1" || agents[0].RevokedAt.IsZero() == false || agents[1].RevokedAt.IsZero() {
		t.Fatalf("agents %+v", agents)
	}
	if agents[0].LastSeenAt.IsZero() {
		t.Fatalf("last seen not recorded: %+v", agents[0])
	}

	// Revocation by host.
	if err := st.RevokeAgent(ctx, "web1"); err != nil {
		t.Fatal(err)
	}
	_, err = st.Authenticate(ctx, cred2)
	wantErr(t, err, ErrUnauthenticated, "revoked")
	wantErr(t, st.RevokeAgent(ctx, "web1"), ErrNotFound)
}

func TestArgon2idVerify(t *testing.T) {
	salt := []byte("0123456789abcdef")
	enc := encodeArgon2id(salt, []byte("not the real key"))
	if verifyArgon2id(enc, "secret") {
		t.Fatal("wrong key verified")
	}
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA"} {
		if verifyArgon2id(bad, "x") {
			t.Fatalf("%q verified", bad)
		}
	}
}

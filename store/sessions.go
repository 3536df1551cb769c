package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Session lifetimes. A web UI session ends after SessionIdleTimeout without a
// request, and in any case SessionMaxAge after the login: long enough for a
// working day at the console without logging in again, short enough that a
// forgotten browser on a shared machine does not stay logged in for ever.
const (
	SessionIdleTimeout = 12 * time.Hour
	SessionMaxAge      = 7 * 24 * time.Hour
)

// sessionSeenResolution throttles the writes of a session's last use: a
// session's idle clock is at most this much behind, and a busy UI (a
// dashboard refreshing every few seconds) costs one write a minute.
const sessionSeenResolution = time.Minute

// Session is a logged-in user's web UI session. Its id (the cookie's value)
// is known only to the browser; the store keeps a SHA-256 of it.
type Session struct {
	// Principal is the user, with the user's current name and role: a
	// rename or a demotion applies to open sessions at once.
	Principal Principal
	CreatedAt time.Time
	// ExpiresAt is the absolute end (CreatedAt + SessionMaxAge); the session
	// ends earlier after SessionIdleTimeout without use.
	ExpiresAt time.Time
}

// SessionStore keeps web UI sessions. Sessions end at logout, at expiry, when
// their user is deleted and when the user's password changes. Methods are
// safe for concurrent use.
type SessionStore interface {
	// CreateSession opens a session for the user with id userID (a
	// Principal from CheckPassword) and returns its secret id, to be sent
	// to the browser only. It also forgets expired sessions.
	CreateSession(ctx context.Context, userID int64) (id string, s Session, err error)
	// Session returns the live session with the given id, marking it used;
	// an unknown, expired or ended session is an error wrapping
	// ErrUnauthenticated.
	Session(ctx context.Context, id string) (Session, error)
	// DeleteSession ends a session (logout). An unknown id is not an error.
	DeleteSession(ctx context.Context, id string) error
	// ServerSecret returns the server's random secret of the given name (32
	// bytes), creating it on first use. It keys values derived from session
	// ids, such as the CSRF token.
	ServerSecret(ctx context.Context, name string) ([]byte, error)
}

// sessionIDLen is the length of a session id: 32 random bytes (256 bits),
// unpadded base64url.
var sessionIDLen = base64.RawURLEncoding.EncodedLen(32)

// sessionRef hashes a session id for lookup; ok is false for a string that
// cannot be a session id, which is refused without a query.
func sessionRef(id string) (hash []byte, ok bool) {
	if len(id) != sessionIDLen {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(id); err != nil {
		return nil, false
	}
	h := sha256.Sum256([]byte(id))
	return h[:], true
}

// pwTag fingerprints a password hash, so a session can tell that its user's
// password changed since the login.
func pwTag(hash sql.NullString) []byte {
	h := sha256.Sum256([]byte(hash.String))
	return h[:]
}

// CreateSession implements SessionStore.
func (s *sqlStore) CreateSession(ctx context.Context, userID int64) (string, Session, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	id := base64.RawURLEncoding.EncodeToString(b)
	hash, _ := sessionRef(id)
	now := s.now()
	out := Session{CreatedAt: now.Truncate(time.Millisecond), ExpiresAt: now.Add(SessionMaxAge).Truncate(time.Millisecond)}
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		var name, role string
		var pw sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT name, role, password_hash FROM users WHERE id = ?`, userID).Scan(&name, &role, &pw)
		if errors.Is(err, sql.ErrNoRows) {
			return unauthenticatedf("user %d does not exist", userID)
		}
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		if !pw.Valid {
			return unauthenticatedf("user %q has no password", name)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`,
			now.UnixMilli(), now.Add(-SessionIdleTimeout).UnixMilli()); err != nil {
			return fmt.Errorf("forget expired sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, pw_tag, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			hash, userID, pwTag(pw), out.CreatedAt.UnixMilli(), out.CreatedAt.UnixMilli(), out.ExpiresAt.UnixMilli()); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		out.Principal = Principal{Kind: "user", ID: userID, Name: name, Role: Role(role)}
		return nil
	})
	if err != nil {
		return "", Session{}, err
	}
	return id, out, nil
}

// Session implements SessionStore. One indexed lookup on the read pool; a
// write only to end an expired session or, at most once a minute, to move
// the idle clock.
func (s *sqlStore) Session(ctx context.Context, id string) (Session, error) {
	hash, ok := sessionRef(id)
	if !ok {
		return Session{}, unauthenticatedf("not a session id")
	}
	var out Session
	var tag []byte
	var pw sql.NullString
	var role string
	var created, seen, expires int64
	err := s.r.QueryRowContext(ctx, `SELECT s.user_id, u.name, u.role, u.password_hash, s.pw_tag, s.created_at, s.last_seen_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`, hash).
		Scan(&out.Principal.ID, &out.Principal.Name, &role, &pw, &tag, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, unauthenticatedf("session ended or unknown")
	}
	if err != nil {
		return Session{}, fmt.Errorf("look up session: %w", err)
	}
	now := s.now()
	ms := now.UnixMilli()
	switch {
	case ms >= expires, ms-seen >= SessionIdleTimeout.Milliseconds():
		s.dropSession(ctx, hash)
		return Session{}, unauthenticatedf("session expired")
	case !pw.Valid || subtle.ConstantTimeCompare(tag, pwTag(pw)) != 1:
		s.dropSession(ctx, hash)
		return Session{}, unauthenticatedf("session ended: the password changed")
	}
	if ms-seen >= sessionSeenResolution.Milliseconds() {
		// Bounded like touchToken: the idle clock is informative enough
		// that a busy writer must not hold up the request.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 100*time.Millisecond)
		if _, err := s.w.ExecContext(wctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, ms, hash); err != nil {
			s.logger.Debug("record session use", "err", err)
		}
		cancel()
	}
	out.Principal.Kind, out.Principal.Role = "user", Role(role)
	out.CreatedAt, out.ExpiresAt = fromMillis(created), fromMillis(expires)
	return out, nil
}

func (s *sqlStore) dropSession(ctx context.Context, hash []byte) {
	if _, err := s.w.ExecContext(context.WithoutCancel(ctx), `DELETE FROM sessions WHERE id_hash = ?`, hash); err != nil {
		s.logger.Warn("delete ended session", "err", err)
	}
}

// DeleteSession implements SessionStore.
func (s *sqlStore) DeleteSession(ctx context.Context, id string) error {
	hash, ok := sessionRef(id)
	if !ok {
		return nil
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// ServerSecret implements SessionStore. The first caller's random value
// wins; every later call, in this process or after a restart, returns it.
func (s *sqlStore) ServerSecret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	var out []byte
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO server_secrets (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT secret FROM server_secrets WHERE name = ?`, name).Scan(&out)
	})
	if err != nil {
		return nil, fmt.Errorf("server secret %q: %w", name, err)
	}
	return out, nil
}

var _ SessionStore = (*sqlStore)(nil)

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
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Agents enrol once with a one-time enrolment token an admin made for their
// host, and receive a credential of their own.
//
//   - Enrolment tokens: EnrollmentPrefix + 32 random bytes, valid for a
//     limited time and for one use, stored as SHA-256 (high entropy, short
//     lived: a fast hash is enough).
//   - Agent credentials: AgentPrefix + agent id + "_" + 32 random bytes. The
//     store keeps a salted argon2id hash, as the agent issue asks: the
//     credential lives on the host for years. The id in the credential finds
//     the row without a scan; a verified credential is cached in memory (by
//     its SHA-256), so the slow hash runs once per agent and process, not
//     per request. A credential authenticates as its host only.

// Prefixes of agent secrets.
const (
	EnrollmentPrefix = "phe_"
	AgentPrefix      = "pha_"
)

// argon2id parameters: OWASP's minimum recommendation (19 MiB, 2 passes,
// one lane), about 30 ms here; verification is cached, so this cost is paid
// once per agent per server start.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// AgentInfo is what an agent reports about itself when it enrols.
type AgentInfo struct {
	Version string `json:"version"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// Agent is an enrolled agent as listed.
type Agent struct {
	ID   int64  `json:"id"`
	Host string `json:"host"`
	AgentInfo
	EnrolledAt time.Time `json:"enrolled_at"`
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// Enrollment is a one-time enrolment token as created.
type Enrollment struct {
	Host      string    `json:"host"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AgentStore keeps enrolment tokens and agents.
type AgentStore interface {
	// CreateEnrollment makes a one-time enrolment token for host (a valid
	// host name; the host itself is created when the agent enrols), valid
	// for ttl (0: 24 h).
	CreateEnrollment(ctx context.Context, host string, ttl time.Duration) (Enrollment, error)
	// Enroll trades an enrolment token for an agent credential: it creates
	// the host if needed, revokes earlier credentials of the host, and
	// consumes the token. A used, expired or unknown token gives an error
	// wrapping ErrUnauthenticated.
	Enroll(ctx context.Context, token string, info AgentInfo) (host, credential string, err error)
	// Agents lists enrolled agents, newest first.
	Agents(ctx context.Context) ([]Agent, error)
	// RevokeAgent revokes every credential of host at once.
	RevokeAgent(ctx context.Context, host string) error
	// AgentSeen records that host's agent was just heard from. Writes are
	// throttled to one a minute per agent.
	AgentSeen(ctx context.Context, agentID int64)
}

// CreateEnrollment implements AgentStore.
func (s *sqlStore) CreateEnrollment(ctx context.Context, host string, ttl time.Duration) (Enrollment, error) {
	if err := validName("host", host); err != nil {
		return Enrollment{}, err
	}
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	if ttl > 30*24*time.Hour {
		return Enrollment{}, invalidf("enrolment token lifetime %s is longer than 30 days", ttl)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := EnrollmentPrefix + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(secret))
	now := s.now()
	exp := now.Add(ttl)
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO enrollment_tokens (host, hash, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			host, h[:], now.UnixMilli(), exp.UnixMilli())
		return err
	})
	if err != nil {
		return Enrollment{}, fmt.Errorf("create enrolment token: %w", err)
	}
	return Enrollment{Host: host, Token: secret, ExpiresAt: exp.UTC().Truncate(time.Millisecond)}, nil
}

// Enroll implements AgentStore.
func (s *sqlStore) Enroll(ctx context.Context, token string, info AgentInfo) (string, string, error) {
	if !strings.HasPrefix(token, EnrollmentPrefix) || len(token) > 128 {
		return "", "", unauthenticatedf("not a Prophasis enrolment token (they start with %q)", EnrollmentPrefix)
	}
	for _, f := range []string{info.Version, info.OS, info.Arch} {
		if len(f) > 64 {
			return "", "", invalidf("agent version, os and arch must be at most 64 characters")
		}
	}
	h := sha256.Sum256([]byte(token))
	secretBytes := make([]byte, 32)
	_, _ = rand.Read(secretBytes)
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	secret := base64.RawURLEncoding.EncodeToString(secretBytes)
	encoded := encodeArgon2id(salt, argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen))
	now := s.nowMillis()
	var host, credential string
	err := s.write(ctx, func(tx *sql.Tx) error {
		var id, expires int64
		var used sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT id, host, expires_at, used_at FROM enrollment_tokens WHERE hash = ?`, h[:]).
			Scan(&id, &host, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return unauthenticatedf("unknown enrolment token")
		}
		if err != nil {
			return err
		}
		if used.Valid {
			return unauthenticatedf("enrolment token for %q was already used", host)
		}
		if expires < now {
			return unauthenticatedf("enrolment token for %q expired at %s", host, time.UnixMilli(expires).UTC().Format(time.RFC3339))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE enrollment_tokens SET used_at = ? WHERE id = ?`, now, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO hosts (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			host, now, now); err != nil {
			return err
		}
		var hostID int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM hosts WHERE name = ?`, host).Scan(&hostID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE agents SET revoked_at = ? WHERE host_id = ? AND revoked_at IS NULL`, now, hostID); err != nil {
			return err
		}
		var agentID int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO agents (host_id, credential, version, os, arch, enrolled_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, hostID, encoded, info.Version, info.OS, info.Arch, now).Scan(&agentID); err != nil {
			return err
		}
		credential = AgentPrefix + strconv.FormatInt(agentID, 10) + "_" + secret
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("enrol: %w", err)
	}
	s.authCache.invalidate() // earlier credentials of the host were revoked
	return host, credential, nil
}

// authenticateAgent verifies an agent credential (called by Authenticate).
func (s *sqlStore) authenticateAgent(ctx context.Context, credential string) (Principal, error) {
	rest := strings.TrimPrefix(credential, AgentPrefix)
	idStr, secret, ok := strings.Cut(rest, "_")
	id, err := strconv.ParseInt(idStr, 10, 64)
	if !ok || err != nil || secret == "" {
		return Principal{}, unauthenticatedf("malformed agent credential")
	}
	var host, encoded string
	var revoked sql.NullInt64
	err = s.r.QueryRowContext(ctx, `SELECT h.name, a.credential, a.revoked_at FROM agents a JOIN hosts h ON h.id = a.host_id WHERE a.id = ?`, id).
		Scan(&host, &encoded, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, unauthenticatedf("unknown agent credential")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate agent: %w", err)
	}
	if !verifyArgon2id(encoded, secret) {
		return Principal{}, unauthenticatedf("unknown agent credential")
	}
	if revoked.Valid {
		return Principal{}, unauthenticatedf("the credential of agent %q was revoked", host)
	}
	return Principal{Kind: "agent", ID: id, Name: host, Role: RoleAgent}, nil
}

// Agents implements AgentStore.
func (s *sqlStore) Agents(ctx context.Context) ([]Agent, error) {
	var out []Agent
	err := queryRows(ctx, s.r, func(rows *sql.Rows) error {
		var a Agent
		var enrolled int64
		var seen, revoked sql.NullInt64
		if err := rows.Scan(&a.ID, &a.Host, &a.Version, &a.OS, &a.Arch, &enrolled, &seen, &revoked); err != nil {
			return err
		}
		a.EnrolledAt = time.UnixMilli(enrolled).UTC()
		if seen.Valid {
			a.LastSeenAt = time.UnixMilli(seen.Int64).UTC()
		}
		if revoked.Valid {
			a.RevokedAt = time.UnixMilli(revoked.Int64).UTC()
		}
		out = append(out, a)
		return nil
	}, `SELECT a.id, h.name, a.version, a.os, a.arch, a.enrolled_at, a.last_seen_at, a.revoked_at
		FROM agents a JOIN hosts h ON h.id = a.host_id ORDER BY a.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return out, nil
}

// RevokeAgent implements AgentStore.
func (s *sqlStore) RevokeAgent(ctx context.Context, host string) error {
	defer s.authCache.invalidate()
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agents SET revoked_at = ? WHERE revoked_at IS NULL AND host_id = (SELECT id FROM hosts WHERE name = ?)`,
			s.nowMillis(), host)
		if err != nil {
			return fmt.Errorf("revoke agent %q: %w", host, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFoundf("no enrolled agent for host %q", host)
		}
		return nil
	})
}

// AgentSeen implements AgentStore.
func (s *sqlStore) AgentSeen(ctx context.Context, agentID int64) {
	now := s.now()
	if !s.tokenUse.due(-agentID, now) { // negative keys: agents, apart from tokens
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 100*time.Millisecond)
	defer cancel()
	if _, err := s.w.ExecContext(ctx, `UPDATE agents SET last_seen_at = ? WHERE id = ?`, now.UnixMilli(), agentID); err != nil {
		s.logger.Warn("record agent last seen", "agent", agentID, "err", err)
	}
}

func encodeArgon2id(salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// verifyArgon2id checks secret against an encoded hash, with the hash's own
// parameters (so they can be raised later without invalidating agents).
func verifyArgon2id(encoded, secret string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<21 || t > 16 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || len(key) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(secret), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

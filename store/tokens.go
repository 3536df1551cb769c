package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// TokenPrefix starts every API token secret, so a leaked one is easy to
// recognise (secret scanners, logs) and a wrong string is refused early.
const TokenPrefix = "pht_"

// Token is an API token as listed; the secret is shown once, at creation.
type Token struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Owner is the user the token belongs to ("" for none); deleting the
	// user deletes the token.
	Owner      string    `json:"owner,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// Revoked reports whether the token was revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// TokenSpec is what creates a token.
type TokenSpec struct {
	Name string `json:"name"`
	// Role is admin, viewer or agent. A viewer's token cannot be admin.
	Role Role `json:"role"`
	// Owner is a user name; "" for a token of no user (agents).
	Owner string `json:"owner,omitempty"`
}

// TokenStore keeps API tokens. Revoked tokens stay listed (with RevokedAt)
// for audit; they never authenticate again.
type TokenStore interface {
	// Tokens returns every token, newest first.
	Tokens(ctx context.Context) ([]Token, error)
	// Token returns one token, or an error wrapping ErrNotFound.
	Token(ctx context.Context, id int64) (Token, error)
	// CreateToken makes a token and returns it with its secret, which is
	// not kept and cannot be shown again.
	CreateToken(ctx context.Context, spec TokenSpec) (Token, string, error)
	// RevokeToken revokes a token at once. Revoking twice is not an error.
	RevokeToken(ctx context.Context, id int64) error
}

// newSecret returns a token secret and the hash to store.
//
// The secret is 32 random bytes: guessing one is hopeless, so unlike a
// password it needs no slow, salted hash to resist brute force, and the
// store keeps SHA-256 of it. A fast hash lets every request authenticate
// with one indexed lookup (bcrypt would cost ~50 ms per request, and agents
// push every few seconds), while a stolen database still yields no usable
// token.
func newSecret() (secret string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func (t *TokenSpec) validate() error {
	if err := validName("token", t.Name); err != nil {
		return err
	}
	switch t.Role {
	case RoleAdmin, RoleViewer, RoleAgent:
	default:
		return invalidf("token %q: role must be admin, viewer or agent, not %q", t.Name, t.Role)
	}
	if t.Owner != "" && !nameRE.MatchString(t.Owner) {
		return invalidf("token %q: owner %q is not a valid user name", t.Name, t.Owner)
	}
	return nil
}

// insertToken writes a new token; owner is the user's id, if any.
func insertToken(ctx context.Context, tx *sql.Tx, spec TokenSpec, owner sql.NullInt64, now int64) (string, int64, error) {
	secret, hash := newSecret()
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (name, role, user_id, hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		spec.Name, string(spec.Role), owner, hash, now).Scan(&id); err != nil {
		return "", 0, fmt.Errorf("create token: %w", err)
	}
	return secret, id, nil
}

func loadTokens(ctx context.Context, q querier, id int64) ([]Token, error) {
	where, args := "", []any(nil)
	if id != 0 {
		where, args = " WHERE t.id = ?", []any{id}
	}
	var out []Token
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var t Token
		var owner sql.NullString
		var created int64
		var used, revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &owner, &created, &used, &revoked); err != nil {
			return err
		}
		t.Owner = owner.String
		t.CreatedAt = fromMillis(created)
		t.LastUsedAt = fromMillis(used.Int64)
		t.RevokedAt = fromMillis(revoked.Int64)
		out = append(out, t)
		return nil
	}, `SELECT t.id, t.name, t.role, u.name, t.created_at, t.last_used_at, t.revoked_at
		FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id`+where+` ORDER BY t.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("load tokens: %w", err)
	}
	return out, nil
}

// Tokens implements TokenStore.
func (s *sqlStore) Tokens(ctx context.Context) ([]Token, error) {
	out, err := loadTokens(ctx, s.r, 0)
	if out == nil && err == nil {
		out = []Token{}
	}
	return out, err
}

// Token implements TokenStore.
func (s *sqlStore) Token(ctx context.Context, id int64) (Token, error) {
	out, err := loadTokens(ctx, s.r, id)
	if err != nil {
		return Token{}, err
	}
	if len(out) == 0 || id == 0 {
		return Token{}, notFoundf("token %d not found", id)
	}
	return out[0], nil
}

// CreateToken implements TokenStore.
func (s *sqlStore) CreateToken(ctx context.Context, spec TokenSpec) (Token, string, error) {
	if err := spec.validate(); err != nil {
		return Token{}, "", err
	}
	var out Token
	var secret string
	err := s.write(ctx, func(tx *sql.Tx) error {
		var owner sql.NullInt64
		if spec.Owner != "" {
			u, err := userByName(ctx, tx, spec.Owner)
			if errors.Is(err, ErrNotFound) {
				return invalidf("token %q: unknown owner %q", spec.Name, spec.Owner)
			}
			if err != nil {
				return err
			}
			if u.Role == RoleViewer && spec.Role == RoleAdmin {
				return invalidf("token %q: user %q is a viewer and cannot own an admin token", spec.Name, spec.Owner)
			}
			owner = sql.NullInt64{Int64: u.ID, Valid: true}
		}
		var id int64
		var err error
		secret, id, err = insertToken(ctx, tx, spec, owner, s.nowMillis())
		if err != nil {
			return err
		}
		ts, err := loadTokens(ctx, tx, id)
		if err != nil {
			return err
		}
		out = ts[0]
		return nil
	})
	if err != nil {
		return Token{}, "", err
	}
	return out, secret, nil
}

// RevokeToken implements TokenStore.
func (s *sqlStore) RevokeToken(ctx context.Context, id int64) error {
	defer s.authCache.invalidate()
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, s.nowMillis(), id)
		if err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFoundf("token %d not found", id)
		}
		return nil
	})
}

// Authenticate implements Store. Valid tokens are cached in memory (every
// request authenticates; the agent results endpoint thousands of times a
// second), and the cache is dropped whenever a token or user changes, so a
// revocation takes effect at once. Otherwise: one indexed lookup of the
// secret's hash on the read pool.
func (s *sqlStore) Authenticate(ctx context.Context, secret string) (Principal, error) {
	isAgent := strings.HasPrefix(secret, AgentPrefix)
	if (!isAgent && !strings.HasPrefix(secret, TokenPrefix)) || len(secret) > 128 {
		return Principal{}, unauthenticatedf("not a Prophasis API token (they start with %q)", TokenPrefix)
	}
	hash := sha256.Sum256([]byte(secret))
	p, gen, ok := s.authCache.get(hash)
	if ok {
		if isAgent {
			s.AgentSeen(ctx, p.ID)
		} else {
			s.touchToken(ctx, p.ID)
		}
		return p, nil
	}
	if isAgent {
		p, err := s.authenticateAgent(ctx, secret)
		if err != nil {
			return Principal{}, err
		}
		s.authCache.put(hash, p, gen)
		s.AgentSeen(ctx, p.ID)
		return p, nil
	}
	var role string
	var revoked sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, role, revoked_at FROM api_tokens WHERE hash = ?`, hash[:]).
		Scan(&p.ID, &p.Name, &role, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, unauthenticatedf("unknown API token")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if revoked.Valid {
		return Principal{}, unauthenticatedf("API token %q was revoked", p.Name)
	}
	p.Kind, p.Role = "token", Role(role)
	s.authCache.put(hash, p, gen)
	s.touchToken(ctx, p.ID)
	return p, nil
}

// authCache holds the principals of valid tokens by secret hash. gen counts
// invalidations: a lookup that started before one must not fill the cache
// with what it read, which may be the row from before the change.
type authCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[[sha256.Size]byte]Principal
}

// maxCachedTokens bounds the cache; beyond it lookups go to the database.
const maxCachedTokens = 10_000

func (c *authCache) get(h [sha256.Size]byte) (Principal, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[h]
	return p, c.gen, ok
}

func (c *authCache) put(h [sha256.Size]byte, p Principal, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || len(c.m) >= maxCachedTokens {
		return
	}
	if c.m == nil {
		c.m = map[[sha256.Size]byte]Principal{}
	}
	c.m[h] = p
}

// invalidate empties the cache; call it after committing a change to a
// token or a user.
func (c *authCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// tokenUse throttles the writes of last_used_at to one per token per
// minute: authentication runs on every request, and a write per request
// would put every read behind the single writer.
type tokenUse struct {
	mu   sync.Mutex
	last map[int64]time.Time
}

const tokenUseResolution = time.Minute

func (u *tokenUse) init() { u.last = map[int64]time.Time{} }

// due reports whether token id's last use should be written now.
func (u *tokenUse) due(id int64, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now.Sub(u.last[id]) < tokenUseResolution {
		return false
	}
	u.last[id] = now
	return true
}

// touchToken records that a token was used. It waits at most 100 ms for the
// writer: last use is informative and must never hold up a request.
func (s *sqlStore) touchToken(ctx context.Context, id int64) {
	now := s.now()
	if !s.tokenUse.due(id, now) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 100*time.Millisecond)
	defer cancel()
	if _, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now.UnixMilli(), id); err != nil {
		s.logger.Debug("record token use", "token_id", id, "err", err)
	}
}

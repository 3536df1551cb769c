package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

// SessionCookie is the name of the web UI's session cookie. Its value is the
// session id: 256 random bits, which the server keeps only as SHA-256.
const SessionCookie = "prophasis_session"

// CSRFHeader carries the CSRF token on every request authenticated by the
// session cookie whose method is not GET, HEAD or OPTIONS.
const CSRFHeader = "X-CSRF-Token"

// csrfSecretName names the server secret that keys CSRF tokens.
const csrfSecretName = "csrf"

// maxLoginBytes bounds a login request: a name and a password of at most 72
// bytes fit many times over.
const maxLoginBytes = 4 << 10

// SessionBackend is what sessions need from the store: users' passwords and
// the sessions themselves. Implementations must be safe for concurrent use.
type SessionBackend interface {
	store.SessionStore
	CheckPassword(ctx context.Context, name, password string) (store.Principal, error)
}

// Sessions logs web UI users in and out and authenticates the session
// cookie for Middleware. Create one with NewSessions; safe for concurrent
// use.
type Sessions struct {
	st      SessionBackend
	logger  *slog.Logger
	limiter *limiter

	keyMu sync.Mutex
	key   []byte // the CSRF key, loaded from the store on first use
}

// NewSessions returns the session handling over st.
func NewSessions(st SessionBackend, logger *slog.Logger) *Sessions {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sessions{st: st, logger: logger.With("component", "session"), limiter: newLimiter(loginFailures, loginWindow)}
}

// SessionInfo is the body of the session endpoints: who is logged in, and
// the CSRF token to send in X-CSRF-Token.
type SessionInfo struct {
	User      string     `json:"user"`
	Role      store.Role `json:"role"`
	CSRFToken string     `json:"csrf_token"`
	// ExpiresAt is the absolute end of the session; it ends sooner after
	// store.SessionIdleTimeout without a request.
	ExpiresAt time.Time `json:"expires_at"`
}

// Register mounts POST (log in), GET (who am I) and DELETE (log out) on g,
// which must not be behind Middleware: logging in needs no credential, and
// the other two read the cookie themselves.
func (s *Sessions) Register(g *gin.RouterGroup) {
	g.POST("", s.login)
	g.GET("", s.whoami)
	g.DELETE("", s.logout)
}

// csrfToken derives a session's CSRF token: HMAC-SHA256(server secret,
// session id), hex. Nothing to store, and it cannot be computed without the
// session id, which script on another origin never sees.
func (s *Sessions) csrfToken(ctx context.Context, id string) (string, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key == nil {
		k, err := s.st.ServerSecret(ctx, csrfSecretName)
		if err != nil {
			return "", err
		}
		s.key = k
	}
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)), nil
}

func (s *Sessions) info(ctx context.Context, id string, sess store.Session) (SessionInfo, error) {
	tok, err := s.csrfToken(ctx, id)
	if err != nil {
		return SessionInfo{}, err
	}
	return SessionInfo{User: sess.Principal.Name, Role: sess.Principal.Role, CSRFToken: tok, ExpiresAt: sess.ExpiresAt}, nil
}

var errLogin = errors.New("wrong user name or password")

func (s *Sessions) login(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	// JSON only: a cross-site HTML form cannot send it, so no other site can
	// log a visitor in to an account of its choosing (login CSRF).
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt != "application/json" {
		envelope.FailWith(c, envelope.ErrBadData, errors.New(`send the credentials as JSON, {"user": ..., "password": ...}, with Content-Type: application/json`))
		return
	}
	var in struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxLoginBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		envelope.FailWith(c, envelope.ErrBadData, fmt.Errorf(`login body: %w; want {"user": ..., "password": ...}`, err))
		return
	}
	if in.User == "" || in.Password == "" {
		envelope.FailWith(c, envelope.ErrBadData, errors.New("user and password are required"))
		return
	}
	addr := clientKey(c.Request.RemoteAddr)
	userKey := "user:" + in.User
	if blocked, wait := s.limiter.blocked(userKey, addr); blocked {
		secs := int((wait + time.Second - 1) / time.Second)
		c.Header("Retry-After", strconv.Itoa(secs))
		c.AbortWithStatusJSON(http.StatusTooManyRequests, envelope.Response{
			Status: "error", ErrorType: "too_many_requests",
			Error: fmt.Sprintf("too many failed logins; try again in %d s", secs),
		})
		return
	}
	ctx := c.Request.Context()
	p, err := s.st.CheckPassword(ctx, in.User, in.Password)
	if errors.Is(err, store.ErrUnauthenticated) {
		reached := s.limiter.fail(userKey, addr)
		// Never the password: not even a wrong one (it is often the right
		// one with a typo, or another account's).
		s.logger.Warn("login failed", "user", in.User, "client", c.Request.RemoteAddr, "throttled_now", reached)
		envelope.FailWith(c, envelope.ErrAuth, errLogin)
		return
	}
	if err != nil {
		envelope.Fail(c, err)
		return
	}
	id, sess, err := s.st.CreateSession(ctx, p.ID)
	if err != nil {
		envelope.Fail(c, err)
		return
	}
	info, err := s.info(ctx, id, sess)
	if err != nil {
		envelope.Fail(c, err)
		return
	}
	s.limiter.forget(userKey)
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     SessionCookie,
		Value:    id,
		Path:     "/",
		MaxAge:   int(store.SessionMaxAge / time.Second),
		HttpOnly: true,
		// Secure only when this request came over TLS: a plain-HTTP
		// server's cookie would otherwise never come back. Behind a
		// TLS-terminating proxy the browser sees https, but the server
		// does not; see docs/server.md.
		Secure:   c.Request.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	s.logger.Info("login", "user", p.Name, "role", p.Role, "client", c.Request.RemoteAddr)
	envelope.OK(c, info)
}

// session returns the live session of the request's cookie, with its id.
func (s *Sessions) session(c *gin.Context) (string, store.Session, error) {
	ck, err := c.Request.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return "", store.Session{}, fmt.Errorf("not logged in: %w", store.ErrUnauthenticated)
	}
	sess, err := s.st.Session(c.Request.Context(), ck.Value)
	return ck.Value, sess, err
}

func (s *Sessions) whoami(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	id, sess, err := s.session(c)
	if err != nil {
		s.refuse(c, err)
		return
	}
	info, err := s.info(c.Request.Context(), id, sess)
	if err != nil {
		envelope.Fail(c, err)
		return
	}
	envelope.OK(c, info)
}

func (s *Sessions) logout(c *gin.Context) {
	id, sess, err := s.session(c)
	if err == nil {
		if !s.checkCSRF(c, id) {
			return
		}
		if err := s.st.DeleteSession(c.Request.Context(), id); err != nil {
			envelope.Fail(c, err)
			return
		}
		s.logger.Info("logout", "user", sess.Principal.Name, "client", c.Request.RemoteAddr)
	} else if !errors.Is(err, store.ErrUnauthenticated) {
		envelope.Fail(c, err)
		return
	}
	// Logging out of an ended session is done already: say so, and drop
	// the cookie either way.
	clearCookie(c)
	envelope.OK(c, nil)
}

// authenticate is Middleware's path for a request carrying the session
// cookie and no other credential.
func (s *Sessions) authenticate(c *gin.Context, id string) {
	sess, err := s.st.Session(c.Request.Context(), id)
	if err != nil {
		s.refuse(c, err)
		return
	}
	if !safeMethod(c.Request.Method) && !s.checkCSRF(c, id) {
		return
	}
	c.Set(principalKey, sess.Principal)
	c.Next()
}

// checkCSRF refuses, with 403, a request without the session's CSRF token.
func (s *Sessions) checkCSRF(c *gin.Context, id string) bool {
	want, err := s.csrfToken(c.Request.Context(), id)
	if err != nil {
		envelope.Fail(c, err)
		return false
	}
	got := c.GetHeader(CSRFHeader)
	if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		envelope.FailWith(c, envelope.ErrForbidden, errors.New(
			"missing or wrong "+CSRFHeader+" header: requests authenticated by the session cookie, other than GET and HEAD, "+
				"must send the csrf_token that POST or GET /manage/v1/session returns"))
		return false
	}
	return true
}

// refuse answers a request whose session is unknown or ended (401, and the
// cookie is dropped) or could not be looked up.
func (s *Sessions) refuse(c *gin.Context, err error) {
	if errors.Is(err, store.ErrUnauthenticated) {
		if _, cerr := c.Request.Cookie(SessionCookie); cerr == nil {
			clearCookie(c)
		}
		envelope.FailWith(c, envelope.ErrAuth, errors.New("not logged in, or the session ended: log in again"))
		return
	}
	envelope.Fail(c, err)
}

func clearCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.Request.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Package auth is the authentication and authorisation middleware of every
// Prophasis HTTP endpoint: it turns a credential (an API token as a bearer
// token or as the password of HTTP basic auth, or the web UI's session
// cookie) into a store.Principal and refuses requests whose principal lacks
// the role a route needs. It also logs web UI users in and out (Sessions)
// and enforces CSRF protection on what the session cookie authenticates.
//
// Only package api and its sub-packages import it.
package auth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

// Authenticator resolves a secret to the principal it belongs to. It returns an
// error wrapping store.ErrUnauthenticated for unknown or revoked secrets.
// Implementations must be safe for concurrent use.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (store.Principal, error)
}

const principalKey = "prophasis.principal"

// Options tune the middleware.
type Options struct {
	// LoopbackReads lets unauthenticated requests from a loopback address read
	// (role viewer), so a Grafana on the same machine needs no token.
	LoopbackReads bool
	// Sessions, when set, accepts the web UI's session cookie: the user's
	// principal, with a CSRF token required on every request but GET, HEAD
	// and OPTIONS. An Authorization header wins over the cookie.
	Sessions *Sessions
}

// Middleware authenticates every request. A request without a credential is
// refused with 401 unless LoopbackReads lets it through as a viewer; a request
// with a bad credential (an unknown token, an ended session) is always
// refused.
func Middleware(a Authenticator, opts Options) gin.HandlerFunc {
	return func(c *gin.Context) {
		secret := credential(c.Request)
		if secret == "" && opts.Sessions != nil {
			if ck, err := c.Request.Cookie(SessionCookie); err == nil && ck.Value != "" {
				opts.Sessions.authenticate(c, ck.Value)
				return
			}
		}
		if secret == "" {
			if opts.LoopbackReads && isLoopback(c.Request.RemoteAddr) {
				c.Set(principalKey, store.Principal{Kind: "loopback", Name: "loopback", Role: store.RoleViewer})
				c.Next()
				return
			}
			c.Header("WWW-Authenticate", `Bearer realm="prophasis"`)
			envelope.FailWith(c, envelope.ErrAuth, errors.New("authentication required: send an API token as 'Authorization: Bearer TOKEN'"))
			return
		}
		p, err := a.Authenticate(c.Request.Context(), secret)
		if err != nil {
			if errors.Is(err, store.ErrUnauthenticated) {
				c.Header("WWW-Authenticate", `Bearer realm="prophasis", error="invalid_token"`)
				envelope.FailWith(c, envelope.ErrAuth, errors.New("invalid or revoked token"))
				return
			}
			envelope.Fail(c, err)
			return
		}
		c.Set(principalKey, p)
		c.Next()
	}
}

// Require refuses, with 403, principals whose role is not one of roles.
// It must run after Middleware.
func Require(roles ...store.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := PrincipalOf(c)
		if !ok {
			envelope.FailWith(c, envelope.ErrAuth, errors.New("authentication required"))
			return
		}
		for _, r := range roles {
			if p.Role == r {
				c.Next()
				return
			}
		}
		envelope.FailWith(c, envelope.ErrForbidden, errors.New("role "+string(p.Role)+" may not do this"))
	}
}

// PrincipalOf returns the principal Middleware established.
func PrincipalOf(c *gin.Context) (store.Principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return store.Principal{}, false
	}
	p, ok := v.(store.Principal)
	return p, ok
}

// credential extracts the secret from "Authorization: Bearer T" or from the
// password of basic auth (Grafana's data source offers both).
func credential(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if h == "" {
		return ""
	}
	if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(rest)
	}
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	return ""
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

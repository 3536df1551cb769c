// Package agentapi serves the agent API under /agent/v1: the endpoints
// prophasis-agent talks to. Enrolment (a one-time token for a credential),
// the plan (long-polled with an ETag), plugin packages by hash, and results.
package agentapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// Deps are what the agent API serves from.
type Deps struct {
	Store  store.Store
	Ingest *ingest.Ingester
	Logger *slog.Logger
	// CACert is the PEM certificate of the CA behind the server's TLS
	// certificate, handed to agents at enrolment for pinning; "" for none.
	CACert string
	// Packages serves plugin packages by hash; nil serves none (404).
	Packages *plugins.Packages
	// Reach keeps the agents' mesh views (POST /mesh-view) and gives the
	// plan its mesh seeds; nil answers mesh views 503.
	Reach *reach.Views
}

// Limits of the agent API.
const (
	maxEnrollBody = 4 << 10
	// maxWait bounds a plan long poll; proxies commonly cut idle requests
	// at 60 s.
	maxWait     = 55 * time.Second
	defaultWait = 30 * time.Second
)

// Register mounts the agent API: enrolment on open (it authenticates with
// its one-time token itself), everything else on authed (behind
// auth.Middleware). The server mounts both at /agent/v1.
func Register(open, authed *gin.RouterGroup, d Deps) {
	h := &handler{Deps: d, logger: d.Logger.With("component", "agentapi")}
	h.presence = newPresence(disconnectGrace, h.systemLog)
	open.POST("/enroll", h.enroll)
	authed.POST("/results", auth.Require(store.RoleAgent, store.RoleAdmin), h.seen, h.results)
	authed.GET("/plan", auth.Require(store.RoleAgent, store.RoleAdmin), h.seen, h.plan)
	authed.GET("/plugins/:sha256", auth.Require(store.RoleAgent, store.RoleAdmin), h.seen, h.pluginPackage)
	authed.POST("/mesh-view", auth.Require(store.RoleAgent, store.RoleAdmin), h.seen, h.meshView)
}

type handler struct {
	Deps
	logger *slog.Logger
	// skipLog remembers the skipped runs already in the system log, so
	// a plan compiled at every poll logs each once per server run.
	skipMu  sync.Mutex
	skipLog map[skipped]bool
	// presence logs agents connecting and disconnecting.
	presence *presence
}

// systemLog appends one entry to the system log (what the UI's System log
// page shows), logging a failure to write it.
func (h *handler) systemLog(e store.LogEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Store.AppendSystemLog(ctx, []store.LogEntry{e}); err != nil {
		h.logger.Warn("system log", "err", err)
	}
}

// enroll trades a one-time enrolment token (bearer) for an agent credential.
func (h *handler) enroll(c *gin.Context) {
	token := strings.TrimSpace(strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer "))
	var req wire.EnrollRequest
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxEnrollBody+1))
	if err != nil || len(body) > maxEnrollBody {
		envelope.FailWith(c, envelope.ErrBadData, fmt.Errorf("enrolment request over %d bytes", maxEnrollBody))
		return
	}
	if err := decodeStrict(body, &req); err != nil {
		envelope.FailWith(c, envelope.ErrBadData, fmt.Errorf("decode enrolment request: %w", err))
		return
	}
	host, cred, err := h.Store.Enroll(c.Request.Context(), token, store.AgentInfo{Version: req.Version, OS: req.OS, Arch: req.Arch})
	if err != nil {
		switch {
		case errors.Is(err, store.ErrUnauthenticated):
			h.logger.Warn("enrolment refused", "host", req.Host, "remote", c.ClientIP(), "err", err)
			envelope.FailWith(c, envelope.ErrAuth, errors.New(strings.TrimPrefix(err.Error(), "enrol: ")))
		case errors.Is(err, store.ErrInvalid):
			envelope.FailWith(c, envelope.ErrBadData, err)
		default:
			envelope.Fail(c, err)
		}
		return
	}
	if req.Host != "" && req.Host != host {
		// The token decides the host; an agent calling itself otherwise is
		// told, and enrolled as the token's host.
		h.logger.Info("agent enrolled under the token's host name", "reported", req.Host, "host", host)
	}
	h.logger.Info("agent enrolled", "host", host, "version", req.Version, "os", req.OS, "arch", req.Arch, "remote", c.ClientIP())
	h.systemLog(store.LogEntry{Time: time.Now().UnixMilli(), Level: "info", Component: "agent", Host: host,
		Message: fmt.Sprintf("agent %s enrolled from %s (version %s, %s/%s)", host, c.ClientIP(), req.Version, req.OS, req.Arch)})
	envelope.OK(c, wire.EnrollResponse{Host: host, Credential: cred, CACert: h.CACert})
}

// plan serves the agent's plan. With If-None-Match equal to the current
// ETag it waits (up to ?wait=, default 30 s) for the configuration to
// change, and answers 304 if it did not.
func (h *handler) plan(c *gin.Context) {
	p, _ := auth.PrincipalOf(c)
	host := p.Name
	if p.Kind == "agent" {
		defer h.presence.poll(host)()
	} else {
		// Admins may look at any host's plan.
		if host = c.Query("host"); host == "" {
			envelope.FailWith(c, envelope.ErrBadData, errors.New("host parameter required (agents get their own plan)"))
			return
		}
	}
	wait := defaultWait
	if s := c.Query("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			envelope.FailWith(c, envelope.ErrBadData, fmt.Errorf("wait %q is not a duration like 30s", s))
			return
		}
		wait = min(d, maxWait)
	}
	ctx := c.Request.Context()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		// Watch before compiling, so a change during compilation is not missed.
		changed := h.Store.ConfigChanged()
		var seeds <-chan struct{}
		if h.Reach != nil {
			seeds = h.Reach.SeedsChanged()
		}
		plan, etag, skips, err := compilePlan(ctx, h.Store, host)
		if err == nil {
			etag, err = addMesh(ctx, h.Store, h.Reach, host, &plan, etag)
		}
		if err != nil {
			envelope.Fail(c, err)
			return
		}
		h.logSkipped(ctx, host, skips)
		if p.Kind != "agent" {
			fingerprintKeys(plan.Mesh)
		}
		if c.GetHeader("If-None-Match") != etag {
			c.Header("ETag", etag)
			envelope.OK(c, plan)
			return
		}
		select {
		case <-changed:
		case <-seeds: // a new agent joined the mesh: a new seed
		case <-deadline.C:
			c.Header("ETag", etag)
			c.Status(http.StatusNotModified)
			return
		case <-ctx.Done():
			return
		}
	}
}

// results stores a batch: POST /agent/v1/results with a wire.Batch as JSON
// (optionally gzip), answered with a wire.BatchResponse in the envelope. An
// agent may push results of its own host only.
func (h *handler) results(c *gin.Context) {
	batch, err := h.Ingest.DecodeBatch(c.Request.Body, c.GetHeader("Content-Encoding"))
	if err != nil {
		switch {
		case errors.Is(err, ingest.ErrTooLarge):
			envelope.FailWith(c, envelope.ErrTooLarge, err)
		default:
			envelope.FailWith(c, envelope.ErrBadData, err)
		}
		return
	}
	if p, _ := auth.PrincipalOf(c); p.Kind == "agent" {
		for i := range batch.Results {
			if batch.Results[i].Host != p.Name {
				envelope.FailWith(c, envelope.ErrForbidden, fmt.Errorf("results[%d]: the agent of %q may push results of %q only, not %q",
					i, p.Name, p.Name, batch.Results[i].Host))
				return
			}
		}
	}
	resp, err := h.Ingest.WriteBatch(c.Request.Context(), batch)
	if err != nil {
		h.logger.Error("write batch", "err", err, "results", len(batch.Results))
		envelope.FailWith(c, envelope.ErrUnavailable, errors.New("storage failed to write the batch; nothing was acknowledged, retry later"))
		return
	}
	envelope.OK(c, resp)
}

// pluginPackage serves a plugin package by its SHA-256:
// GET /agent/v1/plugins/{sha256}, the .tar.gz as application/gzip, 404 when
// the server holds no such package. The agent checks the hash itself.
func (h *handler) pluginPackage(c *gin.Context) {
	sha := c.Param("sha256")
	if h.Packages == nil {
		envelope.FailWith(c, envelope.ErrNotFound, fmt.Errorf("no plugin package %s: this server keeps none", sha))
		return
	}
	f, err := h.Packages.Open(sha)
	if errors.Is(err, plugins.ErrNoPackage) {
		envelope.FailWith(c, envelope.ErrNotFound, err)
		return
	}
	if err != nil {
		envelope.Fail(c, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		envelope.Fail(c, err)
		return
	}
	// Content-addressed: the bytes behind a hash never change.
	c.Header("Cache-Control", "private, max-age=31536000, immutable")
	c.Header("ETag", `"`+sha+`"`)
	c.DataFromReader(http.StatusOK, fi.Size(), "application/gzip", f, nil)
}

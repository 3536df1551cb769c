// Package api is the HTTP face of the Prophasis server: it assembles the
// agent API (/agent/v1), the Prometheus-compatible API (/api/v1), the
// management API (/manage/v1), self-metrics (/metrics), health checks (/-/)
// the web UI's login sessions (/manage/v1/session) and the embedded web UI
// (/) on one gin engine, with authentication on every endpoint but the
// health checks, the login and the UI's static files.
//
// It imports ingest, tsdb, rules, store and plugins; only cmd and server
// import it.
package api

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/prophasis/prophasis/api/agentapi"
	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/store"
)

// MaxRequestBytes is a backstop bound on every request body; endpoints set
// tighter ones of their own.
const MaxRequestBytes = 64 << 20

// Deps are the parts the API serves.
type Deps struct {
	Logger *slog.Logger
	Store  store.Store
	Ingest *ingest.Ingester
	// Gatherer holds the TSDB's and PromQL engine's Prometheus metrics, served
	// at /metrics beside Prophasis's own.
	Gatherer prometheus.Gatherer
	// UI is the web UI's files; nil serves none.
	UI   fs.FS
	Auth auth.Options
	// CACert is the PEM CA certificate agents pin at enrolment ("" over
	// plain HTTP).
	CACert string
	// Packages holds plugin packages, served to agents by hash; nil serves
	// none.
	Packages *plugins.Packages
	// Reach keeps the agents' mesh views (POST /agent/v1/mesh-view); nil
	// keeps none.
	Reach *reach.Views
	// Routes adds further route groups (the query and management APIs) to the
	// authenticated router.
	Routes []func(authed *gin.RouterGroup)
}

func init() { gin.SetMode(gin.ReleaseMode) }

// New returns the HTTP handler of the server.
func New(d Deps) http.Handler {
	logger := d.Logger.With("component", "api")
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	r.Use(recovery(logger), instrument, limitBody)
	notFound := func(c *gin.Context) {
		envelope.FailWith(c, envelope.ErrNotFound, errors.New("no endpoint at "+c.Request.URL.Path))
	}
	if d.UI != nil {
		r.NoRoute(uiRoutes(d.UI, notFound))
	} else {
		r.NoRoute(notFound)
	}
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, envelope.Response{
			Status: "error", ErrorType: envelope.ErrBadData,
			Error: c.Request.Method + " is not allowed on " + c.Request.URL.Path,
		})
	})

	// Health checks carry no data and stay open for load balancers.
	r.GET("/-/healthy", func(c *gin.Context) { c.String(http.StatusOK, "Prophasis is Healthy.\n") })
	r.GET("/-/ready", func(c *gin.Context) { c.String(http.StatusOK, "Prophasis is Ready.\n") })

	// Web UI sessions: when the store keeps them, the session cookie is a
	// credential beside API tokens.
	authOpts := d.Auth
	if sb, ok := d.Store.(auth.SessionBackend); ok && authOpts.Sessions == nil {
		authOpts.Sessions = auth.NewSessions(sb, d.Logger)
	}
	if authOpts.Sessions != nil {
		authOpts.Sessions.Register(r.Group("/manage/v1/session"))
	}
	authed := r.Group("/", auth.Middleware(d.Store, authOpts))
	agentapi.Register(r.Group("/agent/v1"), authed.Group("/agent/v1"), agentapi.Deps{
		Store: d.Store, Ingest: d.Ingest, Logger: d.Logger, CACert: d.CACert, Packages: d.Packages,
		Reach: d.Reach,
	})
	rw := gin.WrapH(d.Ingest.RemoteWriteHandler())
	authed.POST("/api/v1/write", auth.Require(store.RoleAgent, store.RoleAdmin), rw)
	authed.GET("/metrics", auth.Require(store.RoleAdmin, store.RoleViewer), selfMetrics(d.Gatherer))
	for _, add := range d.Routes {
		add(authed)
	}
	if d.UI != nil {
		serveUI(r, d.UI)
	}
	return r
}

// selfMetrics writes Prophasis's own metrics (VictoriaMetrics/metrics) and
// the TSDB's (client_golang) in the Prometheus text format.
func selfMetrics(g prometheus.Gatherer) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		metrics.WritePrometheus(c.Writer, true)
		if g == nil {
			return
		}
		mfs, err := g.Gather()
		if err != nil {
			c.Writer.WriteString("# gather error: " + strconv.Quote(err.Error()) + "\n")
		}
		enc := expfmt.NewEncoder(c.Writer, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			_ = enc.Encode(mf)
		}
	}
}

func limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxRequestBytes)
	}
	c.Next()
}

var inFlight = metrics.NewGauge(`prophasis_http_requests_in_flight`, nil)

// instrument counts requests and their durations per route and status.
func instrument(c *gin.Context) {
	start := time.Now()
	inFlight.Inc()
	defer inFlight.Dec()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	code := strconv.Itoa(c.Writer.Status())
	metrics.GetOrCreateCounter(`prophasis_http_requests_total{route="` + route + `",code="` + code + `"}`).Inc()
	metrics.GetOrCreateHistogram(`prophasis_http_request_duration_seconds{route="` + route + `"}`).UpdateDuration(start)
}

// recovery turns a handler panic into a 500 and a log line, so one bad
// request never takes the server down.
func recovery(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.Error("handler panic", "panic", v, "path", c.Request.URL.Path)
				envelope.FailWith(c, envelope.ErrInternal, errors.New("internal error: the server log has the details"))
			}
		}()
		c.Next()
	}
}

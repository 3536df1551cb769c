// Package promapi serves Prometheus's HTTP query API — /api/v1/query,
// query_range, series, labels, label/<name>/values, metadata, query_exemplars,
// format_query and the status endpoints Grafana probes — over any
// storage.Queryable and PromQL engine.
//
// It is exact enough that Grafana's Prometheus data source, promtool and
// github.com/prometheus/client_golang/api/prometheus/v1 work against Prophasis
// unchanged: the same parameters parsed the same way, the same error types,
// HTTP statuses and messages, the same envelope and result JSON, byte for
// byte. It follows Prometheus's web/api/v1/api.go without importing it, which
// would drag in scrape, rules and notifier.
//
// Query results are written by a hand-rolled appending encoder, streamed to
// the client while they are encoded (see encode.go and respond.go): on large
// range queries this is where the time goes once the engine is done.
//
// The server's wiring imports this package and mounts Register on /api/v1
// behind auth.Middleware; nothing else should.
package promapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
)

// Deps is what the API reads from. Queryable, Engine and Parser are required;
// every other field is optional. All of them must be safe for concurrent use:
// handlers call them from many goroutines at once.
type Deps struct {
	// Queryable is the storage queries and series look-ups read.
	Queryable storage.Queryable
	// Engine evaluates PromQL over Queryable.
	Engine promql.QueryEngine
	// Parser parses match[] selectors and format_query/query_exemplars
	// expressions. It must have the engine's options (experimental functions
	// on), so a query that runs can also be formatted.
	Parser parser.Parser
	// Exemplars opens an exemplar querier. Nil serves an empty list.
	Exemplars func(ctx context.Context) (storage.ExemplarQuerier, error)
	// Head reports the head block's statistics for /status/tsdb. Nil reports zeros.
	Head func() tsdb.HeadStats
	// Metadata lists the metadata (type, help, unit) of metric families for
	// /metadata, keyed by metric name. Nil serves BuiltinMetadata.
	Metadata func() map[string][]Metadata
	// Build is what /status/buildinfo reports.
	Build BuildInfo
	// Retention is reported by /status/runtimeinfo; zero reports nothing.
	Retention time.Duration
	// StartTime is the server's start, reported by /status/runtimeinfo;
	// zero means when Register was called.
	StartTime time.Time
	// Alerting serves /alerts and /rules; nil serves empty lists.
	Alerting Alerting
	// Logger receives the API's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock that gives /query its default time; nil is time.Now.
	Now func() time.Time
	// DisableCompression turns off gzip of responses. Prometheus compresses
	// whenever the client accepts gzip; this API does too, at the fastest
	// level, except for clients on the same machine (see compress.go). Turn
	// it off when a proxy in front compresses.
	DisableCompression bool
}

// BuildInfo is the build of the running server, as /status/buildinfo reports
// it (Prometheus's field names).
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// api holds the handlers' dependencies, defaults applied.
type api struct {
	queryable storage.Queryable
	engine    promql.QueryEngine
	parser    parser.Parser
	exemplars func(ctx context.Context) (storage.ExemplarQuerier, error)
	head      func() tsdb.HeadStats
	metadata  func() map[string][]Metadata
	build     BuildInfo
	retention time.Duration
	start     time.Time
	logger    *slog.Logger
	now       func() time.Time
	alerting  Alerting
	// spare are the cores range queries may borrow (split.go).
	spare spareCores
}

// Register installs the Prometheus API's routes on g, which the server mounts
// at /api/v1 behind auth.Middleware. Every route requires the admin or viewer
// role. It panics if a required dependency is missing: that is a wiring bug.
func Register(g *gin.RouterGroup, d Deps) {
	if d.Queryable == nil || d.Engine == nil || d.Parser == nil {
		panic("BUG: promapi.Register needs Deps.Queryable, Deps.Engine and Deps.Parser")
	}
	a := &api{
		queryable: d.Queryable,
		engine:    d.Engine,
		parser:    d.Parser,
		exemplars: d.Exemplars,
		head:      d.Head,
		metadata:  d.Metadata,
		build:     d.Build,
		retention: d.Retention,
		start:     d.StartTime,
		logger:    d.Logger,
		now:       d.Now,
		alerting:  d.Alerting,
		spare:     defaultSpareCores,
	}
	if a.metadata == nil {
		a.metadata = BuiltinMetadata
	}
	if a.start.IsZero() {
		a.start = time.Now()
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	a.logger = a.logger.With("component", "promapi")
	if a.now == nil {
		a.now = time.Now
	}

	pre := []gin.HandlerFunc{auth.Require(store.RoleAdmin, store.RoleViewer)}
	if !d.DisableCompression {
		pre = append(pre, compress)
	}
	with := func(h gin.HandlerFunc) []gin.HandlerFunc {
		return append(pre[:len(pre):len(pre)], h)
	}
	// Prometheus accepts POST (form-encoded) where a query may be too long
	// for a URL; Grafana and client_golang POST by default.
	getPost := func(path string, h gin.HandlerFunc) {
		g.GET(path, with(h)...)
		g.POST(path, with(h)...)
	}

	getPost("/query", a.query)
	getPost("/query_range", a.queryRange)
	getPost("/query_exemplars", a.queryExemplars)
	getPost("/format_query", a.formatQuery)
	getPost("/labels", a.labelNames)
	g.GET("/label/:name/values", with(a.labelValues)...)
	getPost("/series", a.series)
	g.GET("/metadata", with(a.metricMetadata)...)

	g.GET("/status/buildinfo", with(a.buildInfo)...)
	g.GET("/status/runtimeinfo", with(a.runtimeInfo)...)
	g.GET("/status/tsdb", with(a.tsdbStatus)...)
	g.GET("/status/config", with(a.config)...)
	g.GET("/status/flags", with(a.flags)...)
	g.GET("/targets", with(a.targets)...)
	g.GET("/alertmanagers", with(a.alertmanagers)...)
	g.GET("/alerts", with(a.alerts)...)
	g.GET("/rules", with(a.rules)...)
}

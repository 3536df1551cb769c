// Package manage is the management REST API of Prophasis: create, read,
// update and delete hosts, host groups, plugins, schedules, checks, services,
// alert rules, trend rules, silences, dashboards, alert modules (secrets redacted),
// plugin versions (upload, list with the hosts running each, rollback,
// delete), users and API tokens; read the message log, the rules engine's events and
// the system log; apply and export the configuration as one document
// (configuration as code); show the rules engine's current states, test
// classifiers and backtest trend rules; show open alerts, acknowledge them,
// read the alert history and test alert modules.
//
// The server mounts it at /manage/v1 on a router group that already runs
// auth.Middleware; Register adds the role checks: reading needs role viewer
// or admin, writing (and anything about users and tokens) needs admin. Every
// JSON response is in the envelope of package envelope. openapi.yaml, served
// at GET /manage/v1/openapi.yaml, documents every route; a test keeps the two
// in step.
//
// It imports api/auth, api/envelope, store, rules (and rules/alert) and
// plugins; only the server's wiring imports it.
package manage

import (
	"context"
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/store"
)

// Body limits. An entity is small; a configuration document may list
// thousands of hosts.
const (
	maxEntityBytes   = 1 << 20
	maxDocumentBytes = store.MaxDocumentBytes
)

// handlers holds what every handler needs.
type handlers struct {
	st   store.Store
	msgs MessageReader
	pkgs PackageStore
	// registry is the plugin registry; nil answers its routes 503.
	registry Registry
	rules    Rules
	alerts   Alerts
	tester   ModuleTester
	reach    *reach.Views
	logger   *slog.Logger
}

// MessageReader reads the message log (msglog.Reader). It must be safe for
// concurrent use.
type MessageReader interface {
	Query(ctx context.Context, q store.MessageQuery) ([]store.Message, error)
}

// Deps are what the management API serves from.
type Deps struct {
	// Store is the configuration store; required.
	Store store.Store
	// Messages serves GET /messages.
	Messages MessageReader
	// Packages serves PUT /plugins/{name}/package; nil answers 503.
	Packages PackageStore
	// Registry serves POST /plugin-packages and a plugin's versions,
	// rollback and version deletion; nil answers those 503.
	Registry Registry
	// Rules serves GET /states, POST /classifier-test and POST
	// /trend-rules/backtest; nil answers 503.
	Rules Rules
	// Alerts serves GET /alerts and tells the alert manager of
	// acknowledgements (POST and DELETE /acks); nil answers those 503.
	Alerts Alerts
	// ModuleTester serves POST /alert-modules/{name}/test; nil answers 503.
	ModuleTester ModuleTester
	// Reach holds the agents' mesh views, for GET
	// /hosts/{name}/reachability; nil answers it 503.
	Reach *reach.Views
	// Logger gets the audit log of changes; nil discards it.
	Logger *slog.Logger
}

// Register mounts the management API on g (the server mounts it at
// /manage/v1). g must already authenticate requests with auth.Middleware:
// Register only checks roles.
func Register(g *gin.RouterGroup, d Deps) {
	logger := d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	st := d.Store
	h := &handlers{st: st, msgs: d.Messages, pkgs: d.Packages, registry: d.Registry, rules: d.Rules, alerts: d.Alerts, tester: d.ModuleTester,
		reach: d.Reach, logger: logger.With("component", "manage")}
	read := auth.Require(store.RoleViewer, store.RoleAdmin)
	write := auth.Require(store.RoleAdmin)

	g.GET("/openapi.yaml", serveOpenAPI)

	resource[store.Host]{
		path: "hosts", kind: "host",
		list: st.Hosts, get: st.Host, create: st.CreateHost, update: st.UpdateHost, delete: st.DeleteHost,
	}.register(g, h, read, write)
	resource[store.Group]{
		path: "groups", kind: "group",
		list: st.Groups, get: st.Group, create: st.CreateGroup, update: st.UpdateGroup, delete: st.DeleteGroup,
	}.register(g, h, read, write)
	g.GET("/groups/:name/hosts", read, h.groupHosts)
	resource[store.Plugin]{
		path: "plugins", kind: "plugin",
		list: st.Plugins, get: st.Plugin, create: st.CreatePlugin, update: st.UpdatePlugin, delete: st.DeletePlugin,
	}.register(g, h, read, write)
	g.PUT("/plugins/:name/package", write, h.putPackage)
	registerPluginVersions(g, h, read, write)
	resource[store.Schedule]{
		path: "schedules", kind: "schedule",
		list: st.Schedules, get: st.Schedule, create: st.CreateSchedule, update: st.UpdateSchedule, delete: st.DeleteSchedule,
	}.register(g, h, read, write)
	resource[store.Check]{
		path: "checks", kind: "check",
		list: st.Checks, get: st.Check, create: st.CreateCheck, update: st.UpdateCheck, delete: st.DeleteCheck,
	}.register(g, h, read, write)
	resource[store.Service]{
		path: "services", kind: "service",
		list: st.Services, get: st.Service, create: st.CreateService, update: st.UpdateService, delete: st.DeleteService,
	}.register(g, h, read, write)
	resource[store.AlertRule]{
		path: "alert-rules", kind: "alert rule",
		list: st.AlertRules, get: st.AlertRule, create: st.CreateAlertRule, update: st.UpdateAlertRule, delete: st.DeleteAlertRule,
	}.register(g, h, read, write)
	resource[store.TrendRule]{
		path: "trend-rules", kind: "trend rule",
		list: st.TrendRules, get: st.TrendRule, create: st.CreateTrendRule, update: st.UpdateTrendRule, delete: st.DeleteTrendRule,
	}.register(g, h, read, write)

	// Users and tokens are credentials: admins only, reads included.
	g.GET("/users", write, h.listUsers)
	g.GET("/users/:name", write, h.getUser)
	g.POST("/users", write, h.createUser)
	g.PUT("/users/:name", write, h.updateUser)
	g.DELETE("/users/:name", write, h.deleteUser)
	g.GET("/tokens", write, h.listTokens)
	g.GET("/tokens/:id", write, h.getToken)
	g.POST("/tokens", write, h.createToken)
	g.DELETE("/tokens/:id", write, h.revokeToken)

	// Enrolment tokens are credentials too: admins only.
	g.POST("/enrollments", write, h.createEnrollment)
	g.GET("/agents", read, h.listAgents)
	g.DELETE("/agents/:host", write, h.revokeAgent)

	g.GET("/messages", read, h.messages)
	g.GET("/events", read, h.events)
	g.GET("/system-log", read, h.systemLog)
	// Reading states and testing rules change nothing: viewers may.
	g.GET("/states", read, h.states)
	g.GET("/hosts/:name/impact", read, h.impact)
	g.POST("/classifier-test", read, h.classifierTest)
	g.POST("/trend-rules/backtest", read, h.backtest)
	// Alerting: open alerts and history are read by viewers; acknowledging,
	// silences and alert modules are written by admins only.
	registerSilences(g, h, read, write)
	registerAlertModules(g, h, read, write)
	registerDashboards(g, h, read, write)
	g.GET("/alerts", read, h.listAlerts)
	g.GET("/acks", read, h.listAcks)
	g.POST("/acks", write, h.acknowledge)
	g.DELETE("/acks", write, h.unacknowledge)
	g.GET("/alert-history", read, h.alertHistory)
	g.GET("/notifications", read, h.notifications)

	registerMesh(g, h, read, write)

	g.POST("/apply", write, h.apply)
	g.GET("/export", read, h.export)
}

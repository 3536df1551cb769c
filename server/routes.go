package server

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/manage"
	"github.com/prophasis/prophasis/api/promapi"
	"github.com/prophasis/prophasis/msglog"
	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/rules"
	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
)

// routes returns the route groups of the query and management APIs.
func routes(st store.Store, db *tsdb.DB, pkgs *plugins.Packages, registry *plugins.Registry, eng *rules.Engine, alerting *rules.Alerting,
	views *reach.Views, opts Options, logger *slog.Logger) []func(*gin.RouterGroup) {
	started := time.Now()
	return []func(*gin.RouterGroup){
		func(g *gin.RouterGroup) {
			manage.Register(g.Group("/manage/v1"), manage.Deps{Store: st, Messages: msglog.NewReader(db, st), Packages: pkgs,
				Registry: registry, Rules: eng, Alerts: alerting, ModuleTester: alerting, Reach: views, Logger: logger})
		},
		func(g *gin.RouterGroup) {
			promapi.Register(g.Group("/api/v1"), promapi.Deps{
				Queryable: db,
				Engine:    db.Engine(),
				Parser:    db.Parser(),
				Exemplars: db.ExemplarQuerier,
				Head:      db.Head,
				Alerting:  alerting,
				Build: promapi.BuildInfo{
					Version:   opts.Version,
					GoVersion: runtime.Version(),
				},
				Retention: db.Options().Retention,
				StartTime: started,
				Logger:    logger,
			})
		},
	}
}

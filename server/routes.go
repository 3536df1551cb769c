package server

import (
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
)

// routes returns the route groups of the query and management APIs.
func routes(st store.Store, db *tsdb.DB, opts Options, logger *slog.Logger) []func(*gin.RouterGroup) {
	return nil
}

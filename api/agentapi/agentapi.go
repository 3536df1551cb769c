// Package agentapi serves the agent API under /agent/v1: the endpoints
// prophasis-agent talks to. Today that is the results endpoint; enrolment,
// plan and plugin download join it with the agent.
package agentapi

import (
	"errors"
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/store"
)

// Register mounts the agent API on g (the server mounts it at /agent/v1 behind
// auth.Middleware). Pushing results needs the agent or admin role.
func Register(g *gin.RouterGroup, in *ingest.Ingester, logger *slog.Logger) {
	h := &handler{in: in, logger: logger.With("component", "agentapi")}
	g.POST("/results", auth.Require(store.RoleAgent, store.RoleAdmin), h.results)
}

type handler struct {
	in     *ingest.Ingester
	logger *slog.Logger
}

// results stores a batch: POST /agent/v1/results with a wire.Batch as JSON
// (optionally gzip), answered with a wire.BatchResponse in the envelope.
func (h *handler) results(c *gin.Context) {
	batch, err := h.in.DecodeBatch(c.Request.Body, c.GetHeader("Content-Encoding"))
	if err != nil {
		switch {
		case errors.Is(err, ingest.ErrTooLarge):
			envelope.FailWith(c, envelope.ErrTooLarge, err)
		default:
			envelope.FailWith(c, envelope.ErrBadData, err)
		}
		return
	}
	resp, err := h.in.WriteBatch(c.Request.Context(), batch)
	if err != nil {
		h.logger.Error("write batch", "err", err, "results", len(batch.Results))
		envelope.FailWith(c, envelope.ErrUnavailable, errors.New("storage failed to write the batch; nothing was acknowledged, retry later"))
		return
	}
	envelope.OK(c, resp)
}

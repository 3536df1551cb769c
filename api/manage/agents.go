package manage

import (
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

// enrollmentSpec is the body of POST /enrollments.
type enrollmentSpec struct {
	Host string `json:"host"`
	// TTL is how long the token stays valid, as a Go duration ("24h");
	// empty for 24 h.
	TTL string `json:"ttl,omitempty"`
}

// createEnrollment makes a one-time enrolment token for a host.
func (h *handlers) createEnrollment(c *gin.Context) {
	var in enrollmentSpec
	if err := decodeJSON(c, &in); err != nil {
		h.fail(c, err)
		return
	}
	var ttl time.Duration
	if in.TTL != "" {
		d, err := time.ParseDuration(in.TTL)
		if err != nil || d <= 0 {
			h.fail(c, envelope.Errorf(envelope.ErrBadData, errBadTTL(in.TTL)))
			return
		}
		ttl = d
	}
	e, err := h.st.CreateEnrollment(c.Request.Context(), in.Host, ttl)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("created", "kind", "enrolment token", "host", e.Host, "expires", e.ExpiresAt, "by", who(c))
	envelope.OK(c, e)
}

// listAgents lists enrolled agents with what they reported and when they
// were last heard from.
func (h *handlers) listAgents(c *gin.Context) {
	agents, err := h.st.Agents(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	if agents == nil {
		agents = []store.Agent{}
	}
	envelope.OK(c, agents)
}

// revokeAgent revokes the credentials of a host's agent.
func (h *handlers) revokeAgent(c *gin.Context) {
	host := c.Param("host")
	if err := h.st.RevokeAgent(c.Request.Context(), host); err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("revoked", "kind", "agent", "host", host, "by", who(c))
	envelope.OK(c, nil)
}

type ttlError struct{ ttl string }

func (e *ttlError) Error() string {
	return "ttl " + e.ttl + " is not a positive duration like 24h"
}

func errBadTTL(ttl string) error { return &ttlError{ttl} }

package manage

import (
	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

// registerSilences mounts /silences: the five routes of an entity, except
// that created_by comes from the request's principal on create and is kept
// on update, whatever the body says.
func registerSilences(g *gin.RouterGroup, h *handlers, read, write gin.HandlerFunc) {
	st := h.st
	g.GET("/silences", read, func(c *gin.Context) {
		v, err := st.Silences(c.Request.Context())
		if err != nil {
			h.fail(c, err)
			return
		}
		envelope.OK(c, v)
	})
	g.GET("/silences/:name", read, func(c *gin.Context) {
		v, err := st.Silence(c.Request.Context(), c.Param("name"))
		if err != nil {
			h.fail(c, err)
			return
		}
		envelope.OK(c, v)
	})
	g.POST("/silences", write, func(c *gin.Context) {
		var in store.Silence
		if err := decodeJSON(c, &in); err != nil {
			h.fail(c, err)
			return
		}
		in.CreatedBy = principalName(c)
		v, err := st.CreateSilence(c.Request.Context(), in)
		if err != nil {
			h.fail(c, err)
			return
		}
		h.logger.Info("created", "kind", "silence", "name", v.Name, "by", who(c))
		envelope.OK(c, v)
	})
	g.PUT("/silences/:name", write, func(c *gin.Context) {
		var in store.Silence
		if err := decodeJSON(c, &in); err != nil {
			h.fail(c, err)
			return
		}
		cur, err := st.Silence(c.Request.Context(), c.Param("name"))
		if err != nil {
			h.fail(c, err)
			return
		}
		in.CreatedBy = cur.CreatedBy
		v, err := st.UpdateSilence(c.Request.Context(), c.Param("name"), in)
		if err != nil {
			h.fail(c, err)
			return
		}
		h.logger.Info("updated", "kind", "silence", "name", c.Param("name"), "new_name", v.Name, "by", who(c))
		envelope.OK(c, v)
	})
	g.DELETE("/silences/:name", write, func(c *gin.Context) {
		name := c.Param("name")
		if err := st.DeleteSilence(c.Request.Context(), name); err != nil {
			h.fail(c, err)
			return
		}
		h.logger.Info("deleted", "kind", "silence", "name", name, "by", who(c))
		envelope.OK(c, gin.H{"deleted": name})
	})
}

// principalName is the name of the request's principal (a user's or an
// API token's), "unknown" without one.
func principalName(c *gin.Context) string {
	if p, ok := auth.PrincipalOf(c); ok {
		return p.Name
	}
	return "unknown"
}

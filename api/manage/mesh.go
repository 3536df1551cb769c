package manage

import (
	"errors"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/rules/reach"
)

// registerMesh mounts the mesh settings (GET and PUT /mesh; the keys are
// always shown as <secret>) and a host's reachability as the agent mesh
// sees it (GET /hosts/{name}/reachability).
func registerMesh(g *gin.RouterGroup, h *handlers, read, write gin.HandlerFunc) {
	g.GET("/mesh", read, h.getMesh)
	g.PUT("/mesh", write, h.putMesh)
	g.GET("/hosts/:name/reachability", read, h.reachability)
}

func (h *handlers) getMesh(c *gin.Context) {
	m, err := h.st.MeshSettings(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, m.Redacted())
}

// putMesh changes the mesh settings: fields not sent keep their values; a
// key sent as <secret> keeps the stored key at its position; enabling the
// mesh with no key makes one. Every agent's plan changes at once.
func (h *handlers) putMesh(c *gin.Context) {
	ctx := c.Request.Context()
	m, err := h.st.MeshSettings(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := decodeJSON(c, &m); err != nil {
		h.fail(c, err)
		return
	}
	saved, err := h.st.SetMeshSettings(ctx, m)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("mesh settings changed", "by", who(c), "mesh", saved)
	envelope.OK(c, saved.Redacted())
}

// hostReachability is GET /hosts/{name}/reachability's answer.
type hostReachability struct {
	Host string `json:"host"`
	// ResultsStopped is true while the host's worst check is unknown
	// because its results stopped arriving.
	ResultsStopped bool `json:"results_stopped"`
	// Reachability is what the other agents' recent mesh views say of the
	// host, whether or not its results stopped.
	Reachability reach.Reachability `json:"reachability"`
}

func (h *handlers) reachability(c *gin.Context) {
	name := c.Param("name")
	if _, err := h.st.Host(c.Request.Context(), name); err != nil {
		h.fail(c, err)
		return
	}
	if h.reach == nil {
		h.fail(c, envelope.Errorf(envelope.ErrUnavailable, errors.New("this server keeps no mesh views")))
		return
	}
	out := hostReachability{Host: name, Reachability: h.reach.Of(name, time.Now())}
	if h.rules != nil {
		for _, s := range h.rules.HostStates() {
			if s.Host == name && s.Reachability != nil {
				out.ResultsStopped = true
			}
		}
	}
	envelope.OK(c, out)
}

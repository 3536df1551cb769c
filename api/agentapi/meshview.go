package agentapi

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/wire"
)

// meshView keeps an agent's view of its mesh peers: POST
// /agent/v1/mesh-view with a wire.MeshView. It has its own endpoint rather
// than riding on the result pushes: a view is small, must arrive every
// mesh interval even when the agent has no results to push, and must not
// wait behind a backlog of spooled results (after an outage the pushes
// replay hours of results; the view is wanted now). An agent may report
// its own view only.
func (h *handler) meshView(c *gin.Context) {
	if h.Reach == nil {
		envelope.FailWith(c, envelope.ErrUnavailable, errors.New("this server keeps no mesh views"))
		return
	}
	v, err := wire.DecodeMeshView(c.Request.Body)
	if err != nil {
		envelope.FailWith(c, envelope.ErrBadData, err)
		return
	}
	if p, _ := auth.PrincipalOf(c); p.Kind == "agent" && v.Host != p.Name {
		envelope.FailWith(c, envelope.ErrForbidden, fmt.Errorf("the agent of %q may report its own mesh view only, not %q's", p.Name, v.Host))
		return
	}
	addr := v.Addr
	if addr == "" {
		// The agent does not know its mesh address (it listens on every
		// address): the one it reaches the server from, at the mesh port,
		// is the best guess for a seed.
		if m, err := h.Store.MeshSettings(c.Request.Context()); err == nil && m.Enabled {
			if ip, err := netip.ParseAddr(c.RemoteIP()); err == nil && !ip.IsUnspecified() {
				addr = netip.AddrPortFrom(ip.Unmap(), uint16(m.Port)).String()
			}
		}
	}
	h.Reach.Report(v, addr, time.Now())
	envelope.OK(c, struct {
		Peers int `json:"peers"`
	}{len(v.Peers)})
}

package manage

import (
	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/store"
)

// registerDashboards mounts /dashboards: the five routes of an entity.
// Viewers read dashboards; only admins create, change or delete them (the
// web UI hides its edit buttons from viewers).
func registerDashboards(g *gin.RouterGroup, h *handlers, read, write gin.HandlerFunc) {
	st := h.st
	resource[store.Dashboard]{
		path: "dashboards", kind: "dashboard",
		list: st.Dashboards, get: st.Dashboard, create: st.CreateDashboard, update: st.UpdateDashboard, delete: st.DeleteDashboard,
	}.register(g, h, read, write)
}

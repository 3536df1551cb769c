package manage

import (
	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

// alertHistory serves GET /alert-history?since=&until=&rule=&host=
// &alert_id=&limit=: every step of every alert (opened, fired,
// acknowledged, resolved), newest first.
func (h *handlers) alertHistory(c *gin.Context) {
	since, until, limit, err := recordRange(c)
	if err != nil {
		h.fail(c, envelope.Errorf(envelope.ErrBadData, err))
		return
	}
	recs, err := h.st.AlertHistory(c.Request.Context(), store.AlertHistoryQuery{
		Since: since, Until: until, Limit: limit,
		Rule: c.Query("rule"), Host: c.Query("host"), AlertID: c.Query("alert_id"),
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, recs)
}

// notifications serves GET /notifications?since=&until=&rule=&module=
// &alert_id=&limit=: every attempt to send a notice, its result and its
// payload, newest first.
func (h *handlers) notifications(c *gin.Context) {
	since, until, limit, err := recordRange(c)
	if err != nil {
		h.fail(c, envelope.Errorf(envelope.ErrBadData, err))
		return
	}
	recs, err := h.st.Notifications(c.Request.Context(), store.NotificationQuery{
		Since: since, Until: until, Limit: limit,
		Rule: c.Query("rule"), Module: c.Query("module"), AlertID: c.Query("alert_id"),
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, recs)
}

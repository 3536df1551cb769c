package manage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/rules/alert"
	"github.com/prophasis/prophasis/store"
)

// Alerts is what the API needs of the alert manager (*alert.Manager). Its
// methods are called from concurrent requests and must be safe for
// concurrent use.
type Alerts interface {
	// Alerts returns the open alerts (pending and firing).
	Alerts(ctx context.Context) ([]alert.Alert, error)
	// Acknowledge acknowledges the subject with key subjectKey
	// (alert.SubjectKey).
	Acknowledge(ctx context.Context, subjectKey string, ack alert.Ack) error
	// Unacknowledge removes a subject's acknowledgement.
	Unacknowledge(ctx context.Context, subjectKey string) error
}

// errNoAlerts answers the routes that need the alert manager when there is
// none.
var errNoAlerts = envelope.Errorf(envelope.ErrUnavailable, errors.New("the alert manager is not running on this server"))

// maxAckFor bounds an acknowledgement's "for" and how far ahead "expires"
// may be.
const maxAckFor = 366 * 24 * time.Hour

// openStatuses are the statuses GET /alerts filters by.
var openStatuses = []string{alert.Pending, alert.Firing}

// listAlerts serves GET /alerts?rule=&host=&status=: the open alerts, with
// their acknowledgement and the silence covering them, if any.
func (h *handlers) listAlerts(c *gin.Context) {
	if h.alerts == nil {
		h.fail(c, errNoAlerts)
		return
	}
	status, err := oneOf(c, "status", openStatuses)
	if err != nil {
		h.fail(c, envelope.Errorf(envelope.ErrBadData, err))
		return
	}
	all, err := h.alerts.Alerts(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	rule, host := c.Query("rule"), c.Query("host")
	out := []alert.Alert{}
	for _, a := range all {
		if (rule == "" || a.Rule == rule) && (host == "" || a.Subject.Host == host) && (status == "" || a.Status == status) {
			out = append(out, a)
		}
	}
	envelope.OK(c, out)
}

// ackRequest is the body of POST /acks. Expires (RFC 3339 or Unix
// seconds) and For (a duration) are alternatives; neither means until the
// subject recovers.
type ackRequest struct {
	Subject store.Subject `json:"subject"`
	Comment string        `json:"comment"`
	Expires string        `json:"expires"`
	For     string        `json:"for"`
}

// acknowledge serves POST /acks: it stores the acknowledgement of a
// subject and tells the alert manager, which stops the subject's repeats
// and escalations. by is the principal's name.
func (h *handlers) acknowledge(c *gin.Context) {
	if h.alerts == nil {
		h.fail(c, errNoAlerts)
		return
	}
	bad := func(err error) { h.fail(c, envelope.Errorf(envelope.ErrBadData, err)) }
	var req ackRequest
	if err := decodeJSON(c, &req); err != nil {
		h.fail(c, err)
		return
	}
	if strings.TrimSpace(req.Comment) == "" {
		bad(errors.New("comment is required: say why, or what is being done"))
		return
	}
	now := time.Now()
	var expires int64
	switch {
	case req.Expires != "" && req.For != "":
		bad(errors.New("give either expires or for, not both"))
		return
	case req.Expires != "":
		ms, err := parseTime(req.Expires)
		if err != nil {
			bad(fmt.Errorf("expires: %w", err))
			return
		}
		if ms <= now.UnixMilli() || ms > now.Add(maxAckFor).UnixMilli() {
			bad(fmt.Errorf("expires %q must be in the future, at most 366d ahead", req.Expires))
			return
		}
		expires = ms
	case req.For != "":
		d, err := store.ParseDuration(req.For)
		if err != nil {
			bad(fmt.Errorf("for: %w", err))
			return
		}
		if d <= 0 || d.Std() > maxAckFor {
			bad(fmt.Errorf("for %q must be more than 0s and at most 366d", req.For))
			return
		}
		expires = now.Add(d.Std()).UnixMilli()
	}
	ack := store.Ack{SubjectKey: alert.SubjectKey(req.Subject), Subject: req.Subject, By: principalName(c), Comment: req.Comment,
		At: now.UnixMilli(), Expires: expires}
	// The store validates the subject and the sizes: a bad one is a 400
	// and reaches neither the store nor the manager.
	if err := h.st.SaveAck(c.Request.Context(), ack); err != nil {
		h.fail(c, err)
		return
	}
	ma := alert.Ack{By: ack.By, Comment: ack.Comment, At: time.UnixMilli(ack.At)}
	if expires != 0 {
		ma.Expires = time.UnixMilli(expires)
	}
	if err := h.alerts.Acknowledge(c.Request.Context(), ack.SubjectKey, ma); err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("acknowledged", "subject", ack.SubjectKey, "by", who(c))
	envelope.OK(c, ack)
}

// unacknowledge serves DELETE /acks?subject_key=: subject keys hold
// slashes, so the key is a query parameter rather than a path segment.
func (h *handlers) unacknowledge(c *gin.Context) {
	if h.alerts == nil {
		h.fail(c, errNoAlerts)
		return
	}
	key := c.Query("subject_key")
	if key == "" {
		h.fail(c, envelope.Errorf(envelope.ErrBadData, errors.New("the subject_key parameter is required")))
		return
	}
	if err := h.st.DeleteAck(c.Request.Context(), key); err != nil {
		h.fail(c, err)
		return
	}
	if err := h.alerts.Unacknowledge(c.Request.Context(), key); err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("unacknowledged", "subject", key, "by", who(c))
	envelope.OK(c, gin.H{"deleted": key})
}

// listAcks serves GET /acks: the stored acknowledgements that have not
// expired, by subject key.
func (h *handlers) listAcks(c *gin.Context) {
	acks, err := h.st.Acks(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	now := time.Now().UnixMilli()
	acks = slices.DeleteFunc(acks, func(a store.Ack) bool { return a.Expires != 0 && a.Expires <= now })
	envelope.OK(c, acks)
}

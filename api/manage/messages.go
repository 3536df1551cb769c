package manage

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

// message is one entry of the message log as the API shows it.
type message struct {
	Host   string `json:"host"`
	Plugin string `json:"plugin"`
	Check  string `json:"check,omitempty"`
	// Timestamp is milliseconds since the Unix epoch; Time the same in RFC 3339.
	Timestamp  int64     `json:"timestamp"`
	Time       time.Time `json:"time"`
	ExitStatus int       `json:"exit_status"`
	Text       string    `json:"text"`
}

// Defaults and bounds of GET /messages.
const (
	defaultMessagesLimit = 100
	maxMessagesLimit     = 10000
)

// messages serves GET /messages?host=&plugin=&check=&from=&to=&limit=,
// newest first. from and to are RFC 3339 or Unix seconds (as in Prometheus's
// API); both are optional.
func (h *handlers) messages(c *gin.Context) {
	q := store.MessageQuery{
		Host:   c.Query("host"),
		Plugin: c.Query("plugin"),
		Check:  c.Query("check"),
		Limit:  defaultMessagesLimit,
		To:     math.MaxInt64,
	}
	bad := func(err error) { h.fail(c, envelope.Errorf(envelope.ErrBadData, err)) }
	if q.Host == "" {
		bad(fmt.Errorf("the host parameter is required"))
		return
	}
	var err error
	if s := c.Query("from"); s != "" {
		if q.From, err = parseTime(s); err != nil {
			bad(fmt.Errorf("from: %w", err))
			return
		}
	}
	if s := c.Query("to"); s != "" {
		if q.To, err = parseTime(s); err != nil {
			bad(fmt.Errorf("to: %w", err))
			return
		}
	}
	if q.To < q.From {
		bad(fmt.Errorf("'from' is after 'to'"))
		return
	}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxMessagesLimit {
			bad(fmt.Errorf("limit %q must be an integer from 1 to %d", s, maxMessagesLimit))
			return
		}
		q.Limit = n
	}
	msgs, err := h.msgs.Query(c.Request.Context(), q)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := make([]message, len(msgs))
	for i, m := range msgs {
		out[i] = message{
			Host: m.Host, Plugin: m.Plugin, Check: m.Check,
			Timestamp: m.Timestamp, Time: time.UnixMilli(m.Timestamp).UTC(),
			ExitStatus: m.ExitStatus, Text: m.Text,
		}
	}
	envelope.OK(c, out)
}

// parseTime reads a time as Prometheus's API does: Unix seconds (with a
// fraction) or RFC 3339. It returns milliseconds since the epoch.
func parseTime(s string) (int64, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e13 {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return int64(math.Round(f * 1000)), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither Unix seconds nor an RFC 3339 time", s)
	}
	return t.UnixMilli(), nil
}

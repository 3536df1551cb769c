package manage

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

// recordRange reads the since, until and limit parameters shared by GET
// /events and GET /system-log. since and until are RFC 3339 or Unix seconds,
// as in GET /messages; limit is 1 to store.MaxQueryLimit (absent: the
// store's default). A bad parameter is an error naming it.
func recordRange(c *gin.Context) (since, until int64, limit int, err error) {
	if s := c.Query("since"); s != "" {
		if since, err = parseTime(s); err != nil {
			return 0, 0, 0, fmt.Errorf("since: %w", err)
		}
	}
	if s := c.Query("until"); s != "" {
		if until, err = parseTime(s); err != nil {
			return 0, 0, 0, fmt.Errorf("until: %w", err)
		}
		if until < since {
			return 0, 0, 0, fmt.Errorf("'since' is after 'until'")
		}
		if until == 0 { // the store reads 0 as "no bound"; 1 ms after the epoch is as good
			until = 1
		}
	}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxQueryLimit {
			return 0, 0, 0, fmt.Errorf("limit %q must be an integer from 1 to %d", s, store.MaxQueryLimit)
		}
		limit = n
	}
	return since, until, limit, nil
}

// oneOf checks that parameter name, when set, is one of allowed.
func oneOf(c *gin.Context, name string, allowed []string) (string, error) {
	v := c.Query(name)
	if v != "" && !slices.Contains(allowed, v) {
		return "", fmt.Errorf("%s %q must be one of %s", name, v, strings.Join(allowed, ", "))
	}
	return v, nil
}

// events serves GET /events?since=&until=&host=&plugin=&check=&rule=
// &service=&subject_kind=&limit=: the rules engine's state changes, newest
// first.
func (h *handlers) events(c *gin.Context) {
	bad := func(err error) { h.fail(c, envelope.Errorf(envelope.ErrBadData, err)) }
	since, until, limit, err := recordRange(c)
	if err != nil {
		bad(err)
		return
	}
	kind, err := oneOf(c, "subject_kind", store.SubjectKinds)
	if err != nil {
		bad(err)
		return
	}
	evs, err := h.st.Events(c.Request.Context(), store.EventQuery{
		Since: since, Until: until, Limit: limit, SubjectKind: kind,
		Host: c.Query("host"), Plugin: c.Query("plugin"), Check: c.Query("check"),
		Rule: c.Query("rule"), Service: c.Query("service"),
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, evs)
}

// systemLog serves GET /system-log?since=&until=&level=&component=&host=
// &plugin=&check=&limit=: the server's own log for users, newest first;
// level is the least severe level shown.
func (h *handlers) systemLog(c *gin.Context) {
	bad := func(err error) { h.fail(c, envelope.Errorf(envelope.ErrBadData, err)) }
	since, until, limit, err := recordRange(c)
	if err != nil {
		bad(err)
		return
	}
	level, err := oneOf(c, "level", store.LogLevels)
	if err != nil {
		bad(err)
		return
	}
	entries, err := h.st.SystemLog(c.Request.Context(), store.LogQuery{
		Since: since, Until: until, Limit: limit, Level: level,
		Component: c.Query("component"), Host: c.Query("host"), Plugin: c.Query("plugin"), Check: c.Query("check"),
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, entries)
}

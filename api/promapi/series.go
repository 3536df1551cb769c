package promapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/prophasis/prophasis/api/envelope"
)

// checkContextEvery is how many series a /series listing reads between checks
// of the request's context.
const checkContextEvery = 128

// seriesRequest holds what /labels, /label/<name>/values and /series share:
// the limit, the time range, the match[] selector sets, and a querier over
// the range, which the caller closes.
type seriesRequest struct {
	limit      int
	start, end int64
	sets       [][]*labels.Matcher
	q          storage.Querier
}

// parseSeriesRequest parses the shared parameters and opens the querier.
// needMatch makes match[] required. A bad match[] is reported through
// matchErr, since the endpoints word it differently, as Prometheus does. On
// failure it has answered.
func (a *api) parseSeriesRequest(c *gin.Context, needMatch bool, matchErr func(error) *envelope.Error) (*seriesRequest, bool) {
	f, ok := a.parseForm(c)
	if !ok {
		return nil, false
	}
	if needMatch && len(f["match[]"]) == 0 {
		a.fail(c, badData(errors.New("no match[] parameter provided")))
		return nil, false
	}
	limit, err := parseLimit(f.Get("limit"))
	if err != nil {
		a.fail(c, invalidParam(err, "limit"))
		return nil, false
	}
	start, err := parseTimeParam(f, "start", minTime)
	if err != nil {
		a.fail(c, invalidParam(err, "start"))
		return nil, false
	}
	end, err := parseTimeParam(f, "end", maxTime)
	if err != nil {
		a.fail(c, invalidParam(err, "end"))
		return nil, false
	}
	sets, err := parseMatchers(a.parser, f["match[]"])
	if err != nil {
		a.fail(c, matchErr(err))
		return nil, false
	}
	r := &seriesRequest{limit: limit, start: timestamp.FromTime(start), end: timestamp.FromTime(end), sets: sets}
	if r.q, err = a.queryable.Querier(r.start, r.end); err != nil {
		a.fail(c, queryError(err))
		return nil, false
	}
	return r, true
}

// labelStrings answers with the sorted union of what get returns for each
// match[] set (or for all series without one), cut at the limit.
func (a *api) labelStrings(c *gin.Context, r *seriesRequest, get func(ms ...*labels.Matcher) ([]string, annotations.Annotations, error)) {
	var (
		out   []string
		annos annotations.Annotations
		err   error
	)
	if len(r.sets) > 1 {
		seen := map[string]struct{}{}
		for _, ms := range r.sets {
			vals, w, err := get(ms...)
			if err != nil {
				a.fail(c, queryError(err))
				return
			}
			annos.Merge(w)
			for _, v := range vals {
				seen[v] = struct{}{}
			}
		}
		out = make([]string, 0, len(seen))
		for v := range seen {
			out = append(out, v)
		}
	} else {
		var ms []*labels.Matcher
		if len(r.sets) == 1 {
			ms = r.sets[0]
		}
		if out, annos, err = get(ms...); err != nil {
			a.fail(c, queryError(err))
			return
		}
	}
	slices.Sort(out)
	if r.limit > 0 && len(out) > r.limit {
		out = out[:r.limit]
		annos = annos.Add(errTruncated)
	}
	a.respond(c, annos, "", func(s *stream) { s.b = appendStrings(s.b, out) })
}

// labelNames serves /labels: the label names of the series that match[]
// selects (all series without match[]) between start and end.
func (a *api) labelNames(c *gin.Context) {
	r, ok := a.parseSeriesRequest(c, false, badData)
	if !ok {
		return
	}
	defer r.q.Close()
	hints := &storage.LabelHints{Limit: hintLimit(r.limit)}
	a.labelStrings(c, r, func(ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
		return r.q.LabelNames(c.Request.Context(), hints, ms...)
	})
}

// labelValues serves /label/<name>/values: the values of one label among the
// series that match[] selects between start and end. A name may be given in
// the U__ escaping of UTF-8 names ("U__http_2e_status" is "http.status").
func (a *api) labelValues(c *gin.Context) {
	name := c.Param("name")
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		a.fail(c, badData(fmt.Errorf("invalid label name: %q", name)))
		return
	}
	r, ok := a.parseSeriesRequest(c, false, badData)
	if !ok {
		return
	}
	defer r.q.Close()
	hints := &storage.LabelHints{Limit: hintLimit(r.limit)}
	a.labelStrings(c, r, func(ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
		return r.q.LabelValues(c.Request.Context(), name, hints, ms...)
	})
}

// series serves /series: the label sets of the series that match[] selects
// between start and end. At least one match[] is required.
func (a *api) series(c *gin.Context) {
	r, ok := a.parseSeriesRequest(c, true, func(err error) *envelope.Error { return invalidParam(err, "match[]") })
	if !ok {
		return
	}
	defer r.q.Close()
	limit, sets, q := r.limit, r.sets, r.q

	ctx := c.Request.Context()
	hints := &storage.SelectHints{
		Start: r.start,
		End:   r.end,
		Func:  "series", // no such function: tells storage no samples are needed
		Limit: hintLimit(limit),
	}
	var set storage.SeriesSet
	if len(sets) > 1 {
		ss := make([]storage.SeriesSet, 0, len(sets))
		for _, ms := range sets {
			// Sorted, so the merge can drop series that several selectors select.
			ss = append(ss, q.Select(ctx, true, hints, ms...))
		}
		set = storage.NewMergeSeriesSet(ss, 0, storage.ChainedSeriesMerge)
	} else {
		set = q.Select(ctx, false, hints, sets[0]...)
	}

	var metrics []labels.Labels
	truncated := false
	for i := 1; set.Next(); i++ {
		if i%checkContextEvery == 0 {
			if err := ctx.Err(); err != nil {
				a.fail(c, queryError(err))
				return
			}
		}
		if limit > 0 && len(metrics) == limit {
			truncated = true
			break
		}
		metrics = append(metrics, set.At().Labels())
	}
	if err := set.Err(); err != nil {
		a.fail(c, queryError(err))
		return
	}
	annos := set.Warnings()
	if truncated {
		annos = annos.Add(errTruncated)
	}
	a.respond(c, annos, "", func(s *stream) {
		s.b = append(s.b, '[')
		for i, m := range metrics {
			if i > 0 {
				s.b = append(s.b, ',')
			}
			s.b = appendLabels(s.b, m)
			s.maybeFlush()
		}
		s.b = append(s.b, ']')
	})
}

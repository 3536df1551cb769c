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
)

// checkContextEvery is how many series a /series listing reads between checks
// of the request's context.
const checkContextEvery = 128

// labelNames serves /labels: the label names of the series that match[]
// selects (all series without match[]) between start and end.
func (a *api) labelNames(c *gin.Context) {
	f, ok := a.parseForm(c)
	if !ok {
		return
	}
	limit, err := parseLimit(f.Get("limit"))
	if err != nil {
		a.fail(c, invalidParam(err, "limit"))
		return
	}
	start, err := parseTimeParam(f, "start", minTime)
	if err != nil {
		a.fail(c, invalidParam(err, "start"))
		return
	}
	end, err := parseTimeParam(f, "end", maxTime)
	if err != nil {
		a.fail(c, invalidParam(err, "end"))
		return
	}
	sets, err := parseMatchers(a.parser, f["match[]"])
	if err != nil {
		a.fail(c, badData(err))
		return
	}
	q, err := a.queryable.Querier(timestamp.FromTime(start), timestamp.FromTime(end))
	if err != nil {
		a.fail(c, queryError(err))
		return
	}
	defer q.Close()

	ctx := c.Request.Context()
	hints := &storage.LabelHints{Limit: hintLimit(limit)}
	var (
		names []string
		annos annotations.Annotations
	)
	if len(sets) > 1 {
		seen := map[string]struct{}{}
		for _, ms := range sets {
			vals, w, err := q.LabelNames(ctx, hints, ms...)
			if err != nil {
				a.fail(c, queryError(err))
				return
			}
			annos.Merge(w)
			for _, v := range vals {
				seen[v] = struct{}{}
			}
		}
		names = make([]string, 0, len(seen))
		for v := range seen {
			names = append(names, v)
		}
		slices.Sort(names)
	} else {
		var ms []*labels.Matcher
		if len(sets) == 1 {
			ms = sets[0]
		}
		names, annos, err = q.LabelNames(ctx, hints, ms...)
		if err != nil {
			a.fail(c, queryError(err))
			return
		}
	}
	if limit > 0 && len(names) > limit {
		names = names[:limit]
		annos = annos.Add(errTruncated)
	}
	a.respond(c, annos, "", func(s *stream) { s.b = appendStrings(s.b, names) })
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
	f, ok := a.parseForm(c)
	if !ok {
		return
	}
	limit, err := parseLimit(f.Get("limit"))
	if err != nil {
		a.fail(c, invalidParam(err, "limit"))
		return
	}
	start, err := parseTimeParam(f, "start", minTime)
	if err != nil {
		a.fail(c, invalidParam(err, "start"))
		return
	}
	end, err := parseTimeParam(f, "end", maxTime)
	if err != nil {
		a.fail(c, invalidParam(err, "end"))
		return
	}
	sets, err := parseMatchers(a.parser, f["match[]"])
	if err != nil {
		a.fail(c, badData(err))
		return
	}
	q, err := a.queryable.Querier(timestamp.FromTime(start), timestamp.FromTime(end))
	if err != nil {
		a.fail(c, queryError(err))
		return
	}
	defer q.Close()

	ctx := c.Request.Context()
	hints := &storage.LabelHints{Limit: hintLimit(limit)}
	var (
		vals  []string
		annos annotations.Annotations
	)
	if len(sets) > 1 {
		seen := map[string]struct{}{}
		for _, ms := range sets {
			vs, w, err := q.LabelValues(ctx, name, hints, ms...)
			if err != nil {
				a.fail(c, queryError(err))
				return
			}
			annos.Merge(w)
			for _, v := range vs {
				seen[v] = struct{}{}
			}
		}
		vals = make([]string, 0, len(seen))
		for v := range seen {
			vals = append(vals, v)
		}
	} else {
		var ms []*labels.Matcher
		if len(sets) == 1 {
			ms = sets[0]
		}
		vals, annos, err = q.LabelValues(ctx, name, hints, ms...)
		if err != nil {
			a.fail(c, queryError(err))
			return
		}
	}
	slices.Sort(vals)
	if limit > 0 && len(vals) > limit {
		vals = vals[:limit]
		annos = annos.Add(errTruncated)
	}
	a.respond(c, annos, "", func(s *stream) { s.b = appendStrings(s.b, vals) })
}

// series serves /series: the label sets of the series that match[] selects
// between start and end. At least one match[] is required.
func (a *api) series(c *gin.Context) {
	f, ok := a.parseForm(c)
	if !ok {
		return
	}
	if len(f["match[]"]) == 0 {
		a.fail(c, badData(errors.New("no match[] parameter provided")))
		return
	}
	limit, err := parseLimit(f.Get("limit"))
	if err != nil {
		a.fail(c, invalidParam(err, "limit"))
		return
	}
	start, err := parseTimeParam(f, "start", minTime)
	if err != nil {
		a.fail(c, invalidParam(err, "start"))
		return
	}
	end, err := parseTimeParam(f, "end", maxTime)
	if err != nil {
		a.fail(c, invalidParam(err, "end"))
		return
	}
	sets, err := parseMatchers(a.parser, f["match[]"])
	if err != nil {
		a.fail(c, invalidParam(err, "match[]"))
		return
	}
	q, err := a.queryable.Querier(timestamp.FromTime(start), timestamp.FromTime(end))
	if err != nil {
		a.fail(c, queryError(err))
		return
	}
	defer q.Close()

	ctx := c.Request.Context()
	hints := &storage.SelectHints{
		Start: timestamp.FromTime(start),
		End:   timestamp.FromTime(end),
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

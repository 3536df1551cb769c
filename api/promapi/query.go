package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/stats"

	"github.com/prophasis/prophasis/api/envelope"
)

// Values of the stats parameter. Any other non-empty value also returns
// statistics, with a deprecation warning, as Prometheus does.
const (
	statsTrue = "true"
	statsAll  = "all"
)

var errTruncated = errors.New("results truncated due to limit")

// queryOpts reads lookback_delta and stats=all into engine options.
func queryOpts(f url.Values) (promql.QueryOpts, error) {
	var lookback time.Duration
	if s := f.Get("lookback_delta"); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("error parsing lookback delta duration: %w", err)
		}
		lookback = d
	}
	return promql.NewPrometheusQueryOpts(f.Get("stats") == statsAll, lookback), nil
}

// queryContext reads what /query and /query_range share: the timeout (a
// context the caller cancels) and the engine options. On failure it has
// answered.
func (a *api) queryContext(c *gin.Context, f url.Values) (context.Context, context.CancelFunc, promql.QueryOpts, bool) {
	ctx, cancel := context.WithCancel(c.Request.Context())
	if to := f.Get("timeout"); to != "" {
		timeout, err := parseDuration(to)
		if err != nil {
			cancel()
			a.fail(c, invalidParam(err, "timeout"))
			return nil, nil, nil, false
		}
		cancel()
		ctx, cancel = context.WithTimeout(c.Request.Context(), timeout)
	}
	opts, err := queryOpts(f)
	if err != nil {
		cancel()
		a.fail(c, badData(err))
		return nil, nil, nil, false
	}
	return ctx, cancel, opts, true
}

// query serves /query: an instant query at time (default now).
func (a *api) query(c *gin.Context) {
	f, ok := a.parseForm(c)
	if !ok {
		return
	}
	limit, err := parseLimit(f.Get("limit"))
	if err != nil {
		a.fail(c, invalidParam(err, "limit"))
		return
	}
	ts, err := parseTimeParam(f, "time", a.now())
	if err != nil {
		a.fail(c, invalidParam(err, "time"))
		return
	}
	ctx, cancel, opts, ok := a.queryContext(c, f)
	if !ok {
		return
	}
	defer cancel()
	qry, err := a.engine.NewInstantQuery(ctx, a.queryable, opts, f.Get("query"), ts)
	if err != nil {
		a.fail(c, invalidParam(err, "query"))
		return
	}
	// Close after the response is written: the result's memory is pooled by
	// the engine and reused once the query is closed.
	defer qry.Close()
	a.execAndRespond(ctx, c, f, qry, limit, nil)
}

// queryRange serves /query_range: a range query from start to end by step.
func (a *api) queryRange(c *gin.Context) {
	f, ok := a.parseForm(c)
	if !ok {
		return
	}
	limit, err := parseLimit(f.Get("limit"))
	if err != nil {
		a.fail(c, invalidParam(err, "limit"))
		return
	}
	start, err := parseTime(f.Get("start"))
	if err != nil {
		a.fail(c, invalidParam(err, "start"))
		return
	}
	end, err := parseTime(f.Get("end"))
	if err != nil {
		a.fail(c, invalidParam(err, "end"))
		return
	}
	if end.Before(start) {
		a.fail(c, invalidParam(errors.New("end timestamp must not be before start time"), "end"))
		return
	}
	step, err := parseDuration(f.Get("step"))
	if err != nil {
		a.fail(c, invalidParam(err, "step"))
		return
	}
	if step <= 0 {
		a.fail(c, invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step"))
		return
	}
	if end.Sub(start)/step > maxPointsPerSeries {
		a.fail(c, badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")))
		return
	}
	ctx, cancel, opts, ok := a.queryContext(c, f)
	if !ok {
		return
	}
	defer cancel()
	qry, err := a.newRangeQuery(ctx, opts, f.Get("query"), start, end, step, f.Get("stats") == "")
	if err != nil {
		a.fail(c, invalidParam(err, "query"))
		return
	}
	defer qry.Close()
	a.execAndRespond(ctx, c, f, qry, limit, func() *tsTable {
		return newTSTable(start.UnixMilli(), end.UnixMilli(), step.Milliseconds())
	})
}

// minSeriesForTSTable is the smallest matrix for which formatting the steps
// up front pays.
const minSeriesForTSTable = 4

// execAndRespond runs qry and writes its result:
//
//	{"resultType":"matrix","result":[...],"stats":{...}}
//
// steps, nil for instant queries, makes the table of a range query's
// encoded timestamps.
func (a *api) execAndRespond(ctx context.Context, c *gin.Context, f url.Values, qry promql.Query, limit int, steps func() *tsTable) {
	res := qry.Exec(ctx)
	if res.Err != nil {
		a.fail(c, queryError(res.Err))
		return
	}
	annos := res.Warnings
	if limit > 0 && truncate(res, limit) {
		annos = annos.Add(errTruncated)
	}
	statsParam := f.Get("stats")
	var statsJSON []byte
	if statsParam != "" {
		switch statsParam {
		case statsTrue, statsAll:
		default:
			annos = annos.Add(fmt.Errorf("value %q for parameter \"stats\" is deprecated and will be rejected in the next major release, use %q or %q", statsParam, statsTrue, statsAll))
		}
		var err error
		statsJSON, err = json.Marshal(stats.NewQueryStats(qry.Stats()))
		if err != nil {
			a.fail(c, fmt.Errorf("encode query stats: %w", err))
			return
		}
	}
	var tt *tsTable
	if m, ok := res.Value.(promql.Matrix); ok && steps != nil && len(m) >= minSeriesForTSTable {
		tt = steps()
	}
	a.respond(c, annos, f.Get("query"), func(s *stream) {
		s.b = append(s.b, `{"resultType":"`...)
		s.b = append(s.b, res.Value.Type()...)
		s.b = append(s.b, `","result":`...)
		appendValue(s, res.Value, tt)
		if statsJSON != nil {
			s.b = append(s.b, `,"stats":`...)
			s.b = append(s.b, statsJSON...)
		}
		s.b = append(s.b, '}')
	})
}

// appendValue streams a query result; a matrix or vector is flushed to the
// client as it is encoded. tt, which may be nil, holds a range query's
// encoded steps.
func appendValue(s *stream, v parser.Value, tt *tsTable) {
	switch v := v.(type) {
	case promql.Matrix:
		s.b = append(s.b, '[')
		for i := range v {
			if i > 0 {
				s.b = append(s.b, ',')
			}
			s.b = appendSeries(s.b, &v[i], tt)
			s.maybeFlush()
		}
		s.b = append(s.b, ']')
	case promql.Vector:
		s.b = append(s.b, '[')
		for i := range v {
			if i > 0 {
				s.b = append(s.b, ',')
			}
			s.b = appendSample(s.b, &v[i])
			s.maybeFlush()
		}
		s.b = append(s.b, ']')
	case promql.Scalar:
		s.b = appendScalar(s.b, v)
	case promql.String:
		s.b = appendStringResult(s.b, v)
	default:
		panic(fmt.Sprintf("BUG: promapi: unexpected query result type %T", v))
	}
}

// truncate keeps the first limit series of a matrix or vector and reports
// whether it dropped any.
func truncate(res *promql.Result, limit int) bool {
	switch v := res.Value.(type) {
	case promql.Matrix:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	case promql.Vector:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	}
	return false
}

// formatQuery serves /format_query: the query, pretty-printed.
func (a *api) formatQuery(c *gin.Context) {
	f, ok := a.parseForm(c)
	if !ok {
		return
	}
	expr, err := a.parser.ParseExpr(f.Get("query"))
	if err != nil {
		a.fail(c, invalidParam(err, "query"))
		return
	}
	envelope.OK(c, expr.Pretty(0))
}

// queryExemplars serves /query_exemplars: the exemplars of the series the
// query's selectors select, between start and end.
func (a *api) queryExemplars(c *gin.Context) {
	f, ok := a.parseForm(c)
	if !ok {
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
	if end.Before(start) {
		a.fail(c, badData(errors.New("end timestamp must not be before start timestamp")))
		return
	}
	expr, err := a.parser.ParseExpr(f.Get("query"))
	if err != nil {
		a.fail(c, badData(err))
		return
	}
	selectors := parser.ExtractSelectors(expr)
	if len(selectors) == 0 {
		// Prometheus answers a query without selectors with no content.
		c.Status(http.StatusNoContent)
		return
	}
	if a.exemplars == nil {
		a.respond(c, nil, "", func(s *stream) { s.b = append(s.b, "[]"...) })
		return
	}
	eq, err := a.exemplars(c.Request.Context())
	if err != nil {
		a.fail(c, queryError(err))
		return
	}
	res, err := eq.Select(timestamp.FromTime(start), timestamp.FromTime(end), selectors...)
	if err != nil {
		a.fail(c, queryError(err))
		return
	}
	a.respond(c, nil, "", func(s *stream) { s.b = appendExemplarResults(s.b, res) })
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rangeQuery is one query_range request the benchmark times.
type rangeQuery struct {
	name string // short name for the table: "sum_rate", "raw"
	expr string
	// viaProxy sends X-Forwarded-For, as a reverse proxy in front of the
	// server would: Prophasis gzips responses only for clients that are
	// not on the same machine, Prometheus always does.
	viaProxy bool
	start    time.Time
	end      time.Time
	step     time.Duration
}

// queryStats summarises the timed runs of one query against one server.
type queryStats struct {
	p50, mean time.Duration
	series    int  // series in the result
	points    int  // points over all series
	bytes     int  // response size, decompressed
	gzipped   bool // the server compressed the response
}

// timeQueries runs q on every server warmup times untimed, then runs times
// timed, alternating between the servers run by run, and checks that every
// response is a successful matrix of the same shape on every server. A
// server whose query fails is left out of the result, with an error.
func timeQueries(ctx context.Context, client *http.Client, servers []*server, q rangeQuery, warmup, runs int) (map[string]queryStats, []error) {
	stats := map[string]queryStats{}
	took := map[string][]time.Duration{}
	failed := map[string]bool{}
	var errs []error
	for i := range warmup + runs {
		for _, s := range servers {
			if failed[s.name] {
				continue
			}
			d, series, points, n, gz, err := doQuery(ctx, client, s, q)
			st := stats[s.name]
			if err == nil && i > 0 && (series != st.series || points != st.points) {
				err = fmt.Errorf("%d series/%d points, earlier %d/%d", series, points, st.series, st.points)
			}
			if err != nil {
				failed[s.name] = true
				errs = append(errs, fmt.Errorf("%s: query %s: %w", s.name, q.name, err))
				continue
			}
			st.series, st.points, st.bytes, st.gzipped = series, points, n, gz
			stats[s.name] = st
			if i >= warmup {
				took[s.name] = append(took[s.name], d)
			}
		}
	}
	for name := range failed {
		delete(stats, name)
	}
	var shape []string
	for name, st := range stats {
		st.p50, st.mean = medianMean(took[name])
		stats[name] = st
		shape = append(shape, fmt.Sprintf("%s %d series/%d points", name, st.series, st.points))
	}
	if len(stats) == 2 {
		var a, b queryStats
		for _, st := range stats {
			a, b = b, st
		}
		if a.series != b.series || a.points != b.points {
			errs = append(errs, fmt.Errorf("query %s: the servers disagree: %s", q.name, strings.Join(shape, ", ")))
		}
	}
	return stats, errs
}

// medianMean returns the median and the mean of ds.
func medianMean(ds []time.Duration) (p50, mean time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	mean = sum / time.Duration(len(ds))
	if n := len(ds); n%2 == 1 {
		p50 = ds[n/2]
	} else {
		p50 = (ds[n/2-1] + ds[n/2]) / 2
	}
	return p50, mean
}

// doQuery sends one GET query_range and times it until the whole response
// has been read; decoding (to check it) is not timed.
func doQuery(ctx context.Context, client *http.Client, s *server, q rangeQuery) (took time.Duration, series, points, size int, gzipped bool, err error) {
	v := url.Values{}
	v.Set("query", q.expr)
	v.Set("start", strconv.FormatFloat(float64(q.start.UnixMilli())/1000, 'f', 3, 64))
	v.Set("end", strconv.FormatFloat(float64(q.end.UnixMilli())/1000, 'f', 3, 64))
	v.Set("step", strconv.FormatFloat(q.step.Seconds(), 'f', -1, 64))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/query_range?"+v.Encode(), nil)
	if err != nil {
		return 0, 0, 0, 0, false, err
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if q.viaProxy {
		req.Header.Set("X-Forwarded-For", "192.0.2.10") // TEST-NET-1: a client elsewhere
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, 0, 0, false, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took = time.Since(start)
	if err != nil {
		return took, 0, 0, 0, false, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return took, 0, 0, 0, false, fmt.Errorf("%s: %.300s", resp.Status, body)
	}
	var env struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return took, 0, 0, 0, false, fmt.Errorf("decode response: %w", err)
	}
	if env.Status != "success" || env.Data.ResultType != "matrix" {
		return took, 0, 0, 0, false, fmt.Errorf("status %q, result type %q", env.Status, env.Data.ResultType)
	}
	for _, r := range env.Data.Result {
		points += len(r.Values)
	}
	return took, len(env.Data.Result), points, len(body), resp.Uncompressed, nil
}

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
	"time"
)

// rangeQuery is one query_range request the benchmark times.
type rangeQuery struct {
	name  string // short name for the table: "sum_rate", "raw"
	expr  string
	start time.Time
	end   time.Time
	step  time.Duration
}

// queryStats summarises the timed runs of one query against one server.
type queryStats struct {
	p50, mean time.Duration
	series    int // series in the result
	points    int // points over all series
	bytes     int // response size as received
}

// timeQuery runs q warmup times untimed, then runs times timed, and checks
// every response is a successful matrix of the same shape.
func timeQuery(ctx context.Context, client *http.Client, s *server, q rangeQuery, warmup, runs int) (queryStats, error) {
	var st queryStats
	var took []time.Duration
	for i := range warmup + runs {
		d, series, points, n, err := doQuery(ctx, client, s, q)
		if err != nil {
			return st, fmt.Errorf("%s: query %s: %w", s.name, q.name, err)
		}
		if i > 0 && (series != st.series || points != st.points) {
			return st, fmt.Errorf("%s: query %s: %d series/%d points, earlier %d/%d", s.name, q.name, series, points, st.series, st.points)
		}
		st.series, st.points, st.bytes = series, points, n
		if i >= warmup {
			took = append(took, d)
		}
	}
	slices.Sort(took)
	var sum time.Duration
	for _, d := range took {
		sum += d
	}
	st.mean = sum / time.Duration(len(took))
	if n := len(took); n%2 == 1 {
		st.p50 = took[n/2]
	} else {
		st.p50 = (took[n/2-1] + took[n/2]) / 2
	}
	return st, nil
}

// doQuery sends one GET query_range and times it until the whole response
// has been read; decoding (to check it) is not timed.
func doQuery(ctx context.Context, client *http.Client, s *server, q rangeQuery) (took time.Duration, series, points, size int, err error) {
	v := url.Values{}
	v.Set("query", q.expr)
	v.Set("start", strconv.FormatFloat(float64(q.start.UnixMilli())/1000, 'f', 3, 64))
	v.Set("end", strconv.FormatFloat(float64(q.end.UnixMilli())/1000, 'f', 3, 64))
	v.Set("step", strconv.FormatFloat(q.step.Seconds(), 'f', -1, 64))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/query_range?"+v.Encode(), nil)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took = time.Since(start)
	if err != nil {
		return took, 0, 0, 0, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return took, 0, 0, 0, fmt.Errorf("%s: %.300s", resp.Status, body)
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
		return took, 0, 0, 0, fmt.Errorf("decode response: %w", err)
	}
	if env.Status != "success" || env.Data.ResultType != "matrix" {
		return took, 0, 0, 0, fmt.Errorf("status %q, result type %q", env.Status, env.Data.ResultType)
	}
	for _, r := range env.Data.Result {
		points += len(r.Values)
	}
	return took, len(env.Data.Result), points, len(body), nil
}

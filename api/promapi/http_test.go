package promapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// These tests send raw requests through the router and check bytes, status
// codes and error envelopes against what Prometheus answers.

func sec(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestExactBodies(t *testing.T) {
	db := openDB(t)
	fillDB(t, db)
	h := newRouter(t, db, nil)
	at := base.Add(30 * time.Minute)

	f := func(path string, params url.Values, want string) {
		t.Helper()
		r := do(t, h, http.MethodGet, path, params)
		if r.code != http.StatusOK || r.body != want {
			t.Errorf("GET %s?%s:\n got %d %s\nwant 200 %s", path, params.Encode(), r.code, r.body, want)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("content type %q", ct)
		}
	}
	ts := sec(at)
	f("/api/v1/query", url.Values{"query": {"prophasis_state"}, "time": {ts}},
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"prophasis_state","check":"res","host":"web1","plugin":"cpu"},"value":[`+ts+`,"2"]}]}}`)
	f("/api/v1/query", url.Values{"query": {"prophasis_state"}, "time": {ts + ".25"}},
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"prophasis_state","check":"res","host":"web1","plugin":"cpu"},"value":[`+ts+`.250,"2"]}]}}`)
	f("/api/v1/query", url.Values{"query": {"2 ^ 0.5"}, "time": {ts + ".25"}},
		`{"status":"success","data":{"resultType":"scalar","result":[`+ts+`.25,"1.4142135623730951"]}}`)
	f("/api/v1/query", url.Values{"query": {`"disk <full> & \"soon\""`}, "time": {ts}},
		`{"status":"success","data":{"resultType":"string","result":[`+ts+`,"disk \u003cfull\u003e \u0026 \"soon\""]}}`)
	f("/api/v1/query", url.Values{"query": {`prophasis_rpc_duration_seconds`}, "time": {sec(base.Add(time.Minute))}},
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"prophasis_rpc_duration_seconds","host":"web1"},"histogram":[`+sec(base.Add(time.Minute))+`,{"count":"4","sum":"10","buckets":[[3,"-0.001","0.001","2"],[0,"0.5","1","1"],[0,"1","2","1"]]}]}]}}`)
	f("/api/v1/query_range", url.Values{"query": {`prophasis_state`}, "start": {sec(base.Add(29 * time.Minute))}, "end": {sec(at)}, "step": {"60"}},
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"prophasis_state","check":"res","host":"web1","plugin":"cpu"},"values":[[`+sec(base.Add(29*time.Minute))+`,"0"],[`+ts+`,"2"]]}]}}`)
	f("/api/v1/query_range", url.Values{"query": {`vector(1)`}, "start": {"1.5"}, "end": {"2.5"}, "step": {"1"}},
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1.500,"1"],[2.500,"1"]]}]}}`)
	f("/api/v1/query", url.Values{"query": {`prophasis_nothing`}},
		`{"status":"success","data":{"resultType":"vector","result":[]}}`)
	f("/api/v1/series", url.Values{"match[]": {`prophasis_state`}},
		`{"status":"success","data":[{"__name__":"prophasis_state","check":"res","host":"web1","plugin":"cpu"}]}`)
	f("/api/v1/series", url.Values{"match[]": {`prophasis_nothing`}},
		`{"status":"success","data":[]}`)
	f("/api/v1/labels", url.Values{"match[]": {`prophasis_rpc_duration_seconds`}},
		`{"status":"success","data":["__name__","host"]}`)
	f("/api/v1/label/host/values", url.Values{"match[]": {`prophasis_state`}},
		`{"status":"success","data":["web1"]}`)
	f("/api/v1/label/nothing/values", nil,
		`{"status":"success","data":[]}`)
	f("/api/v1/query_exemplars", url.Values{"query": {`prophasis_state`}},
		`{"status":"success","data":[]}`)
	f("/api/v1/format_query", url.Values{"query": {`sum(rate(a[5m]))by(b)`}},
		`{"status":"success","data":"sum by (b) (rate(a[5m]))"}`)
	f("/api/v1/status/buildinfo", nil,
		`{"status":"success","data":{"version":"0.1.0","revision":"abc123","branch":"main","buildUser":"ci@prophasis","buildDate":"20260101-00:00:00","goVersion":"go1.26"}}`)
	f("/api/v1/status/config", nil, `{"status":"success","data":{"yaml":""}}`)
	f("/api/v1/status/flags", nil, `{"status":"success","data":{}}`)
	f("/api/v1/targets", nil, `{"status":"success","data":{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}}`)
	f("/api/v1/alertmanagers", nil, `{"status":"success","data":{"activeAlertmanagers":[],"droppedAlertmanagers":[]}}`)

	// A query without selectors has no exemplars: Prometheus answers 204.
	if r := do(t, h, http.MethodGet, "/api/v1/query_exemplars", url.Values{"query": {"1"}}); r.code != http.StatusNoContent || r.body != "" {
		t.Errorf("exemplars of a literal: %d %q", r.code, r.body)
	}
}

// envelopeOf decodes an error envelope.
func envelopeOf(t testing.TB, body string) (status, errorType, msg string) {
	t.Helper()
	var e struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return e.Status, e.ErrorType, e.Error
}

func TestBadParameters(t *testing.T) {
	db := openDB(t)
	fillDB(t, db)
	h := newRouter(t, db, nil)

	// f checks one bad request, GET and POST: the status, the error type and
	// the message (a trailing * makes it a prefix).
	f := func(path string, params url.Values, code int, errType, msg string) {
		t.Helper()
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			if method == http.MethodPost && strings.Contains(path, "/label/") || strings.Contains(path, "/status/") || strings.Contains(path, "/metadata") {
				continue // GET-only endpoints, as in Prometheus
			}
			r := do(t, h, method, path, params)
			status, typ, got := envelopeOf(t, r.body)
			ok := r.code == code && status == "error" && typ == errType
			if p, prefix := strings.CutSuffix(msg, "*"); prefix {
				ok = ok && strings.HasPrefix(got, p)
			} else {
				ok = ok && got == msg
			}
			if !ok {
				t.Errorf("%s %s?%s:\n got %d %s %q\nwant %d %s %q", method, path, params.Encode(), r.code, typ, got, code, errType, msg)
			}
		}
	}
	const bad = http.StatusBadRequest
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}

	// Times.
	f("/api/v1/query", q("query", "1", "time", "yesterday"), bad, "bad_data",
		`invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp`)
	f("/api/v1/query", q("query", "1", "time", "2026-13-01T00:00:00Z"), bad, "bad_data",
		`invalid parameter "time": invalid time value for 'time': cannot parse "2026-13-01T00:00:00Z" to a valid timestamp`)
	f("/api/v1/query_range", q("query", "1", "end", "10", "step", "1"), bad, "bad_data",
		`invalid parameter "start": cannot parse "" to a valid timestamp`)
	f("/api/v1/query_range", q("query", "1", "start", "0", "end", "1e", "step", "1"), bad, "bad_data",
		`invalid parameter "end": cannot parse "1e" to a valid timestamp`)
	f("/api/v1/query_range", q("query", "1", "start", "100", "end", "10", "step", "1"), bad, "bad_data",
		`invalid parameter "end": end timestamp must not be before start time`)
	f("/api/v1/series", q("match[]", "up", "start", "x"), bad, "bad_data",
		`invalid parameter "start": invalid time value for 'start': cannot parse "x" to a valid timestamp`)
	f("/api/v1/labels", q("end", "x"), bad, "bad_data",
		`invalid parameter "end": invalid time value for 'end': cannot parse "x" to a valid timestamp`)
	f("/api/v1/label/host/values", q("start", "x"), bad, "bad_data",
		`invalid parameter "start": invalid time value for 'start': cannot parse "x" to a valid timestamp`)
	f("/api/v1/query_exemplars", q("query", "up", "start", "100", "end", "10"), bad, "bad_data",
		`end timestamp must not be before start timestamp`)

	// Steps.
	f("/api/v1/query_range", q("query", "1", "start", "0", "end", "10", "step", "fast"), bad, "bad_data",
		`invalid parameter "step": cannot parse "fast" to a valid duration`)
	f("/api/v1/query_range", q("query", "1", "start", "0", "end", "10"), bad, "bad_data",
		`invalid parameter "step": cannot parse "" to a valid duration`)
	f("/api/v1/query_range", q("query", "1", "start", "0", "end", "10", "step", "0"), bad, "bad_data",
		`invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer`)
	f("/api/v1/query_range", q("query", "1", "start", "0", "end", "10", "step", "-1m"), bad, "bad_data",
		`invalid parameter "step": cannot parse "-1m" to a valid duration`)
	f("/api/v1/query_range", q("query", "1", "start", "0", "end", "10", "step", "1e300"), bad, "bad_data",
		`invalid parameter "step": cannot parse "1e300" to a valid duration. It overflows int64`)
	f("/api/v1/query_range", q("query", "1", "start", "0", "end", "86400", "step", "7"), bad, "bad_data",
		`exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)`)
	f("/api/v1/query_range", q("query", "1", "start", "0", "end", "10", "step", "1", "timeout", "soon"), bad, "bad_data",
		`invalid parameter "timeout": cannot parse "soon" to a valid duration`)
	f("/api/v1/query", q("query", "1", "lookback_delta", "long"), bad, "bad_data",
		`error parsing lookback delta duration: cannot parse "long" to a valid duration`)

	// Limits.
	f("/api/v1/query", q("query", "1", "limit", "-1"), bad, "bad_data",
		`invalid parameter "limit": limit must be non-negative`)
	f("/api/v1/series", q("match[]", "up", "limit", "ten"), bad, "bad_data",
		`invalid parameter "limit": strconv.Atoi: parsing "ten": invalid syntax`)
	f("/api/v1/metadata", q("limit", "ten"), bad, "bad_data", `limit must be a number`)
	f("/api/v1/metadata", q("limit_per_metric", "x"), bad, "bad_data", `limit_per_metric must be a number`)
	f("/api/v1/status/tsdb", q("limit", "0"), bad, "bad_data", `limit must be a positive number`)
	f("/api/v1/status/tsdb", q("limit", "10001"), bad, "bad_data", `limit must not exceed 10000`)

	// Selectors and label names.
	f("/api/v1/series", nil, bad, "bad_data", `no match[] parameter provided`)
	f("/api/v1/series", q("match[]", "{"), bad, "bad_data", `invalid parameter "match[]": 1:2: parse error: *`)
	f("/api/v1/series", q("match[]", `{host=""}`), bad, "bad_data",
		`invalid parameter "match[]": match[] must contain at least one non-empty matcher`)
	f("/api/v1/series", q("match[]", `up`, "match[]", `{host=~".*"}`), bad, "bad_data",
		`invalid parameter "match[]": match[] must contain at least one non-empty matcher`)
	f("/api/v1/labels", q("match[]", "up{"), bad, "bad_data", `1:4: parse error: *`)
	f("/api/v1/label/host/values", q("match[]", `{a!=""`), bad, "bad_data", `1:7: parse error: *`)
	f("/api/v1/label/\xff/values", nil, bad, "bad_data", `invalid label name: "\xff"`)

	// Queries.
	f("/api/v1/query", q("query", "sum("), bad, "bad_data", `invalid parameter "query": 1:5: parse error: *`)
	f("/api/v1/query", nil, bad, "bad_data", `invalid parameter "query": unknown position: parse error: no expression found in input`)
	f("/api/v1/query_range", q("query", "rate(up)", "start", "0", "end", "10", "step", "1"), bad, "bad_data",
		`invalid parameter "query": 1:6: parse error: *`)
	f("/api/v1/query", q("query", "no_such_function(up)"), bad, "bad_data",
		`invalid parameter "query": 1:1: parse error: unknown function with name "no_such_function"`)
	f("/api/v1/format_query", q("query", "sum(x"), bad, "bad_data", `invalid parameter "query": 1:6: parse error: *`)
	f("/api/v1/query_exemplars", q("query", "sum("), bad, "bad_data", `1:5: parse error: *`)

	// Evaluation errors are execution errors.
	f("/api/v1/query", q("query", `prophasis_value + on(plugin) prophasis_value`, "time", sec(base.Add(time.Minute))),
		http.StatusUnprocessableEntity, "execution", `found duplicate series for the match group *`)
	f("/api/v1/query_range", q("query", `prophasis_value + on(plugin) prophasis_value`, "start", sec(base), "end", sec(base.Add(time.Hour)), "step", "60"),
		http.StatusUnprocessableEntity, "execution", `found duplicate series for the match group *`)

	// A step under a millisecond passes the parameter checks and fails in the
	// engine, as in Prometheus.
	f("/api/v1/query_range", q("query", "vector(1)", "start", "0", "end", "1", "step", "0.0001"),
		http.StatusUnprocessableEntity, "execution", `unexpected error: runtime error: integer divide by zero`)

	// The engine's timeout, here from the timeout parameter, is 503 timeout.
	f("/api/v1/query_range", q("query", `prophasis_value`, "start", sec(base), "end", sec(base.Add(time.Hour)), "step", "15", "timeout", "0.000000001"),
		http.StatusServiceUnavailable, "timeout", `query timed out in *`)
}

func TestCanceled(t *testing.T) {
	db := openDB(t)
	fillDB(t, db)
	h := newRouter(t, db, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	params := url.Values{"query": {"prophasis_value"}, "start": {sec(base)}, "end": {sec(base.Add(time.Hour))}, "step": {"15"}}
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/query_range?"+params.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+viewerToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if _, typ, msg := envelopeOf(t, rec.Body.String()); rec.Code != 499 || typ != "canceled" {
		t.Errorf("canceled query: %d %s %q, want 499 canceled", rec.Code, typ, msg)
	}
}

// POST with a form-encoded body is the same request as GET.
func TestPostEqualsGet(t *testing.T) {
	db := openDB(t)
	fillDB(t, db)
	h := newRouter(t, db, func(d *Deps) { d.Now = func() time.Time { return base.Add(30 * time.Minute) } })
	for _, tc := range []struct {
		path   string
		params url.Values
	}{
		{"/api/v1/query", url.Values{"query": {`prophasis_value`}}},
		{"/api/v1/query", url.Values{"query": {`rate(prophasis_value[5m])`}, "stats": {"true"}}},
		{"/api/v1/query", url.Values{"query": {`prophasis_value`}, "limit": {"1"}}},
		{"/api/v1/query", url.Values{"query": {`sum(`}}},
		{"/api/v1/query_range", url.Values{"query": {`prophasis_value`}, "start": {sec(base)}, "end": {sec(base.Add(time.Hour))}, "step": {"5m"}}},
		{"/api/v1/query_range", url.Values{"query": {`prophasis_value`}, "start": {base.Format(time.RFC3339)}, "end": {base.Add(time.Hour).Format(time.RFC3339Nano)}, "step": {"300"}}},
		{"/api/v1/query_range", url.Values{"query": {`1`}, "start": {"10"}, "end": {"1"}, "step": {"1"}}},
		{"/api/v1/series", url.Values{"match[]": {`prophasis_value`, `prophasis_state`}}},
		{"/api/v1/labels", url.Values{"match[]": {`prophasis_value`, `prophasis_rpc_duration_seconds`}, "start": {sec(base)}}},
		{"/api/v1/query_exemplars", url.Values{"query": {`prophasis_value`}}},
		{"/api/v1/format_query", url.Values{"query": {`a+b`}}},
	} {
		get := do(t, h, http.MethodGet, tc.path, tc.params)
		post := do(t, h, http.MethodPost, tc.path, tc.params)
		if get.code != post.code || stripStats(get.body) != stripStats(post.body) {
			t.Errorf("%s?%s:\n GET %d %s\nPOST %d %s", tc.path, tc.params.Encode(), get.code, get.body, post.code, post.body)
		}
	}
}

// stripStats drops the timings of stats, which differ between two runs.
func stripStats(body string) string {
	if i := strings.Index(body, `"timings":{`); i >= 0 {
		if j := strings.Index(body[i:], "}"); j >= 0 {
			return body[:i] + body[i+j+1:]
		}
	}
	return body
}

func TestAnnotationsAndStats(t *testing.T) {
	db := openDB(t)
	fillDB(t, db)
	h := newRouter(t, db, nil)
	at := sec(base.Add(30 * time.Minute))

	r := do(t, h, http.MethodGet, "/api/v1/query", url.Values{"query": {`rate(prophasis_value[5m])`}, "time": {at}})
	if want := `"infos":["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"prophasis_value\" (1:6)"]}`; r.code != 200 || !strings.HasSuffix(r.body, want) {
		t.Errorf("infos: %d %s", r.code, r.body)
	}
	r = do(t, h, http.MethodGet, "/api/v1/query", url.Values{"query": {`prophasis_value`}, "time": {at}, "limit": {"2"}})
	if !strings.HasSuffix(r.body, `"warnings":["results truncated due to limit"]}`) || strings.Count(r.body, `"metric"`) != 2 {
		t.Errorf("limit: %s", r.body)
	}
	r = do(t, h, http.MethodGet, "/api/v1/query", url.Values{"query": {`prophasis_value`}, "time": {at}, "stats": {"true"}})
	var resp struct {
		Data struct {
			Stats struct {
				Timings map[string]float64 `json:"timings"`
				Samples struct {
					TotalQueryableSamples int `json:"totalQueryableSamples"`
				} `json:"samples"`
			} `json:"stats"`
		} `json:"data"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(r.body), &resp); err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.Data.Stats.Timings["evalTotalTime"]; !ok || resp.Data.Stats.Samples.TotalQueryableSamples != 3 || resp.Warnings != nil {
		t.Errorf("stats=true: %s", r.body)
	}
	r = do(t, h, http.MethodGet, "/api/v1/query", url.Values{"query": {`prophasis_value`}, "time": {at}, "stats": {"yes"}})
	if !strings.Contains(r.body, `"stats":{`) || !strings.Contains(r.body, `"warnings":["value \"yes\" for parameter \"stats\" is deprecated`) {
		t.Errorf("stats=yes: %s", r.body)
	}
}

func TestAuth(t *testing.T) {
	db := openDB(t)
	h := newRouter(t, db, nil)
	f := func(header string, code int) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/api/v1/query?query=1", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != code {
			t.Errorf("Authorization %q: %d %s, want %d", header, rec.Code, rec.Body, code)
		}
	}
	f("", http.StatusUnauthorized)
	f("Bearer wrong", http.StatusUnauthorized)
	f("Bearer "+agentToken, http.StatusForbidden) // agents push; they do not read
	f("Bearer "+viewerToken, http.StatusOK)
	// Grafana's basic auth with the token as password.
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth("grafana", viewerToken)
	f(req.Header.Get("Authorization"), http.StatusOK)
}

func TestCompression(t *testing.T) {
	db := openDB(t)
	fillDB(t, db)
	params := url.Values{"query": {`prophasis_value`}, "start": {sec(base)}, "end": {sec(base.Add(time.Hour))}, "step": {"1"}}
	h := newRouter(t, db, nil)
	plain := do(t, h, http.MethodGet, "/api/v1/query_range", params)
	if plain.header.Get("Content-Encoding") != "" || len(plain.body) < 3*flushSize/2 {
		t.Fatalf("plain response: encoding %q, %d bytes (want a multi-flush body)", plain.header.Get("Content-Encoding"), len(plain.body))
	}
	for _, ae := range []string{"gzip", "deflate, gzip;q=0.5", "br, GZIP"} {
		r := do(t, h, http.MethodGet, "/api/v1/query_range", params, "Accept-Encoding", ae)
		if r.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q", ae, r.header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, []byte(plain.body)) {
			t.Errorf("Accept-Encoding %q: decompressed body differs from the plain one", ae)
		}
		if len(r.body) > len(plain.body)/4 {
			t.Errorf("compressed %d of %d bytes", len(r.body), len(plain.body))
		}
	}
	for _, ae := range []string{"gzip;q=0", "identity", "br"} {
		r := do(t, h, http.MethodGet, "/api/v1/query_range", params, "Accept-Encoding", ae)
		if r.header.Get("Content-Encoding") != "" || r.body != plain.body {
			t.Errorf("Accept-Encoding %q: compressed (%q)", ae, r.header.Get("Content-Encoding"))
		}
	}
	// Errors are compressed too, and 204 is not.
	r := do(t, h, http.MethodGet, "/api/v1/query", url.Values{"query": {"sum("}}, "Accept-Encoding", "gzip")
	if r.code != http.StatusBadRequest || r.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("error: %d %q", r.code, r.header.Get("Content-Encoding"))
	}
	r = do(t, h, http.MethodGet, "/api/v1/query_exemplars", url.Values{"query": {"1"}}, "Accept-Encoding", "gzip")
	if r.code != http.StatusNoContent || r.header.Get("Content-Encoding") != "" || r.body != "" {
		t.Errorf("204: %d %q %q", r.code, r.header.Get("Content-Encoding"), r.body)
	}

	// A client on this machine gets no gzip, unless it is a proxy.
	local := func(header ...string) response {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/query_range?"+params.Encode(), nil)
		req.RemoteAddr = "[::1]:50000"
		req.Header.Set("Authorization", "Bearer "+viewerToken)
		req.Header.Set("Accept-Encoding", "gzip")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return response{code: rec.Code, header: rec.Header(), body: rec.Body.String()}
	}
	if r := local(); r.header.Get("Content-Encoding") != "" || r.body != plain.body {
		t.Errorf("loopback client: compressed (%q)", r.header.Get("Content-Encoding"))
	}
	if r := local("X-Forwarded-For", "203.0.113.9"); r.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("loopback proxy: not compressed")
	}

	off := newRouter(t, db, func(d *Deps) { d.DisableCompression = true })
	if r := do(t, off, http.MethodGet, "/api/v1/query_range", params, "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "" {
		t.Errorf("DisableCompression: still compressed")
	}
}

// Metadata from Deps replaces the built-in list; limits apply in name order.
func TestMetadataSource(t *testing.T) {
	db := openDB(t)
	h := newRouter(t, db, func(d *Deps) {
		d.Metadata = func() map[string][]Metadata {
			m := BuiltinMetadata()
			m["node_load1"] = []Metadata{{Type: "gauge", Help: "1m load average."}, {Type: "gauge", Help: "1m load average."}, {Type: "gauge", Help: "Load."}}
			return m
		}
	})
	r := do(t, h, http.MethodGet, "/api/v1/metadata", url.Values{"metric": {"node_load1"}})
	if want := `{"status":"success","data":{"node_load1":[{"type":"gauge","unit":"","help":"1m load average."},{"type":"gauge","unit":"","help":"Load."}]}}`; r.body != want {
		t.Errorf("metric=node_load1:\n got %s\nwant %s", r.body, want)
	}
	r = do(t, h, http.MethodGet, "/api/v1/metadata", url.Values{"metric": {"node_load1"}, "limit_per_metric": {"1"}})
	if want := `{"status":"success","data":{"node_load1":[{"type":"gauge","unit":"","help":"1m load average."}]}}`; r.body != want {
		t.Errorf("limit_per_metric=1:\n got %s\nwant %s", r.body, want)
	}
	r = do(t, h, http.MethodGet, "/api/v1/metadata", url.Values{"limit": {"1"}})
	if !strings.HasPrefix(r.body, `{"status":"success","data":{"node_load1":`) {
		t.Errorf("limit=1: %s", r.body)
	}
	r = do(t, h, http.MethodGet, "/api/v1/metadata", url.Values{"metric": {"nothing"}})
	if want := `{"status":"success","data":{}}`; r.body != want {
		t.Errorf("unknown metric: %s", r.body)
	}
}

// A form body beyond the limit is refused, not read.
func TestFormTooLarge(t *testing.T) {
	db := openDB(t)
	h := newRouter(t, db, nil)
	body := "query=" + strings.Repeat("1", maxFormBytes+1)
	req := httptest.NewRequest(http.MethodPost, "/api/v1/query", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+viewerToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if _, typ, msg := envelopeOf(t, rec.Body.String()); rec.Code != http.StatusBadRequest || typ != "bad_data" || !strings.HasPrefix(msg, "error parsing form values: ") {
		t.Errorf("oversized form: %d %s %q", rec.Code, typ, msg)
	}
}

// A missing required dependency is a wiring bug, caught at start.
func TestRegisterNeedsDeps(t *testing.T) {
	defer func() {
		if v := recover(); v == nil || !strings.HasPrefix(fmt.Sprint(v), "BUG: ") {
			t.Errorf("recovered %v, want a BUG panic", v)
		}
	}()
	Register(gin.New().Group("/api/v1"), Deps{})
}

// Concurrent requests share the buffer and gzip pools without mixing bodies.
func TestConcurrentRequests(t *testing.T) {
	db := openDB(t)
	fillDB(t, db)
	h := newRouter(t, db, nil)
	params := url.Values{"query": {`prophasis_value`}, "start": {sec(base)}, "end": {sec(base.Add(time.Hour))}, "step": {"1"}}
	want := do(t, h, http.MethodGet, "/api/v1/query_range", params).body
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			for range 5 {
				var r response
				if i%2 == 0 {
					r = do(t, h, http.MethodPost, "/api/v1/query_range", params)
				} else {
					r = do(t, h, http.MethodGet, "/api/v1/query_range", params, "Accept-Encoding", "gzip")
					zr, err := gzip.NewReader(strings.NewReader(r.body))
					if err != nil {
						errs <- err
						return
					}
					b, err := io.ReadAll(zr)
					if err != nil {
						errs <- err
						return
					}
					r.body = string(b)
				}
				if r.body != want {
					errs <- fmt.Errorf("goroutine %d: body differs (%d bytes, want %d)", i, len(r.body), len(want))
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

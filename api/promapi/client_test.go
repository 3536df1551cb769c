package promapi

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// These tests talk to the API with the Prometheus Go client, over HTTP, as
// Grafana's backend and promtool do.

func TestClientQuery(t *testing.T) {
	srv, _ := newTestServer(t)
	c := v1.NewAPI(newClient(t, srv))
	ctx := context.Background()
	at := base.Add(30 * time.Minute) // sample 120

	t.Run("vector", func(t *testing.T) {
		v, warns, err := c.Query(ctx, `prophasis_value{host=~"web.*"}`, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(warns) != 0 {
			t.Errorf("warnings: %v", warns)
		}
		vec, ok := v.(model.Vector)
		if !ok || len(vec) != 2 {
			t.Fatalf("got %v (%T), want a vector of 2", v, v)
		}
		want := map[string]float64{"web1": 120, "web2": 240}
		for _, s := range vec {
			h := string(s.Metric["host"])
			if s.Value != model.SampleValue(want[h]) {
				t.Errorf("%s = %v, want %v", h, s.Value, want[h])
			}
			if !s.Timestamp.Time().Equal(at) {
				t.Errorf("%s at %v, want %v", h, s.Timestamp.Time(), at)
			}
			if s.Metric["__name__"] != "prophasis_value" || s.Metric["plugin"] != "cpu" || s.Metric["check"] != "res" {
				t.Errorf("labels %v", s.Metric)
			}
		}
	})

	t.Run("scalar", func(t *testing.T) {
		v, _, err := c.Query(ctx, `1 + 1.5`, at)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := v.(*model.Scalar)
		if !ok || s.Value != 2.5 || !s.Timestamp.Time().Equal(at) {
			t.Fatalf("got %#v, want scalar 2.5 at %v", v, at)
		}
	})

	t.Run("special floats", func(t *testing.T) {
		for q, want := range map[string]float64{
			`vector(1) / 0`:  math.Inf(1),
			`vector(-1) / 0`: math.Inf(-1),
			`vector(0) / 0`:  math.NaN(),
			`vector(1e-9)`:   1e-9,
			`vector(3e21)`:   3e21,
		} {
			v, _, err := c.Query(ctx, q, at)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			vec := v.(model.Vector)
			got := float64(vec[0].Value)
			if !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
				t.Errorf("%s = %v, want %v", q, got, want)
			}
		}
	})

	t.Run("more experimental functions", func(t *testing.T) {
		v, _, err := c.Query(ctx, `sort_by_label(limitk(2, prophasis_value), "host")`, at)
		if err != nil {
			t.Fatal(err)
		}
		if vec := v.(model.Vector); len(vec) != 2 || vec[0].Metric["host"] > vec[1].Metric["host"] {
			t.Errorf("got %v", v)
		}
	})

	t.Run("histogram", func(t *testing.T) {
		v, _, err := c.Query(ctx, `prophasis_rpc_duration_seconds`, base.Add(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		vec := v.(model.Vector)
		if len(vec) != 1 || vec[0].Histogram == nil {
			t.Fatalf("got %v, want one histogram sample", v)
		}
		h := vec[0].Histogram
		if h.Count != 40 || h.Sum != 100 {
			t.Errorf("count %v sum %v, want 40 and 100", h.Count, h.Sum)
		}
		// Zero bucket [-0.001,0.001] 20, (0.5,1] 10, (1,2] 10.
		if len(h.Buckets) != 3 {
			t.Fatalf("buckets %v", h.Buckets)
		}
		b := h.Buckets[1]
		if b.Boundaries != 0 || b.Lower != 0.5 || b.Upper != 1 || b.Count != 10 {
			t.Errorf("bucket %+v, want (0.5,1] 10", b)
		}
		if z := h.Buckets[0]; z.Boundaries != 3 || z.Lower != -0.001 || z.Upper != 0.001 || z.Count != 20 {
			t.Errorf("zero bucket %+v", z)
		}
	})

	t.Run("experimental functions", func(t *testing.T) {
		for _, q := range []string{
			`mad_over_time(prophasis_value{host="web1"}[10m])`,
			`double_exponential_smoothing(prophasis_value{host="web1"}[10m], 0.5, 0.5)`,
		} {
			v, _, err := c.Query(ctx, q, at)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			vec := v.(model.Vector)
			if len(vec) != 1 {
				t.Fatalf("%s: %v", q, v)
			}
			// web1 rises by 1 every 15 s: the smoothed value tracks it
			// exactly and the deviation from the median over 41 samples is 10.
			want := 120.0
			if q[0] == 'm' {
				want = 10
			}
			if float64(vec[0].Value) != want {
				t.Errorf("%s = %v, want %v", q, vec[0].Value, want)
			}
		}
	})
}

func TestClientQueryRange(t *testing.T) {
	srv, _ := newTestServer(t)
	c := v1.NewAPI(newClient(t, srv))
	ctx := context.Background()

	r := v1.Range{Start: base, End: base.Add(time.Hour), Step: time.Minute}
	v, _, err := c.QueryRange(ctx, `prophasis_value`, r)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := v.(model.Matrix)
	if !ok || len(m) != 3 {
		t.Fatalf("got %T %v, want a matrix of 3", v, v)
	}
	for _, s := range m {
		k := map[string]float64{"web1": 1, "web2": 2, "db1": 3}[string(s.Metric["host"])]
		if len(s.Values) != 61 {
			t.Fatalf("%v: %d points, want 61", s.Metric, len(s.Values))
		}
		for i, p := range s.Values {
			if want := float64(i*4) * k; float64(p.Value) != want {
				t.Fatalf("%v point %d = %v, want %v", s.Metric, i, p.Value, want)
			}
			if want := base.Add(time.Duration(i) * time.Minute); !p.Timestamp.Time().Equal(want) {
				t.Fatalf("%v point %d at %v, want %v", s.Metric, i, p.Timestamp.Time(), want)
			}
		}
	}

	t.Run("histograms", func(t *testing.T) {
		v, _, err := c.QueryRange(ctx, `prophasis_rpc_duration_seconds`, v1.Range{Start: base, End: base.Add(10 * time.Minute), Step: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		m := v.(model.Matrix)
		if len(m) != 1 || len(m[0].Histograms) != 3 || len(m[0].Values) != 0 {
			t.Fatalf("got %v", v)
		}
		for i, p := range m[0].Histograms {
			if want := model.FloatString(20 * i); p.Histogram.Count != want {
				t.Errorf("point %d count %v, want %v", i, p.Histogram.Count, want)
			}
		}
	})

	t.Run("experimental step functions", func(t *testing.T) {
		v, _, err := c.QueryRange(ctx, `mad_over_time(prophasis_value{host="db1"}[5m])`, r)
		if err != nil {
			t.Fatal(err)
		}
		if m := v.(model.Matrix); len(m) != 1 || len(m[0].Values) != 61 {
			t.Fatalf("got %v", v)
		}
	})
}

func TestClientSeriesAndLabels(t *testing.T) {
	srv, _ := newTestServer(t)
	c := v1.NewAPI(newClient(t, srv))
	ctx := context.Background()
	start, end := base, base.Add(time.Hour)

	series, _, err := c.Series(ctx, []string{`prophasis_value{host=~"web.*"}`, `prophasis_state`}, start, end)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range series {
		got = append(got, string(s["__name__"])+"/"+string(s["host"]))
	}
	slices.Sort(got)
	if want := []string{"prophasis_state/web1", "prophasis_value/web1", "prophasis_value/web2"}; !slices.Equal(got, want) {
		t.Errorf("series %v, want %v", got, want)
	}

	names, _, err := c.LabelNames(ctx, nil, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if want := (model.LabelNames{"__name__", "check", "host", "plugin"}); !slices.Equal(names, want) {
		t.Errorf("label names %v, want %v", names, want)
	}
	names, _, err = c.LabelNames(ctx, []string{`prophasis_rpc_duration_seconds`}, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if want := (model.LabelNames{"__name__", "host"}); !slices.Equal(names, want) {
		t.Errorf("label names of the histogram %v, want %v", names, want)
	}

	vals, _, err := c.LabelValues(ctx, "host", nil, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if want := (model.LabelValues{"db1", "web1", "web2"}); !slices.Equal(vals, want) {
		t.Errorf("host values %v, want %v", vals, want)
	}
	vals, _, err = c.LabelValues(ctx, "__name__", []string{`{host="web1"}`}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (model.LabelValues{"prophasis_rpc_duration_seconds", "prophasis_state", "prophasis_value"}); !slices.Equal(vals, want) {
		t.Errorf("metric names %v, want %v", vals, want)
	}

	// Limits truncate and say so.
	vals, warns, err := c.LabelValues(ctx, "host", nil, start, end, v1.WithLimit(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 2 || !slices.Contains(warns, "results truncated due to limit") {
		t.Errorf("limited values %v, warnings %v", vals, warns)
	}
	series, warns, err = c.Series(ctx, []string{`prophasis_value`}, start, end, v1.WithLimit(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || !slices.Contains(warns, "results truncated due to limit") {
		t.Errorf("limited series %v, warnings %v", series, warns)
	}
}

func TestClientStatus(t *testing.T) {
	srv, _ := newTestServer(t)
	c := v1.NewAPI(newClient(t, srv))
	ctx := context.Background()

	bi, err := c.Buildinfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bi.Version != testBuild.Version || bi.Revision != testBuild.Revision || bi.GoVersion != testBuild.GoVersion {
		t.Errorf("buildinfo %+v", bi)
	}

	md, err := c.Metadata(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if m := md["prophasis_state"]; len(m) != 1 || m[0].Type != v1.MetricTypeGauge || m[0].Help == "" {
		t.Errorf("metadata of prophasis_state %+v", m)
	}
	if m := md["prophasis_result_duration_seconds"]; len(m) != 1 || m[0].Unit != "seconds" {
		t.Errorf("metadata of prophasis_result_duration_seconds %+v", m)
	}
	md, err = c.Metadata(ctx, "prophasis_value", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(md) != 1 || len(md["prophasis_value"]) != 1 {
		t.Errorf("metadata of one metric %+v", md)
	}
	md, err = c.Metadata(ctx, "", "2")
	if err != nil {
		t.Fatal(err)
	}
	if len(md) != 2 {
		t.Errorf("metadata limited to 2: %d metrics", len(md))
	}

	ri, err := c.Runtimeinfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ri.GOMAXPROCS < 1 || ri.StorageRetention != "30d" || ri.StartTime.IsZero() {
		t.Errorf("runtimeinfo %+v", ri)
	}

	ts, err := c.TSDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ts.HeadStats.NumSeries != 5 || ts.HeadStats.MinTime != int(ms(base)) || ts.HeadStats.MaxTime != int(ms(base.Add(time.Hour))) {
		t.Errorf("tsdb head %+v", ts.HeadStats)
	}

	if cfg, err := c.Config(ctx); err != nil || cfg.YAML != "" {
		t.Errorf("config %+v, %v", cfg, err)
	}
	if flags, err := c.Flags(ctx); err != nil || len(flags) != 0 {
		t.Errorf("flags %+v, %v", flags, err)
	}
	if tg, err := c.Targets(ctx); err != nil || len(tg.Active) != 0 {
		t.Errorf("targets %+v, %v", tg, err)
	}
	if am, err := c.AlertManagers(ctx); err != nil || len(am.Active) != 0 {
		t.Errorf("alertmanagers %+v, %v", am, err)
	}

	ex, err := c.QueryExemplars(ctx, `prophasis_value{host="web1"}`, base, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 1 || len(ex[0].Exemplars) != 1 || ex[0].Exemplars[0].Labels["trace_id"] != "abc" ||
		ex[0].Exemplars[0].Value != 4 || !ex[0].Exemplars[0].Timestamp.Time().Equal(base.Add(time.Minute)) ||
		ex[0].SeriesLabels["host"] != "web1" {
		t.Errorf("exemplars %+v", ex)
	}
}

package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/prophasis/prophasis/loadgen"
)

// rwPhase is parts rw and query: each server in turn gets the same
// pre-built remote-write payloads (timed: samples/s), then answers the same
// query_range requests over that data (timed: latency).
type rwPhase struct {
	cfg *config
	out *results
	// per server name
	rate    map[string]float64
	cores   map[string]float64
	sender  map[string]float64
	queries map[string]map[string]queryStats
	peak    map[string]float64
}

func runRWPhase(ctx context.Context, cfg *config, out *results) error {
	ph := &rwPhase{
		cfg: cfg, out: out,
		rate: map[string]float64{}, cores: map[string]float64{}, sender: map[string]float64{},
		queries: map[string]map[string]queryStats{}, peak: map[string]float64{},
	}
	rounds := int(cfg.rwSpan / cfg.rwInterval)
	// Samples on the interval grid, the last one at about now, so the
	// whole span is in both servers' heads and inside Prophasis's
	// out-of-order window.
	start := time.Now().Truncate(cfg.rwInterval).Add(-time.Duration(rounds-1) * cfg.rwInterval)
	built := time.Now()
	p, err := loadgen.BuildRemoteWrite(loadgen.RemoteWriteData{
		Series: cfg.rwSeries, SeriesPerRequest: cfg.rwPerRequest, Lanes: cfg.rwConcurrency,
		Start: start, Interval: cfg.rwInterval, Rounds: rounds,
	})
	if err != nil {
		return err
	}
	requests := 0
	for _, l := range p.Lanes {
		requests += len(l)
	}
	cfg.logger.Info("remote-write payloads built", "samples", p.Samples, "requests", requests,
		"mbytes", p.Bytes>>20, "took", time.Since(built).Round(time.Millisecond))
	out.note("remote write: %d series x %d samples (%s at %s) = %d samples in %d requests of %d samples (%.1f MB snappy), over %d connections, same bytes to both servers, one server at a time",
		cfg.rwSeries, rounds, cfg.rwSpan, cfg.rwInterval, p.Samples, requests, cfg.rwPerRequest, float64(p.Bytes)/1e6, cfg.rwConcurrency)

	queries := []rangeQuery{
		{name: "sum_rate", expr: fmt.Sprintf("sum by (job) (rate(%s[5m]))", loadgen.RemoteWriteMetric)},
		{name: "raw", expr: loadgen.RemoteWriteMetric},
	}
	for i := range queries {
		queries[i].end = p.End
		queries[i].start = p.End.Add(-cfg.queryRange)
		queries[i].step = cfg.queryStep
	}
	if cfg.parts["query"] {
		out.note("query_range: %d timed runs (after %d warm-up) of each query over [last sample - %s, last sample] at step %s; latency until the whole (gzip-accepted) response is read",
			cfg.queryRuns, cfg.queryWarmup, cfg.queryRange, cfg.queryStep)
	}

	for _, name := range cfg.order {
		if err := ph.runOne(ctx, name, p, queries); err != nil {
			return err
		}
	}
	p = nil // let the payloads go before the next parts

	nan := math.NaN()
	get := func(m map[string]float64, k string) float64 {
		if v, ok := m[k]; ok {
			return v
		}
		return nan
	}
	if cfg.parts["rw"] {
		out.add(row{key: "rw_samples_per_second", label: "remote-write samples/s",
			prophasis: get(ph.rate, "prophasis"), prometheus: get(ph.rate, "prometheus"), goal: ratioAtLeast(1.5)})
		out.add(row{key: "rw_server_cpu_cores", label: "  server CPU during write (cores)",
			prophasis: get(ph.cores, "prophasis"), prometheus: get(ph.cores, "prometheus")})
		out.add(row{key: "rw_sender_cpu_percent_of_core", label: "  sender CPU (% of a core)",
			prophasis: get(ph.sender, "prophasis"), prometheus: get(ph.sender, "prometheus")})
	}
	if cfg.parts["query"] {
		for _, q := range queries {
			stat := func(srv string, f func(queryStats) time.Duration) float64 {
				st, ok := ph.queries[srv][q.name]
				if !ok {
					return nan
				}
				return float64(f(st)) / float64(time.Millisecond)
			}
			p50 := func(s queryStats) time.Duration { return s.p50 }
			mean := func(s queryStats) time.Duration { return s.mean }
			out.add(row{key: "query_" + q.name + "_p50_ms", label: "query_range " + q.name + " p50 (ms)",
				prophasis: stat("prophasis", p50), prometheus: stat("prometheus", p50), goal: ratioAtMost(1.0)})
			out.add(row{key: "query_" + q.name + "_mean_ms", label: "query_range " + q.name + " mean (ms)",
				prophasis: stat("prophasis", mean), prometheus: stat("prometheus", mean), goal: ratioAtMost(1.0)})
			for _, srv := range cfg.order {
				if st, ok := ph.queries[srv][q.name]; ok {
					out.note("%s %s: `%s` returns %d series, %d points, %.1f MB of JSON", srv, q.name, q.expr, st.series, st.points, float64(st.bytes)/1e6)
				}
			}
		}
	}
	out.add(row{key: "rw_phase_peak_rss_mib", label: fmt.Sprintf("peak RSS after %dk series write+query (MiB)", cfg.rwSeries/1000),
		prophasis: get(ph.peak, "prophasis"), prometheus: get(ph.peak, "prometheus")})
	return nil
}

// runOne starts one server, writes the payloads to it, times the queries
// and stops it.
func (ph *rwPhase) runOne(ctx context.Context, name string, p *loadgen.Payloads, queries []rangeQuery) error {
	cfg := ph.cfg
	s, err := cfg.start(ctx, name)
	if err != nil {
		return err
	}
	defer s.stop()

	cfg.logger.Info("remote write", "server", name)
	cpu := startCPU(s.pid())
	o := loadgen.Defaults()
	o.Server, o.Token, o.Logger = s.url, s.token, cfg.logger
	o.Progress, o.ReportEvery = cfg.progress, 5*time.Second
	r, err := loadgen.SendRemoteWrite(ctx, o, p)
	if err != nil {
		return fmt.Errorf("remote write to %s: %w", name, err)
	}
	cores, _ := cpu.cores()
	fmt.Fprintf(cfg.progress, "%s remote write: %s%s\n", name, r.Text(), r.Summary())
	if err := s.alive(); err != nil {
		return err
	}
	if r.Errors > 0 {
		ph.out.note("%s: %d of %d remote-write requests failed; first error: %s", name, r.Errors, r.Requests, r.FirstError)
	}
	if r.Accepted > 0 {
		ph.rate[name] = r.PerSecond()
		ph.cores[name] = cores
		ph.sender[name] = r.CPUPercentOfCore()
	}

	if cfg.parts["query"] {
		client := &http.Client{Timeout: 5 * time.Minute}
		ph.queries[name] = map[string]queryStats{}
		for _, q := range queries {
			cfg.logger.Info("query_range", "server", name, "query", q.expr)
			st, err := timeQuery(ctx, client, s, q, cfg.queryWarmup, cfg.queryRuns)
			if err != nil {
				ph.out.note("%v", err)
				continue
			}
			fmt.Fprintf(cfg.progress, "%s query %s: p50 %s mean %s (%d series, %d points)\n", name, q.name,
				st.p50.Round(100*time.Microsecond), st.mean.Round(100*time.Microsecond), st.series, st.points)
			ph.queries[name][q.name] = st
		}
		client.CloseIdleConnections()
	}
	if m, err := readMemory(s.pid()); err == nil {
		ph.peak[name] = float64(m.Peak) / (1 << 20)
	}
	return nil
}

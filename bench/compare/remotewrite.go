package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prophasis/prophasis/loadgen"
)

// writeRun is one timed remote write of the whole data set into one fresh
// server.
type writeRun struct {
	rate   float64 // samples/s
	cores  float64 // server CPU, cores busy
	sender float64 // sender CPU, % of a core
	// cpuPerSample is the server's CPU time per sample (µs). Unlike the
	// rate it hardly depends on how much of the machine other programs
	// take, so it is the steadier comparison on a shared machine.
	cpuPerSample float64
}

// runRWPhase is parts rw and query. The same pre-built remote-write payloads
// go to a fresh server of each kind in turn, --rw-repeats times, alternating
// (this machine is shared, so alternating spreads other load over both);
// each write is timed alone, the other server idle or stopped. The median
// run counts. The servers of the last round stay up with identical data and
// answer the same query_range requests, alternately, run by run.
func runRWPhase(ctx context.Context, cfg *config, out *results) error {
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
	out.note("remote write: %d series x %d samples (%s at %s) = %d samples in %d requests of %d (%.1f MB snappy), %d connections; same bytes to both; %d alternating runs per server on fresh data dirs, median counts",
		cfg.rwSeries, rounds, cfg.rwSpan, cfg.rwInterval, p.Samples, requests, cfg.rwPerRequest, float64(p.Bytes)/1e6, cfg.rwConcurrency, cfg.rwRepeats)

	runs := map[string][]writeRun{}
	live := map[string]*server{}
	defer func() {
		for _, s := range live {
			s.stop()
		}
	}()
	for rep := range cfg.rwRepeats {
		last := rep == cfg.rwRepeats-1
		for _, name := range cfg.order {
			s, err := cfg.start(ctx, name)
			if err != nil {
				return err
			}
			wr, err := writeAll(ctx, cfg, s, p)
			if err != nil {
				s.stop()
				return err
			}
			if wr.rate > 0 {
				runs[name] = append(runs[name], wr)
			}
			if last && cfg.parts["query"] {
				live[name] = s
			} else {
				s.stop()
			}
		}
	}
	p = nil // let the payloads go before the queries and the next parts

	nan := math.NaN()
	median := map[string]writeRun{}
	for name, rs := range runs {
		slices.SortFunc(rs, func(a, b writeRun) int { return cmp.Compare(a.rate, b.rate) })
		median[name] = rs[len(rs)/2]
		var all []string
		for _, r := range rs {
			all = append(all, fmt.Sprintf("%.0f", r.rate))
		}
		out.note("%s remote-write runs (samples/s, sorted): %s", name, strings.Join(all, ", "))
	}
	pick := func(name string, f func(writeRun) float64) float64 {
		if r, ok := median[name]; ok {
			return f(r)
		}
		return nan
	}
	// The median of the CPU cost is taken on its own, not from the run
	// with the median rate.
	cpuCost := map[string]float64{}
	for name, rs := range runs {
		costs := make([]float64, len(rs))
		for i, r := range rs {
			costs[i] = r.cpuPerSample
		}
		slices.Sort(costs)
		cpuCost[name] = costs[len(costs)/2]
	}
	cost := func(name string) float64 {
		if v, ok := cpuCost[name]; ok {
			return v
		}
		return nan
	}
	if cfg.parts["rw"] {
		rate := func(r writeRun) float64 { return r.rate }
		cores := func(r writeRun) float64 { return r.cores }
		sender := func(r writeRun) float64 { return r.sender }
		out.add(row{key: "rw_samples_per_second", label: "remote-write samples/s",
			prophasis: pick("prophasis", rate), prometheus: pick("prometheus", rate), goal: ratioAtLeast(1.5)})
		out.add(row{key: "rw_server_cpu_us_per_sample", label: "  server CPU per sample (µs, median)",
			prophasis: cost("prophasis"), prometheus: cost("prometheus")})
		out.add(row{key: "rw_server_cpu_cores", label: "  server CPU during write (cores)",
			prophasis: pick("prophasis", cores), prometheus: pick("prometheus", cores)})
		out.add(row{key: "rw_sender_cpu_percent_of_core", label: "  sender CPU (% of a core)",
			prophasis: pick("prophasis", sender), prometheus: pick("prometheus", sender)})
	}
	if cfg.parts["query"] {
		return queryPhase(ctx, cfg, out, live, lastSample(start, rounds, cfg))
	}
	return nil
}

// lastSample returns the time of the last sample written.
func lastSample(start time.Time, rounds int, cfg *config) time.Time {
	return start.Add(time.Duration(rounds-1) * cfg.rwInterval)
}

// writeAll sends the payloads to s and measures the rate and CPU.
func writeAll(ctx context.Context, cfg *config, s *server, p *loadgen.Payloads) (writeRun, error) {
	cfg.logger.Info("remote write", "server", s.name)
	cpu := startCPU(s.pid())
	o := loadgen.Defaults()
	o.Server, o.Token, o.Logger = s.url, s.token, cfg.logger
	r, err := loadgen.SendRemoteWrite(ctx, o, p)
	if err != nil {
		return writeRun{}, fmt.Errorf("remote write to %s: %w", s.name, err)
	}
	cores, used := cpu.cores()
	fmt.Fprintf(cfg.progress, "%s remote write: %s", s.name, r.Text())
	if err := s.alive(); err != nil {
		return writeRun{}, err
	}
	if r.Errors > 0 {
		cfg.out.note("%s: %d of %d remote-write requests failed; first error: %s", s.name, r.Errors, r.Requests, r.FirstError)
		return writeRun{}, nil
	}
	return writeRun{rate: r.PerSecond(), cores: cores, sender: r.CPUPercentOfCore(),
		cpuPerSample: float64(used.Microseconds()) / float64(r.Accepted)}, nil
}

// queryPhase times the queries against the live servers, alternating
// between them run by run.
func queryPhase(ctx context.Context, cfg *config, out *results, live map[string]*server, end time.Time) error {
	queries := []rangeQuery{
		{name: "sum_rate", expr: fmt.Sprintf("sum by (job) (rate(%s[5m]))", loadgen.RemoteWriteMetric)},
		{name: "raw", expr: loadgen.RemoteWriteMetric},
		{name: "raw_via_proxy", expr: loadgen.RemoteWriteMetric, viaProxy: true},
	}
	// The proxied variant only shows what compression costs; a quarter
	// of the runs keeps the harness inside its time budget.
	proxyRuns := max(3, cfg.rawQueryRuns/4)
	out.note("query_range: %d timed runs of sum_rate and %d of raw (after %d warm-up) over [last sample - %s, last sample] at step %s, alternating between the servers; latency until the whole response is read (the client accepts gzip)",
		cfg.queryRuns, cfg.rawQueryRuns, cfg.queryWarmup, cfg.queryRange, cfg.queryStep)
	out.note("raw_via_proxy: the raw query with X-Forwarded-For set, as through a reverse proxy, %d runs: Prophasis does not gzip for a client on its own machine, Prometheus always does; this row compares both compressing", proxyRuns)
	var servers []*server
	for _, name := range cfg.order {
		if s, ok := live[name]; ok {
			servers = append(servers, s)
		}
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	defer client.CloseIdleConnections()
	nan := math.NaN()
	for _, q := range queries {
		q.end, q.start, q.step = end, end.Add(-cfg.queryRange), cfg.queryStep
		cfg.logger.Info("query_range", "query", q.expr)
		runs, warmup := cfg.queryRuns, cfg.queryWarmup
		switch {
		case q.viaProxy:
			runs, warmup = proxyRuns, min(warmup, 1)
		case q.name == "raw":
			runs = cfg.rawQueryRuns
		}
		stats, errs := timeQueries(ctx, client, servers, q, warmup, runs)
		for _, err := range errs {
			out.note("%v", err)
		}
		stat := func(srv string, f func(queryStats) time.Duration) float64 {
			st, ok := stats[srv]
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
		for _, s := range servers {
			if st, ok := stats[s.name]; ok {
				fmt.Fprintf(cfg.progress, "%s query %s: p50 %s mean %s (%d series, %d points)\n", s.name, q.name,
					st.p50.Round(100*time.Microsecond), st.mean.Round(100*time.Microsecond), st.series, st.points)
				out.note("%s %s: `%s` returns %d series, %d points, %.1f MB of JSON, gzipped: %t", s.name, q.name, q.expr, st.series, st.points, float64(st.bytes)/1e6, st.gzipped)
			}
		}
	}
	peak := map[string]float64{}
	for _, s := range servers {
		if m, err := readMemory(s.pid()); err == nil {
			peak[s.name] = float64(m.Peak) / (1 << 20)
		}
	}
	get := func(k string) float64 {
		if v, ok := peak[k]; ok {
			return v
		}
		return nan
	}
	out.add(row{key: "query_phase_peak_rss_mib", label: fmt.Sprintf("  peak RSS after %dk-series write + queries (MiB)", cfg.rwSeries/1000),
		prophasis: get("prophasis"), prometheus: get("prometheus")})
	return nil
}

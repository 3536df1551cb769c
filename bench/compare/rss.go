package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prophasis/prophasis/loadgen"
)

// runRSSPhase is part rss: for each size, a fresh server receives that many
// series (a few samples each, by remote write) and its peak resident memory
// is read. Prometheus gets the same, for scale, unless disabled.
func runRSSPhase(ctx context.Context, cfg *config, out *results) error {
	for _, n := range cfg.rssSeries {
		peak := map[string]float64{}
		for _, name := range cfg.order {
			if name == "prometheus" && !cfg.rssPrometheus {
				continue
			}
			v, err := fillAndMeasure(ctx, cfg, name, n)
			if err != nil {
				return err
			}
			peak[name] = v
		}
		r := row{key: fmt.Sprintf("peak_rss_%s_series_mib", shortCount(n)), label: fmt.Sprintf("peak RSS, %s active series (MiB)", shortCount(n)),
			prophasis: math.NaN(), prometheus: math.NaN()}
		if v, ok := peak["prophasis"]; ok {
			r.prophasis = v
		}
		if v, ok := peak["prometheus"]; ok {
			r.prometheus = v
		}
		out.add(r)
	}
	out.note("peak RSS: VmHWM of a fresh server after remote-writing N series x %d samples (%s apart, ending now), %d connections of %d samples",
		cfg.rssRounds, cfg.rwInterval, cfg.rwConcurrency, cfg.rwPerRequest)
	return nil
}

func fillAndMeasure(ctx context.Context, cfg *config, name string, n int) (float64, error) {
	s, err := cfg.start(ctx, name)
	if err != nil {
		return 0, err
	}
	defer s.stop()
	o := loadgen.Defaults()
	o.Server, o.Token, o.Logger = s.url, s.token, cfg.logger
	o.Concurrency, o.SeriesPerRequest = cfg.rwConcurrency, cfg.rwPerRequest
	o.Progress, o.ReportEvery = cfg.progress, 10*time.Second
	o.Mode = loadgen.ModeRemoteWrite
	o.Series = n
	o.Count = int64(n) * int64(cfg.rssRounds)
	o.Duration = 0
	o.Backfill = time.Duration(cfg.rssRounds) * cfg.rwInterval
	o.Interval = cfg.rwInterval
	cfg.logger.Info("filling", "server", name, "series", n, "samples", o.Count)
	r, err := loadgen.Run(ctx, o)
	if err != nil {
		return 0, fmt.Errorf("fill %s with %d series: %w", name, n, err)
	}
	if err := s.alive(); err != nil {
		return 0, err
	}
	if r.Errors > 0 {
		return 0, fmt.Errorf("%s: %d of %d requests failed filling %d series; first error: %s", name, r.Errors, r.Requests, n, r.FirstError)
	}
	// Let the server settle (a GC cycle, the WAL flush) before reading
	// the high-water mark.
	time.Sleep(2 * time.Second)
	m, err := readMemory(s.pid())
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(cfg.progress, "%s with %s series: %.0f samples/s while filling, peak RSS %.0f MiB, RSS now %.0f MiB\n",
		name, shortCount(n), r.PerSecond(), float64(m.Peak)/(1<<20), float64(m.Now)/(1<<20))
	cfg.out.kv(fmt.Sprintf("fill_%s_series_samples_per_second_%s", shortCount(n), name), "%.0f", r.PerSecond())
	return float64(m.Peak) / (1 << 20), nil
}

// shortCount writes 100000 as 100k and 1000000 as 1M.
func shortCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

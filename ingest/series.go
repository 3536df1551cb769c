package ingest

import (
	"hash/maphash"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/msglog"
	"github.com/prophasis/prophasis/wire"
)

// Names of the series results are stored in (DESIGN.md, "Time series").
const (
	// MetricValue holds a result's value.
	MetricValue = "prophasis_value"
	// MetricDuration holds how long a run took. Every stored result writes
	// one sample here, so it doubles as the record that the result exists.
	MetricDuration = "prophasis_result_duration_seconds"

	labelHost   = "host"
	labelPlugin = "plugin"
	labelCheck  = "check"
)

// MetricName returns the series name of a plugin's extra metric:
// prophasis_<plugin>_<metric>, with the characters of the plugin name that
// Prometheus does not allow in a name replaced by '_'.
func MetricName(plugin, metric string) string {
	var b strings.Builder
	b.Grow(len("prophasis__") + len(plugin) + len(metric))
	b.WriteString("prophasis_")
	for i := 0; i < len(plugin); i++ {
		c := plugin[i]
		if c == '.' || c == '-' {
			c = '_'
		}
		b.WriteByte(c)
	}
	b.WriteByte('_')
	b.WriteString(metric)
	return b.String()
}

// seriesKey identifies the series of one host x plugin x check.
type seriesKey struct{ host, plugin, check string }

// seriesRef is a series' labels and the TSDB's reference for it, which lets
// appends skip hashing and looking up the labels. A stale reference (the TSDB
// dropped the series) is harmless: the TSDB falls back to the labels.
type seriesRef struct {
	lset labels.Labels
	ref  storage.SeriesRef
}

// resultSeries is the cached state of one host x plugin x check.
type resultSeries struct {
	mu       sync.Mutex
	value    seriesRef
	duration seriesRef
	message  seriesRef
	// metrics by metricKey.
	metrics map[string]*seriesRef
	// lastTs is the newest timestamp known to be stored; 0 = not known yet,
	// so every result must be checked against the TSDB.
	lastTs int64
}

func newResultSeries(k seriesKey) *resultSeries {
	return &resultSeries{
		value:    seriesRef{lset: baseLabels(MetricValue, k, nil)},
		duration: seriesRef{lset: baseLabels(MetricDuration, k, nil)},
		message:  seriesRef{lset: baseLabels(msglog.MetricMessageID, k, nil)},
	}
}

// metric returns the series of one extra metric, creating it on first use.
// The caller holds s.mu.
func (s *resultSeries) metric(k seriesKey, m *wire.Metric) *seriesRef {
	key := metricKey(m)
	if r, ok := s.metrics[key]; ok {
		return r
	}
	if s.metrics == nil {
		s.metrics = make(map[string]*seriesRef)
	}
	r := &seriesRef{lset: baseLabels(MetricName(k.plugin, m.Name), k, m.Labels)}
	s.metrics[key] = r
	return r
}

// metricKey is a metric's name and labels in a canonical order.
func metricKey(m *wire.Metric) string {
	if len(m.Labels) == 0 {
		return m.Name
	}
	names := make([]string, 0, len(m.Labels))
	for n := range m.Labels {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(m.Name)
	for _, n := range names {
		b.WriteByte(0xff)
		b.WriteString(n)
		b.WriteByte(0xfe)
		b.WriteString(m.Labels[n])
	}
	return b.String()
}

func baseLabels(name string, k seriesKey, extra map[string]string) labels.Labels {
	b := labels.NewScratchBuilder(4 + len(extra))
	b.Add(model.MetricNameLabel, name)
	b.Add(labelHost, k.host)
	b.Add(labelPlugin, k.plugin)
	if k.check != "" {
		b.Add(labelCheck, k.check)
	}
	for n, v := range extra {
		b.Add(n, v)
	}
	b.Sort()
	return b.Labels()
}

const seriesShards = 64

// seriesCache maps host x plugin x check to its cached series. Sharded so
// concurrent batches rarely contend.
type seriesCache struct {
	seed   maphash.Seed
	shards [seriesShards]struct {
		mu sync.RWMutex
		m  map[seriesKey]*resultSeries
	}
}

func newSeriesCache() *seriesCache {
	c := &seriesCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[seriesKey]*resultSeries)
	}
	return c
}

func (c *seriesCache) get(k seriesKey) *resultSeries {
	sh := &c.shards[maphash.String(c.seed, k.host)%seriesShards]
	sh.mu.RLock()
	s := sh.m[k]
	sh.mu.RUnlock()
	if s != nil {
		return s
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s = sh.m[k]; s == nil {
		s = newResultSeries(k)
		sh.m[k] = s
	}
	return s
}

// sweep forgets series with nothing newer than cutoff, so the cache holds the
// active series only. A forgotten series is rebuilt on its next result.
func (c *seriesCache) sweep(cutoff int64) (removed int) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, s := range sh.m {
			s.mu.Lock()
			old := s.lastTs < cutoff
			s.mu.Unlock()
			if old {
				delete(sh.m, k)
				removed++
			}
		}
		sh.mu.Unlock()
	}
	return removed
}

// len returns the number of cached series.
func (c *seriesCache) len() (n int) {
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}

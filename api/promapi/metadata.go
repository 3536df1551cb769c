package promapi

import (
	"errors"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
)

// Metadata describes a metric family, as /metadata reports it. Grafana shows
// Help and Type in its query editor's completion.
type Metadata struct {
	// Type is one of Prometheus's metric types: "counter", "gauge",
	// "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown".
	Type string `json:"type"`
	// Unit is the unit in the name's suffix ("seconds", "bytes"), or empty.
	Unit string `json:"unit"`
	// Help is the one-line description.
	Help string `json:"help"`
}

// BuiltinMetadata returns the metadata of the series Prophasis itself writes
// (DESIGN.md, "Time series"). The server serves it, merged with what it knows
// of remote-written and plugin metrics, or alone when Deps.Metadata is nil.
// The map is new on every call; the caller may change it.
func BuiltinMetadata() map[string][]Metadata {
	return map[string][]Metadata{
		"prophasis_value": {{
			Type: "gauge",
			Help: "The value of a plugin's result, by host, plugin and check.",
		}},
		"prophasis_state": {{
			Type: "gauge",
			Help: "The classified state of a plugin on a host: 0 ok, 1 minor, 2 major, 3 critical, -1 unknown.",
		}},
		"prophasis_host_state": {{
			Type: "gauge",
			Help: "The worst state of a host's checks: 0 ok, 1 minor, 2 major, 3 critical, -1 unknown.",
		}},
		"prophasis_service_state": {{
			Type: "gauge",
			Help: "The state of a service: 0 ok, 1 degraded, 2 failed.",
		}},
		"prophasis_result_duration_seconds": {{
			Type: "gauge",
			Unit: "seconds",
			Help: "How long a plugin run took, by host and plugin.",
		}},
	}
}

// metricMetadata serves /metadata: the metadata of every metric, or of
// metric only, at most limit metrics and limit_per_metric entries per
// metric (negative: no limit). Metrics are taken in name order, so a limit
// gives the same answer every time.
func (a *api) metricMetadata(c *gin.Context) {
	f, ok := a.parseForm(c)
	if !ok {
		return
	}
	limit := -1
	if s := f.Get("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil {
			a.fail(c, badData(errors.New("limit must be a number")))
			return
		}
	}
	limitPerMetric := -1
	if s := f.Get("limit_per_metric"); s != "" {
		var err error
		if limitPerMetric, err = strconv.Atoi(s); err != nil {
			a.fail(c, badData(errors.New("limit_per_metric must be a number")))
			return
		}
	}
	metric := f.Get("metric")

	all := a.metadata()
	names := make([]string, 0, len(all))
	for name := range all {
		if metric == "" || name == metric {
			names = append(names, name)
		}
	}
	slices.Sort(names)

	res := make(map[string][]Metadata, len(names))
	for _, name := range names {
		if limit >= 0 && len(res) >= limit {
			break
		}
		ms := make([]Metadata, 0, len(all[name]))
		for _, m := range all[name] {
			if limitPerMetric > 0 && len(ms) >= limitPerMetric {
				break
			}
			if !slices.Contains(ms, m) {
				ms = append(ms, m)
			}
		}
		if len(ms) > 0 {
			res[name] = ms
		}
	}
	envelope.OK(c, res)
}

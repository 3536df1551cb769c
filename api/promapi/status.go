package promapi

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/common/model"

	"github.com/prophasis/prophasis/api/envelope"
)

// The status endpoints. Grafana and other clients probe them to learn what
// they talk to; Prophasis has no scrape configuration, flags file, targets
// or Alertmanagers of Prometheus's kind, so those answer empty but well-formed.

// buildInfo serves /status/buildinfo.
func (a *api) buildInfo(c *gin.Context) { envelope.OK(c, a.build) }

// runtimeInfo is /status/runtimeinfo's data, Prometheus's RuntimeInfo.
type runtimeInfo struct {
	StartTime           time.Time `json:"startTime"`
	CWD                 string    `json:"CWD"`
	Hostname            string    `json:"hostname"`
	ServerTime          time.Time `json:"serverTime"`
	ReloadConfigSuccess bool      `json:"reloadConfigSuccess"`
	LastConfigTime      time.Time `json:"lastConfigTime"`
	CorruptionCount     int64     `json:"corruptionCount"`
	GoroutineCount      int       `json:"goroutineCount"`
	GOMAXPROCS          int       `json:"GOMAXPROCS"`
	GOMEMLIMIT          int64     `json:"GOMEMLIMIT"`
	GOGC                string    `json:"GOGC"`
	GODEBUG             string    `json:"GODEBUG"`
	StorageRetention    string    `json:"storageRetention"`
}

// runtimeInfo serves /status/runtimeinfo.
func (a *api) runtimeInfo(c *gin.Context) {
	// Errors leave a field empty: the page is informational.
	cwd, _ := os.Getwd()
	host, _ := os.Hostname()
	info := runtimeInfo{
		StartTime:           a.start,
		CWD:                 cwd,
		Hostname:            host,
		ServerTime:          time.Now().UTC(),
		ReloadConfigSuccess: true,
		LastConfigTime:      a.start,
		GoroutineCount:      runtime.NumGoroutine(),
		GOMAXPROCS:          runtime.GOMAXPROCS(0),
		GOMEMLIMIT:          debug.SetMemoryLimit(-1),
		GOGC:                os.Getenv("GOGC"),
		GODEBUG:             os.Getenv("GODEBUG"),
	}
	if a.retention > 0 {
		info.StorageRetention = model.Duration(a.retention).String()
	}
	envelope.OK(c, info)
}

// tsdbStat is one entry of the cardinality lists of /status/tsdb.
type tsdbStat struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// headStats is Prometheus's HeadStats.
type headStats struct {
	NumSeries     uint64 `json:"numSeries"`
	NumLabelPairs int    `json:"numLabelPairs"`
	ChunkCount    int64  `json:"chunkCount"`
	MinTime       int64  `json:"minTime"`
	MaxTime       int64  `json:"maxTime"`
}

// tsdbStatus is Prometheus's TSDBStatus.
type tsdbStatus struct {
	HeadStats                   headStats  `json:"headStats"`
	SeriesCountByMetricName     []tsdbStat `json:"seriesCountByMetricName"`
	LabelValueCountByLabelName  []tsdbStat `json:"labelValueCountByLabelName"`
	MemoryInBytesByLabelName    []tsdbStat `json:"memoryInBytesByLabelName"`
	SeriesCountByLabelValuePair []tsdbStat `json:"seriesCountByLabelValuePair"`
}

// maxTSDBLimit is the largest limit /status/tsdb accepts, Prometheus's.
const maxTSDBLimit = 10000

// tsdbStatus serves /status/tsdb: the head's series count and time range.
// The cardinality lists are empty; the limit parameter is still validated.
func (a *api) tsdbStatus(c *gin.Context) {
	if s := c.Request.FormValue("limit"); s != "" {
		limit, err := strconv.Atoi(s)
		if err != nil || limit < 1 {
			a.fail(c, badData(errors.New("limit must be a positive number")))
			return
		}
		if limit > maxTSDBLimit {
			a.fail(c, badData(fmt.Errorf("limit must not exceed %d", maxTSDBLimit)))
			return
		}
	}
	st := tsdbStatus{
		SeriesCountByMetricName:     []tsdbStat{},
		LabelValueCountByLabelName:  []tsdbStat{},
		MemoryInBytesByLabelName:    []tsdbStat{},
		SeriesCountByLabelValuePair: []tsdbStat{},
	}
	if a.head != nil {
		h := a.head()
		st.HeadStats = headStats{NumSeries: h.NumSeries, MinTime: h.MinTime, MaxTime: h.MaxTime}
	}
	envelope.OK(c, st)
}

// config serves /status/config: Prophasis has no Prometheus configuration.
func (a *api) config(c *gin.Context) { envelope.OK(c, gin.H{"yaml": ""}) }

// flags serves /status/flags: no Prometheus flags.
func (a *api) flags(c *gin.Context) { envelope.OK(c, map[string]string{}) }

// targets serves /targets: Prophasis's agents push, nothing is scraped.
func (a *api) targets(c *gin.Context) {
	envelope.OK(c, struct {
		Active       []struct{}     `json:"activeTargets"`
		Dropped      []struct{}     `json:"droppedTargets"`
		DroppedCount map[string]int `json:"droppedTargetCounts"`
	}{[]struct{}{}, []struct{}{}, map[string]int{}})
}

// alertmanagers serves /alertmanagers: Prophasis's Alertmanager notifier is
// an alert module, not Prometheus's discovery.
func (a *api) alertmanagers(c *gin.Context) {
	envelope.OK(c, struct {
		Active  []struct{} `json:"activeAlertmanagers"`
		Dropped []struct{} `json:"droppedAlertmanagers"`
	}{[]struct{}{}, []struct{}{}})
}

package promapi

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/prophasis/prophasis/api/envelope"
)

// Parameter parsing, with the semantics and the error messages of
// Prometheus's web/api/v1/api.go, so clients that match on them keep working.

var (
	// minTime and maxTime are the defaults of optional start and end
	// parameters. Prometheus chose these values (not the int64 extremes) long
	// ago; clients send them back formatted, so they are kept exactly.
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()

	minTimeFormatted = minTime.Format(time.RFC3339Nano)
	maxTimeFormatted = maxTime.Format(time.RFC3339Nano)
)

// maxPointsPerSeries bounds the resolution of a range query: 60 s steps for a
// week, or 1 h steps for a year. Prometheus's limit, kept so a dashboard that
// works against Prometheus works here and vice versa.
const maxPointsPerSeries = 11000

// badData is an error of type bad_data.
func badData(err error) *envelope.Error { return envelope.Errorf(envelope.ErrBadData, err) }

// invalidParam is Prometheus's invalidParamError: bad_data saying which
// parameter is wrong.
func invalidParam(err error, param string) *envelope.Error {
	return badData(fmt.Errorf("invalid parameter %q: %w", param, err))
}

// parseTime parses a timestamp given as float Unix seconds (rounded to the
// millisecond) or as RFC 3339.
func parseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		s, ns := math.Modf(t)
		ns = math.Round(ns*1000) / 1000
		return time.Unix(int64(s), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// time.Parse reads four-digit years only, so the far-off defaults that
	// clients echo back need a case of their own.
	switch s {
	case minTimeFormatted:
		return minTime, nil
	case maxTimeFormatted:
		return maxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseTimeParam parses the optional time parameter name of the request's
// parameters f, defaulting to def.
func parseTimeParam(f url.Values, name string, def time.Time) (time.Time, error) {
	v := f.Get(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time value for '%s': %w", name, err)
	}
	return t, nil
}

// parseDuration parses a duration given as float seconds or in Prometheus's
// duration syntax ("1m30s", "5d").
func parseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if ts > float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// parseLimit parses the limit parameter; 0 means no limit.
func parseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	limit, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if limit < 0 {
		return 0, errors.New("limit must be non-negative")
	}
	return limit, nil
}

// hintLimit is the limit passed to storage: one more than asked, so a
// truncated result can be told from one that fits exactly.
func hintLimit(limit int) int {
	if limit > 0 && limit < math.MaxInt {
		return limit + 1
	}
	return limit
}

// parseMatchers parses match[] selectors and refuses a set whose matchers all
// match the empty string ({foo=""}), which would select every series.
func parseMatchers(p parser.Parser, ss []string) ([][]*labels.Matcher, error) {
	sets, err := p.ParseMetricSelectors(ss)
	if err != nil {
		return nil, err
	}
outer:
	for _, ms := range sets {
		for _, m := range ms {
			if m != nil && !m.Matches("") {
				continue outer
			}
		}
		return nil, errors.New("match[] must contain at least one non-empty matcher")
	}
	return sets, nil
}

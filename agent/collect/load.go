package collect

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/prophasis/prophasis/wire"
)

// Load is /proc/loadavg: the load averages and the scheduler's task counts.
type Load struct {
	Load1, Load5, Load15 float64
	// Runnable is the number of tasks currently runnable; Total is the
	// number of tasks (threads) on the system.
	Runnable, Total float64
}

// ParseLoadavg parses /proc/loadavg ("1.21 1.25 1.49 1/94 11774").
func ParseLoadavg(b []byte) (Load, error) {
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return Load{}, fmt.Errorf("parse loadavg: want at least 4 fields, got %d", len(f))
	}
	var l Load
	for i, dst := range []*float64{&l.Load1, &l.Load5, &l.Load15} {
		v, err := parseFloat(f[i])
		if err != nil || v < 0 {
			return Load{}, fmt.Errorf("parse loadavg: bad load %q", f[i])
		}
		*dst = v
	}
	run, total, ok := strings.Cut(f[3], "/")
	if !ok {
		return Load{}, fmt.Errorf("parse loadavg: bad tasks %q", f[3])
	}
	r, err1 := strconv.ParseUint(run, 10, 64)
	t, err2 := strconv.ParseUint(total, 10, 64)
	if err1 != nil || err2 != nil {
		return Load{}, fmt.Errorf("parse loadavg: bad tasks %q", f[3])
	}
	l.Runnable, l.Total = float64(r), float64(t)
	return l, nil
}

// loadCollector reports the load averages; its value is load1.
type loadCollector struct{ env env }

func (*loadCollector) Name() string { return "load" }

func (c *loadCollector) Collect(context.Context) (Collected, error) {
	b, err := c.env.read("proc/loadavg")
	if err != nil {
		return Collected{}, err
	}
	l, err := ParseLoadavg(b)
	if err != nil {
		return Collected{}, err
	}
	return Collected{
		Value:   ptr(l.Load1),
		Message: fmt.Sprintf("load average: %.2f, %.2f, %.2f", l.Load1, l.Load5, l.Load15),
		Metrics: []wire.Metric{
			gauge("load1", "", l.Load1),
			gauge("load5", "", l.Load5),
			gauge("load15", "", l.Load15),
			gauge("tasks_runnable", "", l.Runnable),
			gauge("tasks", "", l.Total),
		},
	}, nil
}

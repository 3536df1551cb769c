package collect

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// ParseUptime parses /proc/uptime ("4896.26 3627.30") and returns the
// seconds since boot.
func ParseUptime(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, fmt.Errorf("parse uptime: empty")
	}
	v, err := parseFloat(f[0])
	if err != nil || v < 0 {
		return 0, fmt.Errorf("parse uptime: bad seconds %q", f[0])
	}
	return v, nil
}

// uptimeCollector reports seconds since boot and the boot time.
type uptimeCollector struct{ env env }

func (*uptimeCollector) Name() string { return "uptime" }

func (c *uptimeCollector) Collect(context.Context) (Collected, error) {
	b, err := c.env.read("proc/uptime")
	if err != nil {
		return Collected{}, err
	}
	up, err := ParseUptime(b)
	if err != nil {
		return Collected{}, err
	}
	now := c.env.now()
	boot := float64(now.UnixMilli())/1000 - up
	// Whole seconds: the boot time computed this way jitters by the
	// sampling delay, and a stable value graphs (and reboots show) better.
	boot = math.Round(boot)
	return Collected{
		Value: ptr(up),
		Message: fmt.Sprintf("up %s, since %s", formatUptime(up),
			time.Unix(int64(boot), 0).UTC().Format("2006-01-02 15:04 UTC")),
		Metrics: []wire.Metric{
			gauge("seconds", "seconds", up),
			gauge("boot_time_seconds", "seconds", boot),
		},
	}, nil
}

// formatUptime renders seconds like uptime(1): "3 days, 4:05" or "12 min".
func formatUptime(s float64) string {
	d := int64(s) / 86400
	h := int64(s) % 86400 / 3600
	m := int64(s) % 3600 / 60
	var b strings.Builder
	switch d {
	case 0:
	case 1:
		b.WriteString("1 day, ")
	default:
		fmt.Fprintf(&b, "%d days, ", d)
	}
	if h == 0 {
		fmt.Fprintf(&b, "%d min", m)
	} else {
		fmt.Fprintf(&b, "%d:%02d", h, m)
	}
	return b.String()
}

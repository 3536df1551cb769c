package collect

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// NetDev is one interface's counters from /proc/net/dev.
type NetDev struct {
	Interface                             string
	RxBytes, RxPackets, RxErrors, RxDrops float64
	TxBytes, TxPackets, TxErrors, TxDrops float64
}

// ParseNetDev parses /proc/net/dev: two header lines, then one line per
// interface, "name: 8 receive fields 8 transmit fields". Interface names may
// be up to 15 characters and can touch the colon ("eth0:123").
func ParseNetDev(b []byte) ([]NetDev, error) {
	var out []NetDev
	for n := 0; len(b) > 0; n++ {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if n < 2 || len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		name, rest, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return nil, fmt.Errorf("parse net/dev: line %d has no colon", n+1)
		}
		var f [16]float64
		i := 0
		for _, field := range bytes.Fields(rest) {
			if i == len(f) {
				break
			}
			v, err := strconv.ParseUint(string(field), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parse net/dev: line %d: %w", n+1, err)
			}
			f[i] = float64(v)
			i++
		}
		if i < len(f) {
			return nil, fmt.Errorf("parse net/dev: line %d has %d fields, want 16", n+1, i)
		}
		ifname := string(bytes.TrimSpace(name))
		if ifname == "" {
			return nil, fmt.Errorf("parse net/dev: line %d has no interface name", n+1)
		}
		out = append(out, NetDev{
			Interface: ifname,
			RxBytes:   f[0], RxPackets: f[1], RxErrors: f[2], RxDrops: f[3],
			TxBytes: f[8], TxPackets: f[9], TxErrors: f[10], TxDrops: f[11],
		})
	}
	return out, nil
}

// networkCollector reports per-interface counters (lo left out unless
// asked) and the byte rates since its previous run; its value is the total
// received plus transmitted bytes per second, nil on the first run.
type networkCollector struct {
	env      env
	loopback bool

	mu       sync.Mutex
	prev     map[string]NetDev
	prevTime time.Time
}

func (*networkCollector) Name() string { return "network" }

func (c *networkCollector) Collect(context.Context) (Collected, error) {
	b, err := c.env.read("proc/net/dev")
	if err != nil {
		return Collected{}, err
	}
	devs, err := ParseNetDev(b)
	if err != nil {
		return Collected{}, err
	}
	now := c.env.now()

	c.mu.Lock()
	prev, prevTime := c.prev, c.prevTime
	c.prev = make(map[string]NetDev, len(devs))
	for _, d := range devs {
		c.prev[d.Interface] = d
	}
	c.prevTime = now
	c.mu.Unlock()
	elapsed := now.Sub(prevTime).Seconds()

	ms := make([]wire.Metric, 0, 8*len(devs))
	var parts []string
	var total float64
	haveRate := prev != nil && elapsed > 0
	for _, d := range devs {
		if d.Interface == "lo" && !c.loopback {
			continue
		}
		l := d.Interface
		ms = append(ms,
			counter("receive_bytes_total", "bytes", d.RxBytes, "interface", l),
			counter("receive_packets_total", "", d.RxPackets, "interface", l),
			counter("receive_errors_total", "", d.RxErrors, "interface", l),
			counter("receive_drops_total", "", d.RxDrops, "interface", l),
			counter("transmit_bytes_total", "bytes", d.TxBytes, "interface", l),
			counter("transmit_packets_total", "", d.TxPackets, "interface", l),
			counter("transmit_errors_total", "", d.TxErrors, "interface", l),
			counter("transmit_drops_total", "", d.TxDrops, "interface", l),
		)
		p, ok := prev[d.Interface]
		switch {
		case !haveRate:
			if d.RxBytes+d.TxBytes > 0 {
				parts = append(parts, fmt.Sprintf("%s rx %s tx %s", l, humanBytes(d.RxBytes), humanBytes(d.TxBytes)))
			}
			continue
		case !ok:
			parts = append(parts, l+" appeared")
			continue
		case d.RxBytes < p.RxBytes || d.TxBytes < p.TxBytes:
			// The driver was reloaded or the counters wrapped: no rate
			// this time.
			parts = append(parts, l+" counters reset")
			continue
		}
		rx, tx := (d.RxBytes-p.RxBytes)/elapsed, (d.TxBytes-p.TxBytes)/elapsed
		total += rx + tx
		ms = append(ms,
			gauge("receive_bytes_per_second", "bytes", rx, "interface", l),
			gauge("transmit_bytes_per_second", "bytes", tx, "interface", l))
		if errs := (d.RxErrors + d.TxErrors) - (p.RxErrors + p.TxErrors); errs > 0 {
			parts = append(parts, fmt.Sprintf("%s rx %s/s tx %s/s, %.0f new errors", l, humanBytes(rx), humanBytes(tx), errs))
		} else {
			parts = append(parts, fmt.Sprintf("%s rx %s/s tx %s/s", l, humanBytes(rx), humanBytes(tx)))
		}
	}
	col := Collected{Metrics: ms}
	switch {
	case len(parts) == 0:
		col.Message = "no traffic on any interface"
	case haveRate:
		col.Message = strings.Join(parts, "; ")
	default:
		col.Message = "since boot: " + strings.Join(parts, "; ")
	}
	if haveRate {
		col.Value = ptr(total)
	}
	return col, nil
}

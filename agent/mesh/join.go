package mesh

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"
)

// join gets this node into the mesh and keeps it there: while memberlist
// knows no other alive member, it tries the seeds and the addresses of
// hosts remembered in the state file, then scans the Scan ranges at
// ScanRate addresses a second (unagi's initial scan), stopping at the
// first answer. It checks again every retry period, so a node that was cut
// off (or started first) finds the others when they appear.
func (m *Mesh) join(ctx context.Context) {
	retry := min(m.opts.Interval, 30*time.Second)
	for {
		if m.ml.NumMembers() <= 1 {
			m.tryJoin(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

func (m *Mesh) tryJoin(ctx context.Context) {
	var targets []string
	for _, s := range m.opts.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(s, strconv.Itoa(m.opts.Port))
		}
		targets = append(targets, s)
	}
	self := m.ml.LocalNode().Address()
	m.mu.Lock()
	for _, h := range m.table.sortedHosts() {
		if h.addr != "" && h.name != m.opts.Name {
			targets = append(targets, h.addr)
		}
	}
	m.mu.Unlock()
	targets = without(targets, self)
	if len(targets) > 0 {
		if n, err := m.ml.Join(targets); n > 0 {
			m.logger.Info("joined the mesh", "contacted", n)
			return
		} else if err != nil {
			m.logger.Debug("join through seeds failed", "err", err)
		}
	}
	m.scan(ctx, self)
}

// scan tries every Scan address, ScanRate a second with at most 32 at a
// time, until one answers.
func (m *Mesh) scan(ctx context.Context, self string) {
	addrs, _ := m.opts.Scan.Addresses() // checked in New
	if len(addrs) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tick := time.NewTicker(time.Duration(float64(time.Second) / m.opts.ScanRate))
	defer tick.Stop()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, a := range addrs {
		target := net.JoinHostPort(a.String(), strconv.Itoa(m.opts.Port))
		if target == self || !m.opts.AllowJoin.Contains(a) {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if m.ml.NumMembers() > 1 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case sem <- struct{}{}:
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if n, _ := m.ml.Join([]string{target}); n > 0 {
				m.logger.Info("joined the mesh by scanning", "peer", target)
				cancel()
			}
		})
	}
}

func without(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

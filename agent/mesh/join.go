package mesh

import (
	"context"
	"math/rand/v2"
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
// off (or started first) finds the others when they appear. While it has
// peers, it tries a few of the hosts it knows but memberlist does not
// (reconnect), so the halves of a healed partition merge again.
func (m *Mesh) join(ctx context.Context) {
	retry := min(m.opts.Interval, 30*time.Second)
	for {
		if m.ml.NumMembers() <= 1 {
			m.tryJoin(ctx)
		} else {
			m.reconnect()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

// reconnectTargets bounds the hosts reconnect tries in one round: a down
// host costs a connection timeout.
const reconnectTargets = 3

// reconnect tries to join up to reconnectTargets hosts, chosen at random,
// that the host table knows (down, but not yet removed) and memberlist does
// not list as alive. memberlist alone never contacts a member it declared
// dead again, so without this two halves of a partition, each with peers
// of its own, would stay apart after the network heals. A successful join
// exchanges the whole member lists: one contact merges the halves.
func (m *Mesh) reconnect() {
	alive := map[string]bool{}
	for _, p := range m.members() {
		alive[p.name] = true
	}
	var targets []string
	m.mu.Lock()
	for _, h := range m.table.sortedHosts() {
		if h.addr != "" && h.name != m.opts.Name && !alive[h.name] {
			targets = append(targets, h.addr)
		}
	}
	m.mu.Unlock()
	if len(targets) == 0 {
		return
	}
	rand.Shuffle(len(targets), func(i, j int) { targets[i], targets[j] = targets[j], targets[i] })
	targets = targets[:min(len(targets), reconnectTargets)]
	if n, _ := m.ml.Join(targets); n > 0 {
		m.logger.Info("reconnected to peers the mesh had lost", "contacted", n)
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

package mesh

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// countingTransport counts the bytes a node sends: UDP packets and TCP
// stream writes.
type countingTransport struct {
	memberlist.Transport
	sent    *atomic.Int64
	streams chan net.Conn
}

// newCountingTransport wraps a MockTransport. Its streams are net.Pipe
// ends without an IP address; they are given 127.0.0.1 so that the allow
// list sees an address, as it would on a real network.
func newCountingTransport(t *memberlist.MockTransport, sent *atomic.Int64) *countingTransport {
	c := &countingTransport{Transport: t, sent: sent, streams: make(chan net.Conn)}
	go func() {
		for conn := range t.StreamCh() {
			c.streams <- addrConn{conn}
		}
	}()
	return c
}

func (c *countingTransport) StreamCh() <-chan net.Conn { return c.streams }

type addrConn struct{ net.Conn }

func (addrConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

func (c *countingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	c.sent.Add(int64(len(b)))
	return c.Transport.WriteTo(b, addr)
}

func (c *countingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	conn, err := c.Transport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return countingConn{conn, c.sent}, nil
}

type countingConn struct {
	net.Conn
	sent *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.sent.Add(int64(len(b)))
	return c.Conn.Write(b)
}

// benchStatus is a realistic status: five processes, two error lines,
// eight checks (445 bytes encoded). Its load1 moves by 1 each time load
// does: a material change, so every round gossips a (delta) status.
func benchStatus(load *atomic.Int64) StatusFunc {
	return func(context.Context) Status {
		s := Status{Uptime: 1000 * time.Hour, Load1: 0.5 + float64(load.Load()%2), Load5: 0.5, Load15: 0.4,
			MemUsed: 3 << 30, MemTotal: 8 << 30, CPU: 12.5, RxBytesPerSec: 123456, TxBytesPerSec: 65432, Users: 2,
			Errors: []string{strings.Repeat("Nov 21 02:14:07 web3 kernel: e1000e: eth0 NIC Link is Down ", 2),
				"Nov 21 02:15:00 web3 sshd[1234]: error: maximum authentication attempts exceeded"}}
		for i := range 5 {
			s.Processes = append(s.Processes, Process{Name: fmt.Sprintf("process-%d", i), CPU: float64(i), RSS: uint64(i) << 20})
		}
		for i := range 8 {
			s.Checks = append(s.Checks, Check{Name: fmt.Sprintf("check-%d/plugin", i), State: State(i % 3)})
		}
		return s
	}
}

// benchCluster is n meshes on memberlist's in-memory network, with
// memberlist's LAN timings (probe every second, gossip every 200 ms) and
// the default Down (30 min), as in production.
type benchCluster struct {
	meshes []*Mesh
	sent   []*atomic.Int64
	load   atomic.Int64
	cancel context.CancelFunc
	done   chan struct{}
}

func newBenchCluster(b *testing.B, n int) *benchCluster {
	b.Helper()
	c := &benchCluster{done: make(chan struct{})}
	var net memberlist.MockNetwork
	transports := make([]*memberlist.MockTransport, n)
	for i := range n {
		transports[i] = net.NewTransport(fmt.Sprintf("node%03d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	running := make(chan struct{}, n)
	for i := range n {
		sent := new(atomic.Int64)
		opts := Options{Name: fmt.Sprintf("node%03d", i), Cluster: "bench", Keys: [][]byte{testKey},
			AllowJoin: MustParseRanges("127.0.0.1"), Interval: time.Hour,
			transport: newCountingTransport(transports[i], sent)}
		if os.Getenv("MESH_BENCH_LOG") != "" {
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
		m, err := New(opts, benchStatus(&c.load))
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Start(); err != nil {
			b.Fatal(err)
		}
		c.meshes = append(c.meshes, m)
		c.sent = append(c.sent, sent)
		go func() {
			_ = m.Run(ctx)
			running <- struct{}{}
		}()
	}
	go func() {
		for range n {
			<-running
		}
		close(c.done)
	}()
	seed := c.meshes[0].ml.LocalNode().Address()
	for _, m := range c.meshes[1:] {
		if _, err := m.ml.Join([]string{seed}); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

func (c *benchCluster) stop() {
	c.cancel()
	<-c.done
}

// converged reports whether every mesh has, for every host, a status at
// least as new as want[host].
func (c *benchCluster) converged(want map[string]uint64) bool {
	for _, m := range c.meshes {
		m.mu.Lock()
		for name, seq := range want {
			h := m.table.hosts[name]
			if h == nil || h.lastSeq < seq {
				m.mu.Unlock()
				return false
			}
		}
		m.mu.Unlock()
	}
	return true
}

func (c *benchCluster) wantSeqs() map[string]uint64 {
	want := make(map[string]uint64, len(c.meshes))
	for _, m := range c.meshes {
		m.mu.Lock()
		want[m.opts.Name] = m.seq
		m.mu.Unlock()
	}
	return want
}

func (c *benchCluster) waitConverged(b *testing.B, want map[string]uint64, limit time.Duration) time.Duration {
	start := time.Now()
	for !c.converged(want) {
		if os.Getenv("MESH_BENCH_LOG") != "" && time.Since(start).Round(time.Second)%(10*time.Second) == 0 {
			missing := 0
			for _, m := range c.meshes {
				m.mu.Lock()
				for name, seq := range want {
					if h := m.table.hosts[name]; h == nil || h.lastSeq < seq {
						missing++
					}
				}
				m.mu.Unlock()
			}
			b.Logf("%s: %d statuses missing, %d queued", time.Since(start).Round(time.Second), missing, c.queued())
			time.Sleep(time.Second)
		}
		if time.Since(start) > limit {
			b.Fatalf("%d nodes not converged after %s", len(c.meshes), limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func (c *benchCluster) bytesSent() int64 {
	var t int64
	for _, s := range c.sent {
		t += s.Load()
	}
	return t
}

func (c *benchCluster) queued() int {
	q := 0
	for _, m := range c.meshes {
		q += m.queue.NumQueued() + m.relay.NumQueued()
	}
	return q
}

// benchmarkMesh measures in real time (see TestMeshTraffic in
// traffic_test.go for 10-500 members on a simulated clock), for n members: the time for every node to have
// every node's new status after all of them changed at once (one round of
// the 60 s updates), the bytes per node that round cost, the background
// traffic (probes, gossip, push/pull) per node per second, and their sum
// per node per second with a status change every 60 s on every host.
func benchmarkMesh(b *testing.B, n int) {
	c := newBenchCluster(b, n)
	defer c.stop()
	start := time.Now()
	c.waitConverged(b, c.wantSeqs(), 5*time.Minute)
	b.ReportMetric(time.Since(start).Seconds(), "join-converge-s")
	// Let the join traffic settle, then measure the background.
	for c.queued() > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	window := 10 * time.Second
	before := c.bytesSent()
	time.Sleep(window)
	background := float64(c.bytesSent()-before) / window.Seconds() / float64(n)

	var roundBytes, roundSecs float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.load.Add(1)
		before := c.bytesSent()
		t0 := time.Now()
		for _, m := range c.meshes {
			m.update(context.Background())
		}
		took := c.waitConverged(b, c.wantSeqs(), 5*time.Minute)
		// The round's traffic lasts until every queue is drained.
		for c.queued() > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		elapsed := time.Since(t0)
		roundSecs += took.Seconds()
		// Subtract the background during the round.
		roundBytes += float64(c.bytesSent()-before) - background*float64(n)*elapsed.Seconds()
	}
	b.StopTimer()
	perRound := roundBytes / float64(b.N) / float64(n)
	b.ReportMetric(roundSecs/float64(b.N), "converge-s")
	b.ReportMetric(perRound, "round-B/node")
	b.ReportMetric(background, "background-B/s/node")
	b.ReportMetric(background+perRound/60, "total-B/s/node@60s")
}

func BenchmarkMesh10(b *testing.B)  { benchmarkMesh(b, 10) }
func BenchmarkMesh50(b *testing.B)  { benchmarkMesh(b, 50) }
func BenchmarkMesh100(b *testing.B) { benchmarkMesh(b, 100) }
func BenchmarkMesh500(b *testing.B) { benchmarkMesh(b, 500) }

package mesh

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/hashicorp/memberlist"
)

// The traffic simulation: n meshes on memberlist's in-memory network
// inside a synctest bubble, so minutes of mesh time pass in seconds and
// every timer (probes, gossip, push/pull, status updates) fires when it
// would on a real network while CPU time is free. What it measures is
// therefore the protocol's traffic, not this machine's speed: the bytes
// each node writes (UDP packets and TCP streams, both directions of a
// push/pull), per simulated second, and how long a status takes to reach
// every node.
//
// go test ./agent/mesh -run TestMeshTraffic prints 10 members; more with
// -mesh.sizes 10,100,500. The lines it prints are in Go's benchmark
// format, so benchstat compares two runs.

var (
	simSizes    = flag.String("mesh.sizes", "10", "member counts for TestMeshTraffic, comma-separated")
	simPlain    = flag.Bool("mesh.plain", false, "TestMeshTraffic without encryption or compression, to break the bytes down by message type")
	simQuiet    = flag.Bool("mesh.quiet", false, "TestMeshTraffic with realistic readings (most intervals bring no material change) instead of a material change on every host every interval")
	simFigures  = flag.String("mesh.out", "", "also append TestMeshTraffic's benchmark lines to this file")
	simInterval = time.Minute
)

// Byte categories of the breakdown (plain mode only, except total).
const (
	catPing = iota
	catAck
	catMembership
	catStatusGossip
	catDeltaGossip
	catWants
	catUserOther
	catPacketOverhead
	catPushPullNodes
	catPushPullOurs
	catAntiEntropy
	catStreamOverhead
	catOther
	numCats
)

var catNames = [numCats]string{"probe: ping", "probe: ack/nack", "membership gossip (alive/suspect/dead)",
	"status gossip (whole)", "status gossip (deltas)", "wants and their replies", "other user packets", "packet headers (label, crc, compound)",
	"push/pull: memberlist node list", "push/pull: our LocalState", "anti-entropy statuses (TCP)",
	"stream headers", "other"}

type simNode struct {
	sent    atomic.Int64
	dropped atomic.Int64
	cats    *[numCats]atomic.Int64
}

// simNet is the simulation's network: memberlist's MockTransport gives
// the addresses, but packets and streams go through simTransport, whose
// sends never block on a node that has stopped (UDP drops instead; a
// stream gives up after its timeout), so the bubble can end.
type simNet struct {
	mnet  memberlist.MockNetwork
	nodes map[string]*simTransport
}

// simTransport counts what a node writes: packets and both ends of its
// streams.
type simTransport struct {
	*memberlist.MockTransport
	net     *simNet
	addr    net.Addr
	node    *simNode
	plain   bool
	packets chan *memberlist.Packet
	streams chan net.Conn
}

func (n *simNet) newTransport(name string, node *simNode, plain bool) *simTransport {
	mt := n.mnet.NewTransport(name)
	ip, port, _ := mt.FinalAdvertiseAddr("", 0)
	s := &simTransport{MockTransport: mt, net: n, node: node, plain: plain,
		addr:    &net.UDPAddr{IP: ip, Port: port},
		packets: make(chan *memberlist.Packet, 256), streams: make(chan net.Conn)}
	if n.nodes == nil {
		n.nodes = make(map[string]*simTransport)
	}
	n.nodes[net.JoinHostPort(ip.String(), strconv.Itoa(port))] = s
	return s
}

func (s *simTransport) PacketCh() <-chan *memberlist.Packet { return s.packets }
func (s *simTransport) StreamCh() <-chan net.Conn           { return s.streams }

func (s *simTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	s.node.sent.Add(int64(len(b)))
	if s.plain {
		classifyPacket(b, s.node.cats)
	}
	dest := s.net.nodes[addr]
	if dest == nil {
		return time.Time{}, fmt.Errorf("no node at %s", addr)
	}
	select {
	case dest.packets <- &memberlist.Packet{Buf: slices.Clone(b), From: s.addr, Timestamp: time.Now()}:
	default:
		s.node.dropped.Add(1)
	}
	return time.Now(), nil
}

func (s *simTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	dest := s.net.nodes[addr]
	if dest == nil {
		return nil, fmt.Errorf("no node at %s", addr)
	}
	mine, theirs := net.Pipe()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case dest.streams <- &simConn{Conn: theirs, t: dest}:
		return &simConn{Conn: mine, t: s}, nil
	case <-t.C:
		return nil, fmt.Errorf("dial %s: timeout", addr)
	}
}

// simConn counts a stream's writes; its remote address is 127.0.0.1 so
// that the allow list sees one (net.Pipe has none).
type simConn struct {
	net.Conn
	t    *simTransport
	kind int
}

func (c *simConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

func (c *simConn) Write(b []byte) (int, error) {
	c.t.node.sent.Add(int64(len(b)))
	if c.t.plain && len(b) > 0 {
		cat := c.kind
		switch {
		case b[0] == 244 && c.kind == 0: // label header, its own write
			cat = catStreamOverhead
		case c.kind == 0:
			switch b[0] {
			case 6: // pushPullMsg
				c.kind = catPushPullNodes
			case 8: // userMsg: an anti-entropy answer
				c.kind = catAntiEntropy
			default:
				c.kind = catOther
			}
			cat = c.kind
		}
		c.t.node.cats[cat].Add(int64(len(b)))
	}
	return c.Conn.Write(b)
}

// classifyPacket attributes an unencrypted, uncompressed packet's bytes.
func classifyPacket(b []byte, cats *[numCats]atomic.Int64) {
	if len(b) >= 2 && b[0] == 244 { // hasLabelMsg
		n := min(2+int(b[1]), len(b))
		cats[catPacketOverhead].Add(int64(n))
		b = b[n:]
	}
	if len(b) >= 5 && b[0] == 12 { // hasCrcMsg
		cats[catPacketOverhead].Add(5)
		b = b[5:]
	}
	classifyMessage(b, cats)
}

func classifyMessage(b []byte, cats *[numCats]atomic.Int64) {
	if len(b) == 0 {
		return
	}
	switch b[0] {
	case 7: // compoundMsg: count, count × uint16 lengths, parts
		if len(b) < 2 {
			cats[catOther].Add(int64(len(b)))
			return
		}
		n := int(b[1])
		hdr := 2 + 2*n
		if len(b) < hdr {
			cats[catOther].Add(int64(len(b)))
			return
		}
		cats[catPacketOverhead].Add(int64(hdr))
		rest := b[hdr:]
		for i := range n {
			l := int(binary.BigEndian.Uint16(b[2+2*i:]))
			l = min(l, len(rest))
			classifyMessage(rest[:l], cats)
			rest = rest[l:]
		}
	case 0, 1: // ping, indirect ping
		cats[catPing].Add(int64(len(b)))
	case 2, 11: // ack, nack
		cats[catAck].Add(int64(len(b)))
	case 3, 4, 5: // suspect, alive, dead
		cats[catMembership].Add(int64(len(b)))
	case 8: // userMsg
		switch {
		case len(b) < 2:
			cats[catUserOther].Add(int64(len(b)))
		case b[1] == msgStatus:
			cats[catStatusGossip].Add(int64(len(b)))
		case b[1] == msgDelta:
			cats[catDeltaGossip].Add(int64(len(b)))
		case b[1] == msgWant || b[1] == msgReply:
			cats[catWants].Add(int64(len(b)))
		default:
			cats[catUserOther].Add(int64(len(b)))
		}
	default:
		cats[catOther].Add(int64(len(b)))
	}
}

// stateCounter counts the bytes of our LocalState (inside push/pull).
type stateCounter struct {
	memberlist.Delegate
	n *atomic.Int64
}

func (d stateCounter) LocalState(join bool) []byte {
	b := d.Delegate.LocalState(join)
	d.n.Add(int64(len(b)))
	return b
}

// convergence tracks, for every status, when its host took it and which
// nodes have it or a newer one of its host (a node that missed it but got
// the next one is up to date).
type convergence struct {
	mu      sync.Mutex
	n       int
	from    time.Time // statuses taken before are not counted
	pending map[string][]*spread
	left    int
	took    []time.Duration
	reach   []time.Duration // per node and status: when it had it (or a newer one)
}

type spread struct {
	seq   uint64
	start time.Time
	have  []bool
	count int
}

// reach is every (node, status) delivery delay of the window.

func nodeIndex(name string) int {
	i, _ := strconv.Atoi(strings.TrimPrefix(name, "node"))
	return i
}

func (c *convergence) record(node, host string, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if node == host && !c.from.IsZero() && !now.Before(c.from) {
		c.pending[host] = append(c.pending[host], &spread{seq: seq, start: now, have: make([]bool, c.n)})
		c.left++
	}
	list := c.pending[host]
	k := nodeIndex(node)
	kept := list[:0]
	for _, sp := range list {
		if sp.seq <= seq && !sp.have[k] {
			sp.have[k] = true
			sp.count++
			if node != host {
				c.reach = append(c.reach, now.Sub(sp.start))
			}
		}
		if sp.count == c.n {
			c.took = append(c.took, now.Sub(sp.start))
			c.left--
			continue
		}
		kept = append(kept, sp)
	}
	c.pending[host] = kept
}

// simStatus is node i's status function. Every interval brings a
// material change (load1 moves by 0.5) unless quiet; quiet readings move
// by less than the thresholds most intervals, as an idle host's do.
func simStatus(i int, quiet bool) StatusFunc {
	calls := 0
	return func(context.Context) Status {
		calls++
		s := benchStatus(new(atomic.Int64))(context.Background())
		s.Uptime = time.Duration(1000+calls) * time.Hour
		if quiet {
			// Small jitter every call; a material change one call in ten.
			s.Load1 = 0.4 + 0.004*float64(calls%3) + 0.5*float64((calls+i)/10%2)
			s.CPU = 12.5 + 0.2*float64(calls%2)
			s.MemUsed = 3<<30 + uint64(calls%4)<<16
			s.RxBytesPerSec = 123456 + uint64(calls%5)*100
		} else {
			s.Load1 = 0.5 * float64(calls%2+1)
			s.Load5 = 0.4 + 0.01*float64(calls%7)
		}
		return s
	}
}

type simResult struct {
	n                    int
	joinConverge         time.Duration
	window               time.Duration
	meanBps, maxBps      float64
	convMean, convMax    time.Duration
	convP50, convP90     time.Duration
	reachP50, reachP90   time.Duration
	reachP99             time.Duration
	updates, unconverged int
	cats                 [numCats]int64
	downSeen             int
	plain, quiet         bool
	pushPullEvery        time.Duration
}

func simulate(t *testing.T, n int, plain, quiet bool) simResult {
	var snet simNet
	ctx, cancel := context.WithCancel(context.Background())
	conv := &convergence{n: n, pending: make(map[string][]*spread)}
	nodes := make([]*simNode, n)
	meshes := make([]*Mesh, n)
	var cats [numCats]atomic.Int64
	var ours atomic.Int64
	for i := range n {
		name := fmt.Sprintf("node%03d", i)
		nodes[i] = &simNode{cats: &cats}
		opts := Options{Name: name, Cluster: "sim", Keys: [][]byte{testKey},
			AllowJoin: MustParseRanges("127.0.0.1"), Interval: simInterval, History: 3,
			transport: snet.newTransport(name, nodes[i], plain),
			onStatus:  conv.record,
			tune: func(c *memberlist.Config) {
				if plain {
					c.Keyring, c.EnableCompression = nil, false
				}
				c.Delegate = stateCounter{c.Delegate, &ours}
			}}
		m, err := New(opts, simStatus(i, quiet))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		meshes[i] = m
	}
	seed := meshes[0].ml.LocalNode().Address()
	var wg sync.WaitGroup
	start := time.Now()
	// Nodes start over one interval, so that their updates are spread
	// as on a real network rather than all at once.
	for i, m := range meshes {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * simInterval / time.Duration(n))
			if i > 0 {
				if _, err := m.ml.Join([]string{seed}); err != nil {
					t.Errorf("%s: join: %v", m.opts.Name, err)
				}
			}
			_ = m.Run(ctx)
		})
	}
	haveAll := func() bool {
		for _, m := range meshes {
			m.mu.Lock()
			k := len(m.table.hosts)
			m.mu.Unlock()
			if k < n {
				return false
			}
		}
		for _, m := range meshes {
			m.mu.Lock()
			for _, h := range m.table.hosts {
				if h.lastSeq == 0 {
					m.mu.Unlock()
					return false
				}
			}
			m.mu.Unlock()
		}
		return true
	}
	time.Sleep(simInterval)
	for !haveAll() {
		if time.Since(start) > 30*time.Minute {
			t.Fatalf("%d nodes: not every node has every host's status after %s", n, time.Since(start))
		}
		time.Sleep(time.Second)
	}
	r := simResult{n: n, joinConverge: time.Since(start), plain: plain, quiet: quiet}
	// The join's push/pulls done, measure over a window holding at least
	// two push/pulls of every node (memberlist scales their interval with
	// log2 of the members).
	time.Sleep(2 * time.Minute)
	r.pushPullEvery = pushPullScaled(time.Minute, n)
	r.window = max(10*time.Minute, 2*r.pushPullEvery)
	before := make([]int64, n)
	for i, nd := range nodes {
		before[i] = nd.sent.Load()
	}
	var catsBefore [numCats]int64
	for i := range cats {
		catsBefore[i] = cats[i].Load()
	}
	oursBefore := ours.Load()
	conv.mu.Lock()
	conv.from = time.Now()
	conv.mu.Unlock()
	time.Sleep(r.window)
	conv.mu.Lock()
	conv.from = time.Now().Add(time.Hour) // no new statuses counted
	conv.mu.Unlock()
	var sum float64
	for i, nd := range nodes {
		bps := float64(nd.sent.Load()-before[i]) / r.window.Seconds()
		sum += bps
		r.maxBps = max(r.maxBps, bps)
	}
	r.meanBps = sum / float64(n)
	for i := range cats {
		r.cats[i] = cats[i].Load() - catsBefore[i]
	}
	r.cats[catPushPullOurs] = ours.Load() - oursBefore
	if plain {
		r.cats[catPushPullNodes] -= r.cats[catPushPullOurs]
	}
	// Statuses of the window still spreading get two push/pull intervals
	// more to arrive: one a node missed, and no newer one of its host came
	// to ask for it by, is repaired at the node's next push/pull (or a
	// peer's with it), settled antiEntropySettle.
	time.Sleep(2*r.pushPullEvery + time.Minute)
	conv.mu.Lock()
	r.updates = len(conv.took) + conv.left
	r.unconverged = conv.left
	var tot time.Duration
	for _, d := range conv.took {
		tot += d
		r.convMax = max(r.convMax, d)
	}
	if len(conv.took) > 0 {
		r.convMean = tot / time.Duration(len(conv.took))
		slices.Sort(conv.took)
		r.convP50 = conv.took[len(conv.took)/2]
		r.convP90 = conv.took[len(conv.took)*9/10]
	}
	if len(conv.reach) > 0 {
		slices.Sort(conv.reach)
		r.reachP50 = conv.reach[len(conv.reach)/2]
		r.reachP90 = conv.reach[len(conv.reach)*9/10]
		r.reachP99 = conv.reach[len(conv.reach)*99/100]
	}
	conv.mu.Unlock()
	if testing.Verbose() {
		var tot [8]uint64
		for _, m := range meshes {
			for i, c := range []*metrics.Counter{m.c.received, m.c.replayed, m.c.noBase, m.c.wantsSent, m.c.wantsAnswered, m.c.deltas, m.c.broadcasts, m.c.antiEntropy} {
				tot[i] += c.Get()
			}
		}
		var full, dropped uint64
		for i, m := range meshes {
			full += m.set.GetOrCreateCounter(`prophasis_mesh_packets_dropped_total{node="` + m.opts.Name + `",reason="queue_full"}`).Get()
			dropped += uint64(nodes[i].dropped.Load())
		}
		t.Logf("packets dropped: allow queue full %d, network queue full %d", full, dropped)
		t.Logf("received %d replayed %d no_base %d wants %d answered %d deltas %d sent %d anti-entropy %d", tot[0], tot[1], tot[2], tot[3], tot[4], tot[5], tot[6], tot[7])
	}
	for _, m := range meshes {
		for _, h := range m.View().Hosts {
			if !h.Up {
				r.downSeen++
			}
		}
	}
	cancel()
	wg.Wait()
	// memberlist's Shutdown does not wait for a probe under way: let its
	// timeouts pass, so that the bubble ends with no goroutine left.
	time.Sleep(time.Minute)
	return r
}

// pushPullScaled is memberlist's pushPullScale: the interval grows with
// log2 of the members past 32.
func pushPullScaled(interval time.Duration, n int) time.Duration {
	if n <= 32 {
		return interval
	}
	return time.Duration(math.Ceil(math.Log2(float64(n))-math.Log2(32))+1) * interval
}

func (r simResult) benchLines() string {
	name := "BenchmarkMeshSim"
	if r.quiet {
		name += "Quiet"
	}
	if r.plain {
		name += "Plain"
	}
	return fmt.Sprintf("%s/members=%d \t1\t%.0f B/s/node\t%.0f max-B/s/node\t%.1f converge-mean-s\t%.1f converge-p50-s\t%.1f converge-p90-s\t%.1f converge-max-s\t%.1f reach-p50-s\t%.1f reach-p90-s\t%.1f reach-p99-s\t%.0f join-converge-s\t%d updates\n",
		name, r.n, r.meanBps, r.maxBps, r.convMean.Seconds(), r.convP50.Seconds(), r.convP90.Seconds(), r.convMax.Seconds(),
		r.reachP50.Seconds(), r.reachP90.Seconds(), r.reachP99.Seconds(), r.joinConverge.Seconds(), r.updates)
}

func (r simResult) breakdown() string {
	var b strings.Builder
	var total int64
	for _, c := range r.cats {
		total += c
	}
	fmt.Fprintf(&b, "%d members, per node per second over %s:\n", r.n, r.window)
	order := make([]int, numCats)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, c int) int { return int(r.cats[c] - r.cats[a]) })
	for _, i := range order {
		if r.cats[i] == 0 {
			continue
		}
		v := float64(r.cats[i]) / r.window.Seconds() / float64(r.n)
		fmt.Fprintf(&b, "  %-40s %8.1f B/s  %5.1f%%\n", catNames[i], v, 100*float64(r.cats[i])/float64(max(total, 1)))
	}
	return b.String()
}

// TestMeshTraffic runs the simulation for each size in -mesh.sizes and
// checks what issue 8 asks: every status reaches every node, no live host
// is marked down, and a node sends at most 1 KB/s on average.
func TestMeshTraffic(t *testing.T) {
	for _, f := range strings.Split(*simSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			t.Fatalf("-mesh.sizes: %q is not a member count over 1", f)
		}
		t.Run(fmt.Sprintf("members=%d", n), func(t *testing.T) {
			var r simResult
			synctest.Test(t, func(t *testing.T) { r = simulate(t, n, *simPlain, *simQuiet) })
			line := r.benchLines()
			fmt.Print(line)
			if *simPlain {
				fmt.Print(r.breakdown())
			}
			if *simFigures != "" {
				f, err := os.OpenFile(*simFigures, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err == nil {
					_, _ = f.WriteString(line)
					_ = f.Close()
				}
			}
			if r.unconverged > 0 {
				t.Errorf("%d of %d statuses of the window never reached every node", r.unconverged, r.updates)
			}
			if r.updates == 0 {
				t.Error("no status update in the window")
			}
			if r.downSeen > 0 {
				t.Errorf("live hosts marked down %d times", r.downSeen)
			}
			// The goal is for the mesh as deployed: -mesh.plain turns
			// compression off to break the bytes down.
			if !r.plain && r.meanBps > 1024 {
				t.Errorf("%.0f B/s per node, over the 1 KB/s goal", r.meanBps)
			}
		})
	}
}

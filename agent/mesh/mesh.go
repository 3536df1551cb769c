package mesh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/hashicorp/memberlist"
)

// DefaultPort is the mesh's UDP and TCP port (memberlist's usual one).
const DefaultPort = 7946

// maxNodeNameLen bounds node names so that a status with its relay header
// always fits one gossip packet.
const maxNodeNameLen = 64

// gossipStatusLimit is the largest encoded status gossiped in a UDP packet
// (memberlist packets are at most 1400 bytes, less its headers, the label
// and encryption); bigger statuses are trimmed (checks, then log lines).
const gossipStatusLimit = 1100

// Options configure a Mesh. Zero fields take the defaults named.
type Options struct {
	// Name is this node's name in the mesh and the host its status is
	// about; default the hostname. At most 64 bytes.
	Name string
	// BindAddr and Port are where memberlist listens, UDP and TCP; default
	// 0.0.0.0 and DefaultPort. Every agent of a mesh uses the same port.
	BindAddr string
	Port     int
	// Cluster is the mesh's name, sent in clear as memberlist's label on
	// every packet: packets with another label are dropped, so two meshes
	// on one network ignore each other (unagi's signature). Required.
	Cluster string
	// Keys encrypt and authenticate gossip (AES-GCM, 16, 24 or 32 bytes).
	// The first is used to send; all are tried on receipt, so a key can be
	// rotated without downtime: add the new key second everywhere, then
	// make it first everywhere, then remove the old. Required.
	Keys [][]byte
	// Seeds are addresses (host or host:port) to join through.
	Seeds []string
	// Scan lists addresses to try, ScanRate per second (default 10), when
	// no seed answers: unagi's initial scan. Bounded by MaxScanAddresses.
	Scan     Ranges
	ScanRate float64
	// AllowJoin lists the addresses allowed in the mesh; packets and
	// connections from elsewhere are dropped and counted. Required.
	AllowJoin Ranges
	// Interval is how often this host's status is taken (default 1 min);
	// it is gossiped only when it changed.
	Interval time.Duration
	// Down is how long a peer may be silent before it is marked down
	// (default 30 min); Remove, before it is forgotten (default 10 days).
	// With Down under a minute memberlist's probes are tuned for a LAN
	// (probe every second) so that a stopped peer is noticed in seconds.
	Down   time.Duration
	Remove time.Duration
	// History is how many statuses of each host are kept (default 10).
	History int
	// StateFile keeps the host table across restarts ("" keeps nothing).
	StateFile string
	// Logger receives the mesh's logs; nil discards them.
	Logger *slog.Logger

	// transport replaces UDP/TCP (memberlist's MockTransport in benchmarks).
	transport memberlist.Transport
	// tune adjusts memberlist's configuration (tests and benchmarks).
	tune func(*memberlist.Config)
	// onStatus, when set, is told of every status this node takes: its
	// own (via == Name) and peers' (benchmarks measure convergence with
	// it). It is called with the mesh's lock held and must not block.
	onStatus func(node, host string, seq uint64)
}

// StatusFunc returns this host's status now. The mesh fills Host, Seq and
// Time; the function is called every Interval from one goroutine.
type StatusFunc func(ctx context.Context) Status

// Mesh is this agent's membership of the mesh. Its methods are safe for
// concurrent use.
type Mesh struct {
	opts   Options
	status StatusFunc
	logger *slog.Logger
	set    *metrics.Set
	// members lists the peers memberlist has alive (replaced in tests).
	members func() []member

	ml *memberlist.Memberlist
	// queue holds this node's own statuses, retransmitted memberlist's
	// usual RetransmitMult × log N times; relay holds the statuses it
	// passes on, retransmitted a quarter as often (log N): every node
	// relays, so the epidemic needs little from each, and a node that
	// missed one asks for it (msgWant) when the next delta comes.
	queue, relay *memberlist.TransmitLimitedQueue

	mu       sync.Mutex
	table    *peers
	seq      uint64
	lastSent Status
	sent     bool
	// quiet counts the intervals since this node last gossiped its status;
	// at heartbeat it gossips even without a material change.
	quiet, heartbeat int
	// wanted is when this node last asked for a host's whole status;
	// wantWindow and wantAnswers bound the wants it answers per second.
	wanted      map[string]time.Time
	wantWindow  time.Time
	wantAnswers int
	// unapplied is, per host, the low bits of the newest delta this node
	// relayed without having its base (relayed once, never again).
	unapplied map[string]uint32
	// tookAt is when this node last took a status of each host: anti-
	// entropy leaves out what is still spreading by gossip.
	tookAt map[string]time.Time
	// inFlight is the sequence number of this node's own status while
	// memberlist still transmits it (0 when done): the next status is
	// then sent whole, since a delta would replace its base in the queue.
	inFlight atomic.Uint64

	c counters
}

// member is a peer memberlist lists alive.
type member struct{ name, addr string }

type counters struct {
	received, bad, replayed, future, own, noBase, refusedAlive, refusedMerge, broadcasts, deltas, antiEntropy *metrics.Counter
	wantsSent, wantsAnswered, wantsRefused                                                                    *metrics.Counter
}

// New checks opts and prepares a mesh; Run starts it.
func New(opts Options, status StatusFunc) (*Mesh, error) {
	m, err := newMesh(opts, status)
	if err != nil {
		return nil, err
	}
	if opts.StateFile != "" {
		sf, err := loadState(opts.StateFile)
		if err != nil {
			return nil, err
		}
		m.table.restore(sf)
	}
	return m, nil
}

// newMesh validates opts and builds everything but memberlist.
func newMesh(opts Options, status StatusFunc) (*Mesh, error) {
	if opts.Name == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("mesh: host name: %w", err)
		}
		opts.Name = h
	}
	switch {
	case len(opts.Name) > maxNodeNameLen || !validString(opts.Name, maxNodeNameLen):
		return nil, fmt.Errorf("mesh: node name %q: at most %d printable bytes", opts.Name, maxNodeNameLen)
	case opts.Cluster == "":
		return nil, errors.New("mesh: no cluster name")
	case len(opts.Cluster) > 255:
		return nil, errors.New("mesh: cluster name over 255 bytes")
	case len(opts.Keys) == 0:
		return nil, errors.New("mesh: no key: gossip must be encrypted")
	case len(opts.AllowJoin) == 0:
		return nil, errors.New("mesh: no allow list: say which addresses may join")
	case status == nil:
		return nil, errors.New("BUG: mesh: nil status function")
	}
	for i, k := range opts.Keys {
		if l := len(k); l != 16 && l != 24 && l != 32 {
			return nil, fmt.Errorf("mesh: key %d is %d bytes; want 16, 24 or 32", i+1, l)
		}
	}
	if _, err := opts.Scan.Addresses(); err != nil {
		return nil, fmt.Errorf("mesh: scan: %w", err)
	}
	if opts.BindAddr == "" {
		opts.BindAddr = "0.0.0.0"
	}
	if opts.Port == 0 {
		opts.Port = DefaultPort
	}
	if opts.ScanRate <= 0 {
		opts.ScanRate = 10
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Down <= 0 {
		opts.Down = DefaultDown
	}
	if opts.Remove <= 0 {
		opts.Remove = DefaultRemove
	}
	if opts.Remove < opts.Down {
		return nil, fmt.Errorf("mesh: remove after %s is before down after %s", opts.Remove, opts.Down)
	}
	if opts.History <= 0 {
		opts.History = DefaultHistory
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Mesh{
		opts: opts, status: status, logger: logger.With("component", "mesh"), set: metrics.NewSet(),
		table: newPeers(opts.Name, opts.Down, opts.Remove, opts.History),
		// Sequence numbers start at the start time, so they keep growing
		// across restarts and a peer does not take new statuses for replays.
		seq:       uint64(time.Now().UnixNano()),
		heartbeat: heartbeatEvery(opts.Interval, opts.Down),
		wanted:    make(map[string]time.Time),
		unapplied: make(map[string]uint32),
		tookAt:    make(map[string]time.Time),
	}
	counter := func(name, labels string) *metrics.Counter {
		return m.set.GetOrCreateCounter(fmt.Sprintf(`prophasis_mesh_%s{node=%q%s}`, name, opts.Name, labels))
	}
	m.c = counters{
		received: counter("statuses_received_total", ""),
		bad:      counter("statuses_dropped_total", `,reason="malformed"`),
		replayed: counter("statuses_dropped_total", `,reason="replayed"`),
		future:   counter("statuses_dropped_total", `,reason="future"`),
		own:      counter("statuses_dropped_total", `,reason="own_name"`),
		// A delta whose base this node lacks: it asks for the whole status.
		noBase:        counter("statuses_dropped_total", `,reason="no_base"`),
		refusedAlive:  counter("refused_total", `,reason="alive_outside_allow"`),
		refusedMerge:  counter("refused_total", `,reason="merge_outside_allow"`),
		broadcasts:    counter("statuses_sent_total", ""),
		deltas:        counter("deltas_sent_total", ""),
		wantsSent:     counter("wants_sent_total", ""),
		wantsAnswered: counter("wants_answered_total", ""),
		wantsRefused:  counter("wants_refused_total", ""),
		antiEntropy:   counter("anti_entropy_messages_sent_total", ""),
	}
	m.table.onDown = func(name string) { m.logger.Warn("peer down", "peer", name, "silent_for", opts.Down) }
	m.table.onBack = func(name string) { m.logger.Info("peer back", "peer", name) }
	return m, nil
}

// memberlistConfig builds memberlist's configuration from the options.
func (m *Mesh) memberlistConfig() (*memberlist.Config, error) {
	var conf *memberlist.Config
	if m.opts.Down < time.Minute {
		conf = memberlist.DefaultLocalConfig()
	} else {
		conf = memberlist.DefaultLANConfig()
	}
	conf.Name = m.opts.Name
	conf.BindAddr = m.opts.BindAddr
	conf.BindPort = m.opts.Port
	conf.AdvertisePort = m.opts.Port
	conf.Label = m.opts.Cluster
	kr, err := memberlist.NewKeyring(m.opts.Keys, m.opts.Keys[0])
	if err != nil {
		return nil, fmt.Errorf("mesh: keyring: %w", err)
	}
	conf.Keyring = kr
	conf.GossipVerifyIncoming, conf.GossipVerifyOutgoing = true, true
	conf.CIDRsAllowed = m.opts.AllowJoin.CIDRs()
	conf.Delegate = (*delegate)(m)
	conf.Events = (*events)(m)
	conf.Alive = (*delegate)(m)
	conf.Merge = (*delegate)(m)
	conf.Logger = newMemberlistLogger(m.logger, m.set, m.opts.Name)
	// Push/pull carries the node list and a digest of statuses (the
	// whole table on join): the anti-entropy that repairs a status a node
	// missed when no newer one of its host comes to ask for it by (a quiet
	// host gossips every 10 intervals). memberlist's 30 s, scaled with
	// log2 of the members past 32 (2.5 min at 500): the node lists cost
	// ~130 B/s per node at 500, compressed.
	if m.opts.Down < time.Minute {
		conf.PushPullInterval = 5 * time.Second
	} else {
		// Statuses change at most every Interval (a minute by default) and
		// Down is long: gossip once a second rather than five times (every
		// gossip packet costs ~45 bytes of label, checksum and encryption
		// whatever it carries), and probe every 5 s rather than every
		// second (SWIM still notices a dead member within about a minute
		// at 500 members, far inside Down).
		conf.GossipInterval = time.Second
		conf.ProbeInterval = 5 * time.Second
	}
	if m.opts.tune != nil {
		m.opts.tune(conf)
	}
	m.queue = &memberlist.TransmitLimitedQueue{NumNodes: m.numMembers, RetransmitMult: conf.RetransmitMult}
	m.relay = &memberlist.TransmitLimitedQueue{NumNodes: m.numMembers, RetransmitMult: max(conf.RetransmitMult/4, 1)}
	inner := m.opts.transport
	if inner == nil {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{m.opts.BindAddr}, BindPort: m.opts.Port, Logger: conf.Logger})
		if err != nil {
			return nil, fmt.Errorf("mesh: listen on %s: %w", net.JoinHostPort(m.opts.BindAddr, strconv.Itoa(m.opts.Port)), err)
		}
		inner = nt
	}
	at := newAllowTransport(inner, m.opts.AllowJoin, m.set, m.opts.Name)
	if ip := net.ParseIP(m.opts.BindAddr); m.opts.transport == nil && ip != nil && !ip.IsUnspecified() {
		at.dialFrom = ip
	}
	conf.Transport = at
	return conf, nil
}

func (m *Mesh) numMembers() int {
	if m.ml == nil {
		return 1
	}
	return m.ml.NumMembers()
}

// Start creates the memberlist (binding its ports); Run calls it if it
// was not called. Separate so that the agent can bind before dropping
// privileges.
func (m *Mesh) Start() error {
	if m.ml != nil {
		return nil
	}
	conf, err := m.memberlistConfig()
	if err != nil {
		return err
	}
	ml, err := memberlist.Create(conf)
	if err != nil {
		_ = conf.Transport.Shutdown()
		return fmt.Errorf("mesh: %w", err)
	}
	m.ml = ml
	m.members = func() []member {
		var out []member
		for _, n := range ml.Members() {
			// A suspect is not seen: Down counts from the last time a
			// probe had it alive, not from when SWIM gave up on it
			// (SuspicionMult × log10 N probe intervals later, about a
			// minute at 500 members with 5 s probes).
			if n.State != memberlist.StateAlive {
				continue
			}
			out = append(out, member{name: n.Name, addr: n.Address()})
		}
		return out
	}
	metrics.RegisterSet(m.set)
	return nil
}

// Run takes this host's status every Interval and gossips it when it
// changed, joins the mesh through the seeds (or the scan) and keeps the
// host table, until ctx ends; then it leaves the mesh and saves the table.
func (m *Mesh) Run(ctx context.Context) error {
	if err := m.Start(); err != nil {
		return err
	}
	defer m.stop()
	m.logger.Info("mesh running", "node", m.opts.Name, "addr", m.ml.LocalNode().Address(), "cluster", m.opts.Cluster)
	var wg sync.WaitGroup
	wg.Go(func() { m.join(ctx) })
	wg.Go(func() { m.watch(ctx) })
	m.update(ctx)
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			m.update(ctx)
		}
	}
}

// stop leaves the mesh (so peers know at once rather than after probes
// fail), shuts memberlist down and saves the table.
func (m *Mesh) stop() {
	if err := m.ml.Leave(time.Second); err != nil {
		m.logger.Debug("leave", "err", err)
	}
	_ = m.ml.Shutdown()
	metrics.UnregisterSet(m.set, false)
	m.save()
}

// update takes this host's status and queues it for gossip if a reading
// changed materially (delta.go), or if it has been quiet for heartbeat
// intervals; after the first status, as a delta from the one before.
func (m *Mesh) update(ctx context.Context) {
	s := m.status(ctx)
	s.Host = m.opts.Name
	s.Time = time.Now()
	m.mu.Lock()
	full := !m.sent || m.inFlight.Load() != 0
	if m.sent {
		var material bool
		s, material = materialUpdate(m.lastSent, s.normalize())
		m.quiet++
		if !material && m.quiet < m.heartbeat {
			m.mu.Unlock()
			return
		}
	}
	m.seq++
	s.Seq = m.seq
	b, err := s.Encode(gossipStatusLimit)
	if err != nil {
		m.mu.Unlock()
		m.logger.Error("status not gossiped", "err", err)
		return
	}
	s, _ = DecodeStatus(b) // what peers will see
	msg := envelope(m.opts.Name, b)
	if !full {
		if d := encodeDelta(m.lastSent, s, b); d != nil {
			msg = envelopeOf(msgDelta, m.opts.Name, d)
			m.c.deltas.Inc()
		}
	}
	m.table.offer(s, m.opts.Name, time.Now())
	if m.opts.onStatus != nil {
		m.opts.onStatus(m.opts.Name, s.Host, s.Seq)
	}
	m.lastSent, m.sent, m.quiet = s, true, 0
	m.mu.Unlock()
	seq := s.Seq
	m.inFlight.Store(seq)
	// Not under m.mu: see NotifyMsg.
	m.queue.QueueBroadcast(&statusBroadcast{host: s.Host, msg: msg,
		finished: func() { m.inFlight.CompareAndSwap(seq, 0) }})
	m.c.broadcasts.Inc()
}

// watch applies liveness: every tick, memberlist's alive members are seen
// and silent hosts marked down or removed; the table is saved on change.
func (m *Mesh) watch(ctx context.Context) {
	t := time.NewTicker(max(min(m.opts.Down/10, 10*time.Second), 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		alive := m.members()
		now := time.Now()
		m.mu.Lock()
		changed := false
		for _, p := range alive {
			changed = m.table.seen(p.name, p.addr, now) || changed
		}
		if m.table.sweep(now) {
			changed = true
			// Forget what was kept of hosts now removed.
			for _, kept := range []map[string]time.Time{m.tookAt, m.wanted} {
				for name := range kept {
					if m.table.hosts[name] == nil {
						delete(kept, name)
					}
				}
			}
			for name := range m.unapplied {
				if m.table.hosts[name] == nil {
					delete(m.unapplied, name)
				}
			}
		}
		m.mu.Unlock()
		if changed {
			m.save()
		}
	}
}

// save writes the state file, if there is one.
func (m *Mesh) save() {
	if m.opts.StateFile == "" {
		return
	}
	m.mu.Lock()
	sf := m.table.snapshot()
	m.mu.Unlock()
	if err := saveState(m.opts.StateFile, sf); err != nil {
		m.logger.Error("mesh state not saved", "err", err)
	}
}

// Metrics returns the mesh's counters (for tests and a /metrics page).
func (m *Mesh) Metrics() *metrics.Set { return m.set }

// Name returns this node's name.
func (m *Mesh) Name() string { return m.opts.Name }

package mesh

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/hashicorp/memberlist"
)

// allowTransport wraps memberlist's transport and drops every packet and
// stream whose source address is outside the allow list before memberlist
// reads it, counting them: a flood of join attempts from elsewhere costs a
// range check each. (memberlist's own CIDRsAllowed is set too, as a second
// line; it refuses the same addresses but only logs.)
//
// Peers inside the list but with another key or cluster name get further,
// and are dropped by memberlist's decryption and label checks.
type allowTransport struct {
	memberlist.Transport
	allow          Ranges
	packets        chan *memberlist.Packet
	streams        chan net.Conn
	refusedPackets *metrics.Counter
	refusedStreams *metrics.Counter
	packetsFull    *metrics.Counter
	done           chan struct{} // closed at Shutdown: stop delivering
	drained        chan struct{} // closed after the inner transport shut down
	once           sync.Once
	// dialFrom, when set, is the source address of outgoing streams: the
	// bind address, so that peers see (and allow) the address this node
	// advertises, not whatever the kernel picks.
	dialFrom net.IP
}

// DialTimeout opens a stream to addr, from dialFrom when set.
func (t *allowTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.dialFrom == nil {
		return t.Transport.DialTimeout(addr, timeout)
	}
	d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: t.dialFrom}}
	return d.Dial("tcp", addr)
}

// packetQueue is how many packets may wait for memberlist.
const packetQueue = 1024

func newAllowTransport(inner memberlist.Transport, allow Ranges, set *metrics.Set, node string) *allowTransport {
	t := &allowTransport{
		Transport:      inner,
		allow:          allow,
		packets:        make(chan *memberlist.Packet, packetQueue),
		packetsFull:    set.GetOrCreateCounter(`prophasis_mesh_packets_dropped_total{node="` + node + `",reason="queue_full"}`),
		streams:        make(chan net.Conn),
		refusedPackets: set.GetOrCreateCounter(`prophasis_mesh_refused_total{node="` + node + `",reason="packet_outside_allow"}`),
		refusedStreams: set.GetOrCreateCounter(`prophasis_mesh_refused_total{node="` + node + `",reason="stream_outside_allow"}`),
		done:           make(chan struct{}),
		drained:        make(chan struct{}),
	}
	go t.forwardPackets()
	go t.forwardStreams()
	return t
}

// allowed reports whether addr (ip:port, as transports give it) is in the list.
func (t *allowTransport) allowed(addr net.Addr) bool {
	if addr == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(addr.String())
	return err == nil && t.allow.Contains(ap.Addr())
}

func (t *allowTransport) closing() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// forwardPackets keeps reading the inner transport until it has shut down
// (its listener blocks on an unread channel, and its Shutdown waits for
// the listener), delivering nothing once Shutdown began.
func (t *allowTransport) forwardPackets() {
	in := t.Transport.PacketCh()
	for {
		select {
		case <-t.drained:
			return
		case p := <-in:
			if t.closing() {
				continue
			}
			if !t.allowed(p.From) {
				t.refusedPackets.Inc()
				continue
			}
			// Never block: a packet memberlist cannot take now is dropped,
			// as the kernel drops UDP it cannot queue. Blocking here would
			// block the sender's transport (and, on memberlist's in-memory
			// network, can deadlock two nodes acking each other).
			select {
			case t.packets <- p:
			default:
				t.packetsFull.Inc()
			}
		}
	}
}

func (t *allowTransport) forwardStreams() {
	in := t.Transport.StreamCh()
	for {
		select {
		case <-t.drained:
			return
		case c := <-in:
			if t.closing() {
				_ = c.Close()
				continue
			}
			if !t.allowed(c.RemoteAddr()) {
				t.refusedStreams.Inc()
				_ = c.Close()
				continue
			}
			select {
			case t.streams <- c:
			case <-t.done:
				_ = c.Close()
			}
		}
	}
}

// PacketCh returns the allowed packets.
func (t *allowTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// StreamCh returns the allowed streams.
func (t *allowTransport) StreamCh() <-chan net.Conn { return t.streams }

// Shutdown stops forwarding and shuts the wrapped transport down.
func (t *allowTransport) Shutdown() error {
	var err error
	t.once.Do(func() {
		close(t.done)
		err = t.Transport.Shutdown()
		close(t.drained)
	})
	return err
}

package mesh

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hashicorp/memberlist"
)

// Gossip messages. A status travels in an envelope naming the node that
// sent it (its origin or a relay), so a peer can say who reported a host:
//
//	msgStatus  len(via) via  status
//	msgDelta   len(via) via  delta      (delta.go: only what changed)
//
// memberlist only retransmits what a node queued itself, so each node
// that accepts a newer status queues it again (as serf does): epidemic
// spread with memberlist's retransmit limit (RetransmitMult × log N for a
// node's own status, a third of that for relays).
//
// A node that gets a delta whose base it lacks (it missed a status)
// relays it all the same, once, and asks the relay by UDP for what it
// missed, naming the status it has; the answer is a delta from that one
// if the relay keeps it, otherwise the whole status, in a msgReply (not
// relayed: only this node lacked it):
//
//	msgWant   len(sender) sender  len(host) host  seq
//	msgReply  len(via) via  status|delta
//
// Push/pull state (TCP, on join and every PushPullInterval) is, on join,
// every host's latest status so that a new node sees the cluster at once:
//
//	msgState  len(sender) sender  count  {len(status) status}
//
// and otherwise a digest, the latest sequence number of every host:
//
//	msgDigest len(sender) sender  count  {len(host) host seq}
//
// A node receiving a digest sends the peer, over TCP in msgState
// messages, what it has newer than the digest says (a delta from the
// peer's status when it still keeps that one, otherwise the whole
// status; the first byte tells them apart), leaving out what it took in
// the last antiEntropySettle: anti-entropy, so a status gossip missed
// (UDP loss, retransmit limit) arrives by the next push/pull, for ~20
// bytes per host per exchange.
const (
	msgStatus byte = 1
	msgState  byte = 2
	msgDigest byte = 3
	msgDelta  byte = 4
	msgWant   byte = 5
	msgReply  byte = 6
)

// maxStateMessage bounds one msgState message sent over TCP.
const maxStateMessage = 256 << 10

// antiEntropySettle is how long a status just taken is left to gossip
// before anti-entropy sends it.
const antiEntropySettle = 15 * time.Second

// maxStateStatuses bounds one push/pull state.
const maxStateStatuses = 10000

// delegate is the Mesh as memberlist's Delegate, AliveDelegate and
// MergeDelegate. memberlist calls these from several goroutines; they take
// the Mesh's lock.
type delegate Mesh

// events is the Mesh as memberlist's EventDelegate.
type events Mesh

func envelope(via string, status []byte) []byte { return envelopeOf(msgStatus, via, status) }

// envelopeOf wraps a status, delta or reply.
func envelopeOf(typ byte, via string, body []byte) []byte {
	b := make([]byte, 0, 2+len(via)+len(body))
	b = append(b, typ, byte(len(via)))
	b = append(b, via...)
	return append(b, body...)
}

// errBadEnvelope is a gossip message that is not a status envelope.
var errBadEnvelope = errors.New("bad envelope")

func openEnvelope(b []byte) (via string, status []byte, err error) {
	if len(b) < 2 || (b[0] != msgStatus && b[0] != msgDelta && b[0] != msgReply) {
		return "", nil, errBadEnvelope
	}
	n := int(b[1])
	if n > maxNodeNameLen || len(b) < 2+n {
		return "", nil, errBadEnvelope
	}
	via = string(b[2 : 2+n])
	if !validString(via, maxNodeNameLen) {
		return "", nil, errBadEnvelope
	}
	return via, b[2+n:], nil
}

// NodeMeta is empty: statuses travel as messages, not metadata.
func (d *delegate) NodeMeta(int) []byte { return nil }

// NotifyMsg receives a gossiped status or delta, a want, a reply to one,
// or statuses a peer sent after reading this node's digest.
func (d *delegate) NotifyMsg(b []byte) {
	m := (*Mesh)(d)
	if len(b) == 0 {
		m.c.bad.Inc()
		return
	}
	switch b[0] {
	case msgState:
		m.mergeState(b, false)
		return
	case msgWant:
		m.answerWant(b)
		return
	case msgDelta:
		m.takeDelta(b)
		return
	case msgReply:
		via, body, err := openEnvelope(b)
		if err != nil {
			m.c.bad.Inc()
			return
		}
		m.mu.Lock()
		m.takeEntry(body, via)
		m.mu.Unlock()
		return
	}
	via, sb, err := openEnvelope(b)
	if err != nil {
		m.c.bad.Inc()
		return
	}
	s, err := DecodeStatus(sb)
	if err != nil {
		m.c.bad.Inc()
		return
	}
	m.mu.Lock()
	ok := m.accept(s, via)
	m.mu.Unlock()
	if ok {
		// Relay it: the copy names this node. (Queued without m.mu: the
		// queue asks memberlist for the member count, and memberlist
		// calls NotifyJoin, which takes m.mu, with its node lock held.)
		m.relay.QueueBroadcast(&statusBroadcast{host: s.Host, msg: envelope(m.opts.Name, sb)})
	}
}

// accept offers s to the table and counts the verdict. m.mu is held.
func (m *Mesh) accept(s Status, via string) bool {
	switch m.table.offer(s, via, time.Now()) {
	case accepted:
		m.c.received.Inc()
		m.tookAt[s.Host] = time.Now()
		if m.opts.onStatus != nil {
			m.opts.onStatus(m.opts.Name, s.Host, s.Seq)
		}
		return true
	case replayed:
		m.c.replayed.Inc()
	case future:
		m.c.future.Inc()
	case ownStatus:
		m.c.own.Inc()
	}
	return false
}

// GetBroadcasts hands memberlist the queued statuses: this node's own
// first, then relayed ones in the space left.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	out := d.queue.GetBroadcasts(overhead, limit)
	for _, b := range out {
		limit -= overhead + len(b)
	}
	if d.relay != nil && limit > overhead {
		out = append(out, d.relay.GetBroadcasts(overhead, limit)...)
	}
	return out
}

// LocalState is every host's latest status on join, a digest otherwise.
func (d *delegate) LocalState(join bool) []byte {
	m := (*Mesh)(d)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !join {
		b := header(msgDigest, m.opts.Name)
		hosts := m.table.sortedHosts()
		b = binary.AppendUvarint(b, uint64(len(hosts)))
		for _, h := range hosts {
			b = append(b, byte(len(h.name)))
			b = append(b, h.name...)
			b = binary.AppendUvarint(b, h.lastSeq)
		}
		return b
	}
	var list [][]byte
	for _, h := range m.table.sortedHosts() {
		if s, ok := h.statuses.latest(); ok {
			if b, err := s.Encode(MaxStatusBytes); err == nil {
				list = append(list, b)
			}
		}
	}
	return stateMessage(m.opts.Name, list)
}

func header(typ byte, sender string) []byte {
	b := []byte{typ, byte(len(sender))}
	return append(b, sender...)
}

func stateMessage(sender string, statuses [][]byte) []byte {
	b := header(msgState, sender)
	b = binary.AppendUvarint(b, uint64(len(statuses)))
	for _, s := range statuses {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// MergeRemoteState takes a peer's push/pull state: statuses, or a digest
// to answer with the statuses the peer lacks.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	m := (*Mesh)(d)
	if len(buf) > 0 && buf[0] == msgDigest {
		m.answerDigest(buf)
		return
	}
	m.mergeState(buf, join)
}

// mergeState takes the statuses of a msgState message. Those new here are
// gossiped on after a join (two halves of a mesh meeting: what one half
// lacks, all of it lacks); an anti-entropy answer is news to this node
// only.
func (m *Mesh) mergeState(buf []byte, relayNew bool) {
	sender, statuses, err := parseState(buf)
	if err != nil {
		m.c.bad.Inc()
		m.logger.Debug("bad mesh state", "err", err)
		return
	}
	var relay []*statusBroadcast
	m.mu.Lock()
	for _, sb := range statuses {
		if len(sb) > 0 && sb[0] == deltaVersion {
			d, err := decodeDelta(sb)
			if err != nil {
				m.c.bad.Inc()
				continue
			}
			if m.offerDelta(d, sender) == accepted && relayNew {
				relay = append(relay, &statusBroadcast{host: d.host, msg: envelopeOf(msgDelta, m.opts.Name, sb)})
			}
			continue
		}
		s, err := DecodeStatus(sb)
		if err != nil {
			m.c.bad.Inc()
			continue
		}
		if m.accept(s, sender) && relayNew {
			relay = append(relay, &statusBroadcast{host: s.Host, msg: envelope(m.opts.Name, sb)})
		}
	}
	m.mu.Unlock()
	// What was new here is probably new to others too (a node that just
	// joined, say): gossip it on. Not under m.mu: see NotifyMsg.
	for _, b := range relay {
		m.relay.QueueBroadcast(b)
	}
}

// answerDigest sends the digest's sender, over TCP, the statuses this
// node has newer than the digest lists.
func (m *Mesh) answerDigest(buf []byte) {
	sender, seqs, err := parseDigest(buf)
	if err != nil {
		m.c.bad.Inc()
		m.logger.Debug("bad mesh digest", "err", err)
		return
	}
	var msgs [][]byte
	var batch [][]byte
	size := 0
	now := time.Now()
	m.mu.Lock()
	for _, h := range m.table.sortedHosts() {
		// Left out: what the peer has, and what this node took moments
		// ago (gossip is still spreading it; the next push/pull sends it
		// if that fails).
		if h.name == sender || h.lastSeq <= seqs[h.name] || now.Sub(m.tookAt[h.name]) < antiEntropySettle {
			continue
		}
		b, ok := catchUp(h, seqs[h.name], MaxStatusBytes)
		if !ok {
			continue
		}
		if size+len(b) > maxStateMessage {
			msgs = append(msgs, stateMessage(m.opts.Name, batch))
			batch, size = nil, 0
		}
		batch = append(batch, b)
		size += len(b) + 3
	}
	m.mu.Unlock()
	if len(batch) > 0 {
		msgs = append(msgs, stateMessage(m.opts.Name, batch))
	}
	if len(msgs) == 0 || m.ml == nil {
		return
	}
	var to *memberlist.Node
	for _, n := range m.ml.Members() {
		if n.Name == sender {
			to = n
			break
		}
	}
	if to == nil {
		return
	}
	// Not from memberlist's push/pull goroutine, which holds a connection.
	go func() {
		for _, msg := range msgs {
			if err := m.ml.SendReliable(to, msg); err != nil {
				m.logger.Debug("anti-entropy send", "peer", sender, "err", err)
				return
			}
			m.c.antiEntropy.Inc()
		}
	}()
}

// parseDigest reads a msgDigest: the sender and host → latest sequence.
func parseDigest(b []byte) (string, map[string]uint64, error) {
	sender, b, err := parseHeader(b, msgDigest)
	if err != nil {
		return "", nil, err
	}
	count, k := binary.Uvarint(b)
	if k <= 0 || count > maxStateStatuses {
		return "", nil, errors.New("bad host count")
	}
	b = b[k:]
	seqs := make(map[string]uint64, count)
	for range count {
		if len(b) < 1 || int(b[0]) > len(b)-1 {
			return "", nil, errors.New("truncated digest")
		}
		name := string(b[1 : 1+b[0]])
		b = b[1+int(len(name)):]
		seq, k := binary.Uvarint(b)
		if k <= 0 {
			return "", nil, errors.New("truncated digest")
		}
		b = b[k:]
		seqs[name] = seq
	}
	if len(b) != 0 {
		return "", nil, fmt.Errorf("%d trailing bytes", len(b))
	}
	return sender, seqs, nil
}

// parseHeader reads a message's type and sender.
func parseHeader(b []byte, typ byte) (string, []byte, error) {
	if len(b) < 2 || b[0] != typ {
		return "", nil, errors.New("unexpected message type")
	}
	n := int(b[1])
	if n > maxNodeNameLen || len(b) < 2+n || !validString(string(b[2:2+n]), maxNodeNameLen) {
		return "", nil, errors.New("bad sender")
	}
	return string(b[2 : 2+n]), b[2+n:], nil
}

// parseState splits a msgState into its sender and raw statuses.
func parseState(b []byte) (string, [][]byte, error) {
	sender, b, err := parseHeader(b, msgState)
	if err != nil {
		return "", nil, err
	}
	count, k := binary.Uvarint(b)
	if k <= 0 || count > maxStateStatuses {
		return "", nil, errors.New("bad status count")
	}
	b = b[k:]
	out := make([][]byte, 0, count)
	for range count {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > MaxStatusBytes || uint64(len(b)-k) < l {
			return "", nil, errors.New("truncated status")
		}
		out = append(out, b[k:k+int(l)])
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return "", nil, fmt.Errorf("%d trailing bytes", len(b))
	}
	return sender, out, nil
}

// NotifyAlive refuses peers whose address is outside the allow list (a
// member inside gossiping about one outside, say).
func (d *delegate) NotifyAlive(peer *memberlist.Node) error {
	if !d.allowedNode(peer) {
		d.c.refusedAlive.Inc()
		return fmt.Errorf("%s (%s) is outside the mesh's allow list", peer.Name, peer.Addr)
	}
	return nil
}

// NotifyMerge refuses a push/pull merge that lists any peer outside the
// allow list, or with a name the mesh cannot show.
func (d *delegate) NotifyMerge(peers []*memberlist.Node) error {
	for _, p := range peers {
		if !d.allowedNode(p) {
			d.c.refusedMerge.Inc()
			return fmt.Errorf("%s (%s) is outside the mesh's allow list", p.Name, p.Addr)
		}
	}
	return nil
}

func (d *delegate) allowedNode(n *memberlist.Node) bool {
	a, ok := netip.AddrFromSlice(n.Addr)
	return ok && d.opts.AllowJoin.Contains(a) && validString(n.Name, maxNodeNameLen) && n.Name != ""
}

// NotifyJoin records a peer's address as soon as memberlist knows it.
func (e *events) NotifyJoin(n *memberlist.Node) {
	m := (*Mesh)(e)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.table.seen(n.Name, n.Address(), time.Now())
}

// NotifyLeave is only logged: the peer becomes down after Down of silence.
func (e *events) NotifyLeave(n *memberlist.Node) {
	(*Mesh)(e).logger.Debug("memberlist lost a peer", "peer", n.Name)
}

// NotifyUpdate is NotifyJoin.
func (e *events) NotifyUpdate(n *memberlist.Node) { e.NotifyJoin(n) }

// statusBroadcast is one host's status in the transmit queue; a newer
// status of the same host replaces it (NamedBroadcast).
type statusBroadcast struct {
	host     string
	msg      []byte
	finished func() // when set, called once memberlist is done with it
}

func (b *statusBroadcast) Invalidates(o memberlist.Broadcast) bool {
	ob, ok := o.(*statusBroadcast)
	return ok && ob.host == b.host
}
func (b *statusBroadcast) Name() string    { return "status/" + b.host }
func (b *statusBroadcast) Message() []byte { return b.msg }
func (b *statusBroadcast) Finished() {
	if b.finished != nil {
		b.finished()
	}
}

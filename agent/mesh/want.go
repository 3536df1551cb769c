package mesh

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// Deltas on receipt, and the wants that fetch a status whose delta could
// not be applied.

// wantAgain is how long a node waits before asking again for a host's
// whole status (the answer may be lost, or the relay gone).
const wantAgain = 10 * time.Second

// maxWantHosts bounds the hosts of one want.
const maxWantHosts = 16

// wantAnswersPerSecond bounds the replies a node sends to wants, whoever
// asks: a member flooding wants gets no more.
const wantAnswersPerSecond = 32

// takeDelta applies a gossiped delta to the host's latest status, relays
// it if it was new, and asks the relay for the whole status if this node
// lacks the delta's base.
func (m *Mesh) takeDelta(b []byte) {
	via, db, err := openEnvelope(b)
	if err != nil {
		m.c.bad.Inc()
		return
	}
	d, err := decodeDelta(db)
	if err != nil {
		m.c.bad.Inc()
		return
	}
	now := time.Now()
	m.mu.Lock()
	var (
		ok, want bool
		s        Status
	)
	h := m.table.hosts[d.host]
	var latest Status
	var have bool
	if h != nil {
		latest, have = h.statuses.latest()
	}
	switch {
	case d.host == m.opts.Name:
		m.c.own.Inc()
	case have && uint32(latest.Seq) == d.base:
		s, err = d.apply(latest)
		if err != nil {
			m.c.bad.Inc()
			break
		}
		ok = m.accept(s, via)
	case have && !d.newerThan(h.lastSeq):
		m.c.replayed.Inc()
	default:
		// Newer than what this node has, but not from it: a status was
		// missed (or this node never had one of the host).
		m.c.noBase.Inc()
		if t, asked := m.wanted[d.host]; !asked || now.Sub(t) >= wantAgain {
			m.wanted[d.host] = now
			want = true
		}
	}
	m.mu.Unlock()
	if ok {
		// Not under m.mu: see NotifyMsg.
		m.relay.QueueBroadcast(&statusBroadcast{host: d.host, msg: envelopeOf(msgDelta, m.opts.Name, db)})
	}
	if want {
		m.sendWant(via, []string{d.host})
	}
}

// sendWant asks peer for the whole latest status of hosts, by UDP.
func (m *Mesh) sendWant(peer string, hosts []string) {
	to := m.member(peer)
	if to == nil {
		return // gone: the next push/pull repairs
	}
	b := header(msgWant, m.opts.Name)
	b = binary.AppendUvarint(b, uint64(len(hosts)))
	for _, h := range hosts {
		b = append(b, byte(len(h)))
		b = append(b, h...)
	}
	if err := m.ml.SendBestEffort(to, b); err != nil {
		m.logger.Debug("want", "peer", peer, "err", err)
		return
	}
	m.c.wantsSent.Inc()
}

// member returns the alive member called name, or nil.
func (m *Mesh) member(name string) *memberlist.Node {
	if m.ml == nil {
		return nil
	}
	for _, n := range m.ml.Members() {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// answerWant sends the asker, by UDP, the whole latest status of each
// host it names that this node has, within wantAnswersPerSecond.
func (m *Mesh) answerWant(b []byte) {
	sender, hosts, err := parseWant(b)
	if err != nil {
		m.c.bad.Inc()
		return
	}
	now := time.Now()
	var replies [][]byte
	m.mu.Lock()
	if now.Sub(m.wantWindow) >= time.Second {
		m.wantWindow, m.wantAnswers = now, 0
	}
	for _, host := range hosts {
		h := m.table.hosts[host]
		if h == nil {
			continue
		}
		s, ok := h.statuses.latest()
		if !ok {
			continue
		}
		if m.wantAnswers >= wantAnswersPerSecond {
			m.c.wantsRefused.Inc()
			continue
		}
		sb, err := s.Encode(gossipStatusLimit)
		if err != nil {
			continue
		}
		m.wantAnswers++
		replies = append(replies, envelopeOf(msgReply, m.opts.Name, sb))
	}
	m.mu.Unlock()
	if len(replies) == 0 {
		return
	}
	to := m.member(sender)
	if to == nil {
		return
	}
	for _, r := range replies {
		if err := m.ml.SendBestEffort(to, r); err != nil {
			m.logger.Debug("want answer", "peer", sender, "err", err)
			return
		}
		m.c.wantsAnswered.Inc()
	}
}

// parseWant reads a msgWant: the sender and the hosts it wants.
func parseWant(b []byte) (string, []string, error) {
	sender, b, err := parseHeader(b, msgWant)
	if err != nil {
		return "", nil, err
	}
	count, k := binary.Uvarint(b)
	if k <= 0 || count == 0 || count > maxWantHosts {
		return "", nil, errors.New("bad host count")
	}
	b = b[k:]
	hosts := make([]string, 0, count)
	for range count {
		if len(b) < 1 || int(b[0]) > len(b)-1 {
			return "", nil, errors.New("truncated want")
		}
		name := string(b[1 : 1+b[0]])
		if name == "" || !validString(name, MaxHostLen) {
			return "", nil, errors.New("bad host name")
		}
		hosts = append(hosts, name)
		b = b[1+len(name):]
	}
	if len(b) != 0 {
		return "", nil, fmt.Errorf("%d trailing bytes", len(b))
	}
	return sender, hosts, nil
}

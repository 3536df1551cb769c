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

// maxWantAgain is how long a node waits at most before asking again for
// a host's status (the answer may be lost, or the relay gone); with a
// shorter Interval, one Interval.
const maxWantAgain = 10 * time.Second

// wantAnswersPerSecond bounds the replies a node sends to wants, whoever
// asks: a member flooding wants gets no more.
const wantAnswersPerSecond = 32

// takeDelta applies a gossiped delta to the host's latest status and
// relays it if it was new. A node lacking the delta's base relays it all
// the same when it is newer than anything it has of the host (once: the
// spread must not depend on which nodes missed the status before), and
// asks the relay for what it missed.
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
	v := m.offerDelta(d, via)
	relay := v == accepted
	var want uint64
	wanted := false
	if v == noBase {
		if last, ok := m.unapplied[d.host]; !ok || d.newerThan32(last) {
			m.unapplied[d.host] = d.base + uint32(d.dseq)
			relay = true
		}
		if t, asked := m.wanted[d.host]; !asked || now.Sub(t) >= min(maxWantAgain, m.opts.Interval) {
			m.wanted[d.host] = now
			wanted = true
			if h := m.table.hosts[d.host]; h != nil {
				want = h.lastSeq
			}
		}
	}
	m.mu.Unlock()
	if relay {
		// Not under m.mu: see NotifyMsg.
		m.relay.QueueBroadcast(&statusBroadcast{host: d.host, msg: envelopeOf(msgDelta, m.opts.Name, db)})
	}
	if wanted {
		m.sendWant(via, d.host, want)
	}
}

// noBase is offerDelta's verdict on a delta newer than what this node has
// of the host, but not on it.
const noBase verdict = -1

// offerDelta applies d to its host's latest status and offers the result
// to the table, counting the verdict. m.mu is held.
func (m *Mesh) offerDelta(d delta, via string) verdict {
	if d.host == m.opts.Name {
		m.c.own.Inc()
		return ownStatus
	}
	h := m.table.hosts[d.host]
	var latest Status
	var have bool
	if h != nil {
		latest, have = h.statuses.latest()
	}
	switch {
	case have && uint32(latest.Seq) == d.base:
		s, err := d.apply(latest)
		if err != nil {
			m.c.bad.Inc()
			return replayed
		}
		if m.accept(s, via) {
			return accepted
		}
		return replayed
	case have && !d.newerThan(h.lastSeq):
		m.c.replayed.Inc()
		return replayed
	}
	m.c.noBase.Inc()
	return noBase
}

// sendWant asks peer, by UDP, for host's latest status; this node has the
// one numbered have (0: none), so a delta from it will do.
func (m *Mesh) sendWant(peer, host string, have uint64) {
	to := m.member(peer)
	if to == nil {
		return // gone: the next push/pull repairs
	}
	b := header(msgWant, m.opts.Name)
	b = append(b, byte(len(host)))
	b = append(b, host...)
	b = binary.AppendUvarint(b, have)
	if err := m.ml.SendBestEffort(to, b); err != nil {
		m.logger.Debug("want", "peer", peer, "err", err)
		return
	}
	m.c.wantsSent.Inc()
}

// catchUp returns what brings a peer that has status have of h (0: none)
// to h's latest: a delta from have if this node still keeps that status,
// otherwise the whole latest status, at most limit bytes. m.mu is held.
func catchUp(h *hostRecord, have uint64, limit int) ([]byte, bool) {
	latest, ok := h.statuses.latest()
	if !ok {
		return nil, false
	}
	full, err := latest.Encode(limit)
	if err != nil {
		return nil, false
	}
	if have != 0 {
		if base, ok := h.statuses.find(have); ok {
			if d := encodeDelta(base, latest, full); d != nil {
				return d, true
			}
		}
	}
	return full, true
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

// answerWant sends the asker, by UDP, what brings it to the latest
// status of the host it names (a delta from the status it has, when this
// node still keeps that one), within wantAnswersPerSecond.
func (m *Mesh) answerWant(b []byte) {
	sender, host, have, err := parseWant(b)
	if err != nil {
		m.c.bad.Inc()
		return
	}
	now := time.Now()
	m.mu.Lock()
	if now.Sub(m.wantWindow) >= time.Second {
		m.wantWindow, m.wantAnswers = now, 0
	}
	var reply []byte
	if h := m.table.hosts[host]; h != nil && h.lastSeq > have {
		if m.wantAnswers >= wantAnswersPerSecond {
			m.c.wantsRefused.Inc()
		} else if body, ok := catchUp(h, have, gossipStatusLimit); ok {
			m.wantAnswers++
			reply = envelopeOf(msgReply, m.opts.Name, body)
		}
	}
	m.mu.Unlock()
	if reply == nil {
		return
	}
	to := m.member(sender)
	if to == nil {
		return
	}
	if err := m.ml.SendBestEffort(to, reply); err != nil {
		m.logger.Debug("want answer", "peer", sender, "err", err)
		return
	}
	m.c.wantsAnswered.Inc()
}

// parseWant reads a msgWant: the sender, the host it wants and the
// sequence number of the status of it the sender has.
func parseWant(b []byte) (sender, host string, have uint64, err error) {
	sender, b, err = parseHeader(b, msgWant)
	if err != nil {
		return "", "", 0, err
	}
	if len(b) < 1 || int(b[0]) > len(b)-1 {
		return "", "", 0, errors.New("truncated want")
	}
	host = string(b[1 : 1+b[0]])
	if host == "" || !validString(host, MaxHostLen) {
		return "", "", 0, errors.New("bad host name")
	}
	b = b[1+len(host):]
	have, k := binary.Uvarint(b)
	if k <= 0 {
		return "", "", 0, errors.New("truncated want")
	}
	if len(b) != k {
		return "", "", 0, fmt.Errorf("%d trailing bytes", len(b)-k)
	}
	return sender, host, have, nil
}

// takeEntry takes a status or a delta answering this node's want or
// digest: news to this node only, so not relayed.
func (m *Mesh) takeEntry(body []byte, via string) {
	if len(body) > 0 && body[0] == deltaVersion {
		d, err := decodeDelta(body)
		if err != nil {
			m.c.bad.Inc()
			return
		}
		m.offerDelta(d, via)
		return
	}
	s, err := DecodeStatus(body)
	if err != nil {
		m.c.bad.Inc()
		return
	}
	m.accept(s, via)
}

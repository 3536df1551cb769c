package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/prophasis/prophasis/wire"
)

// Batch is what Peek returns: the oldest results not yet acknowledged, and
// an opaque position to hand back to Ack once the server has them.
type Batch struct {
	// Results are in the order they were appended.
	Results []wire.Result
	// Dropped is the number of results lost (spool full, corrupt segment)
	// and not yet reported by an acknowledged batch. Acking the batch
	// declares them reported.
	Dropped uint64

	first, end uint64 // sequence numbers of the first result and after the last
	endAt      cursor
}

// cursor is a position in the spool: the record at off in seg, which
// should carry sequence number seq.
type cursor struct {
	seg *segment
	off int64
	seq uint64
}

// readChunk is how much a read fetches at once: a few hundred results.
const readChunk = 256 << 10

// Peek returns up to max of the oldest results not yet acknowledged,
// without removing them: a second Peek before Ack returns them again.
// A batch may have no results and still report drops.
func (s *Spool) Peek(limit int) (Batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Batch{}, ErrClosed
	}
	if err := s.seekHead(); err != nil {
		return Batch{}, err
	}
	at := s.cur
	b := Batch{first: s.head, Results: make([]wire.Result, 0, max(0, min(limit, s.pending())))}
	var a arena
	for len(b.Results) < limit {
		g := at.seg
		if at.off >= g.end {
			i := s.index(g)
			if i < 0 || i == len(s.segs)-1 {
				break
			}
			g = s.segs[i+1]
			at = cursor{seg: g, seq: g.first}
			continue
		}
		seq, p, n, err := s.record(g, at.off)
		if err == nil && seq != at.seq {
			err = fmt.Errorf("%w: sequence %d where %d was expected", errCorrupt, seq, at.seq)
		}
		if err != nil && !errors.Is(err, errCorrupt) {
			return Batch{}, fmt.Errorf("peek: %w", err)
		}
		if err != nil {
			if err := s.skipCorrupt(g, at, err); err != nil {
				return Batch{}, err
			}
			continue // at.off is now g.end
		}
		if seq >= s.head {
			b.Results = append(b.Results, wire.Result{})
			if err := decodeResult(p, &b.Results[len(b.Results)-1], &a); err != nil {
				// A checksummed record that does not decode: written by a
				// newer agent's encoding, say. Count it once, not per Peek.
				b.Results = b.Results[:len(b.Results)-1]
				if seq >= s.undecodable {
					s.logger.Error("spool result undecodable, dropped", "segment", g.path, "offset", at.off, "err", err)
					s.undecodable = seq + 1
					s.dropped++
					s.unreported++
				}
			}
		}
		at.off += int64(n)
		at.seq++
	}
	b.end = max(at.seq, s.head)
	b.endAt = at
	b.Dropped = s.unreported
	return b, nil
}

// Ack removes the results of b, and declares its drops reported. Call it
// only once the server has acknowledged them. Acking an older batch after a
// newer one, or the same batch twice, does nothing.
//
// Peek and Len see the acknowledgement at once. It becomes durable, and
// fully acknowledged segments are deleted, at the next sync (within
// SyncInterval, or at Sync or Close; in Ack itself when SyncInterval is
// negative). A crash before then sends these results again, which the
// server's idempotent ingest absorbs.
func (s *Spool) Ack(b Batch) error {
	changed, err := s.ack(b)
	if err != nil || !changed || s.opts.SyncInterval >= 0 {
		return err
	}
	if err := s.Sync(); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return nil
}

func (s *Spool) ack(b Batch) (changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	changed = b.Dropped > 0
	s.unreported -= min(s.unreported, b.Dropped)
	if b.end > s.head {
		changed = true
		s.head = b.end
		s.cur = cursor{}
		if b.endAt.seg != nil && !b.endAt.seg.gone {
			s.cur = b.endAt
		}
	}
	s.ackDirty = s.ackDirty || changed
	return changed, nil
}

// index returns g's position in s.segs, or -1.
func (s *Spool) index(g *segment) int {
	for i, h := range s.segs {
		if h == g {
			return i
		}
	}
	return -1
}

// seekHead points s.cur at the record numbered s.head, or the end of the
// segment before it.
func (s *Spool) seekHead() error {
	if s.cur.seg != nil && !s.cur.seg.gone {
		return nil
	}
	g := s.segs[len(s.segs)-1]
	for _, h := range s.segs {
		if h.next > s.head {
			g = h
			break
		}
	}
	at := cursor{seg: g, seq: g.first}
	for at.seq < s.head && at.off < g.end {
		_, _, n, err := s.record(g, at.off)
		if err != nil {
			break // Peek meets it again, and skips the segment
		}
		at.off += int64(n)
		at.seq++
	}
	s.cur = at
	return nil
}

// skipCorrupt handles a bad record found at at by a read: the rest of the
// segment is lost and counted, the file cut there, and reading goes on with
// the next segment. The bytes were valid when the spool was opened or
// written, so this is damage on disk or a file changed under the spool.
func (s *Spool) skipCorrupt(g *segment, at cursor, cause error) error {
	if g == s.segs[len(s.segs)-1] {
		// Appends go on in a new segment.
		if err := s.rotate(); err != nil {
			return fmt.Errorf("peek: skip corrupt segment: %w", diskErr(err))
		}
	}
	next := s.nextSeq
	if i := s.index(g); i >= 0 && i+1 < len(s.segs) {
		next = s.segs[i+1].first
	}
	var lost uint64
	if from := max(at.seq, s.head); next > from {
		lost = next - from
	}
	s.dropped += lost
	s.unreported += lost
	s.logger.Error("spool segment corrupt, skipping the rest of it", "segment", g.path, "offset", at.off, "lost", lost, "err", cause)
	g.end = at.off
	g.next = at.seq
	if err := os.Truncate(g.path, at.off); err != nil {
		s.logger.Error("spool cannot cut a corrupt segment", "segment", g.path, "err", err)
	} else {
		s.bytes -= g.disk - at.off
		g.disk = at.off
	}
	return nil
}

// record returns the record at off in g, reading through s.rbuf.
func (s *Spool) record(g *segment, off int64) (seq uint64, payload []byte, n int, err error) {
	if s.rseg != g || off < s.roff || off >= s.roff+int64(len(s.rbuf)) {
		if err := s.fill(g, off, readChunk); err != nil {
			return 0, nil, 0, err
		}
	}
	b := s.rbuf[off-s.roff:]
	seq, payload, n, err = parseRecord(b)
	if err != errShort {
		return seq, payload, n, err
	}
	// The record runs past the buffer: read it whole from its start.
	need := int64(readChunk)
	if len(b) >= recordHeader {
		need = max(need, recordHeader+int64(binary.LittleEndian.Uint32(b)))
	}
	if err := s.fill(g, off, need); err != nil {
		return 0, nil, 0, err
	}
	seq, payload, n, err = parseRecord(s.rbuf)
	if err == errShort {
		err = errCorrupt // it runs past the segment's valid end
	}
	return seq, payload, n, err
}

// fill reads up to n bytes of g's valid records from off into s.rbuf.
func (s *Spool) fill(g *segment, off, n int64) error {
	n = min(n, g.end-off)
	f, err := g.reader()
	if err != nil {
		return err
	}
	if int64(cap(s.rbuf)) < n {
		s.rbuf = make([]byte, n)
	}
	m, err := f.ReadAt(s.rbuf[:n], off)
	if err != nil && err != io.EOF {
		s.rseg = nil
		return fmt.Errorf("read spool segment: %w", err)
	}
	s.rbuf, s.rseg, s.roff = s.rbuf[:m], g, off
	return nil
}

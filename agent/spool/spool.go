// Package spool is the agent's durable queue of results: every result is
// appended here before it is pushed, and trimmed only after the server has
// acknowledged it, so a server outage or an agent crash loses nothing.
//
// Only the agent (github.com/prophasis/prophasis/agent and its sub-packages)
// imports it; it imports only wire and the standard library.
//
// # On disk
//
// A spool is a directory of segment files (8 MiB each by default) holding
// length-prefixed, CRC-32C checksummed records, one result each, numbered by
// a sequence number that grows by one per result; and an ack file, replaced
// atomically, holding the first sequence number not yet acknowledged.
// Segments whose results are all acknowledged are deleted once the ack file
// says so.
//
// # Durability
//
// Append writes the results to the segment file before it returns (the
// write-ahead), and fsyncs in groups: at most every Options.SyncInterval
// (default 1 s) in the background, when Sync or Close is called, and when a
// segment is full. Acks are written to the ack file at the same syncs. So:
//
//   - a process crash (SIGKILL, panic, OOM kill) loses nothing that Append
//     accepted: the kernel has the bytes;
//   - a power loss or kernel crash loses at most the results appended in the
//     last SyncInterval (set it negative to fsync in every Append);
//   - a record torn by either is cut off when the spool is next opened;
//   - either may forget the Acks of the last SyncInterval.
//
// Delivery is at least once: a crash between the server's acknowledgement
// and the ack file's write sends the same results again on restart.
// That is harmless because the server's ingest is idempotent: a result it
// already holds is counted as a duplicate and not stored twice.
//
// # Bounds and losses
//
// The spool holds at most Options.MaxBytes (default 256 MiB). When an
// Append would exceed it, the oldest segments are deleted, acknowledged or
// not, and the unacknowledged results they held are counted as dropped. A
// corrupt record found in an older segment loses the rest of that segment,
// counted the same way. Peek reports the count not yet reported in
// Batch.Dropped, so the agent can tell the server how many results it lost.
//
// # Concurrency
//
// All methods are safe for concurrent use: typically the runner calls Append
// while the push loop calls Peek and Ack. Only one Spool may have a
// directory open at a time (not enforced).
package spool

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrDiskFull is wrapped by Append's error when the disk (or quota) is
	// full. The spool stays consistent, and a later Append succeeds once
	// space returns; meanwhile Peek and Ack keep working, and acknowledged
	// segments are deleted, which may itself free the space.
	ErrDiskFull = errors.New("spool disk full")
	// ErrClosed is returned by calls on a closed Spool.
	ErrClosed = errors.New("spool closed")
	// ErrTooLarge is returned by Append when its results alone exceed
	// MaxBytes.
	ErrTooLarge = errors.New("results larger than the spool")
)

// Options configures a Spool. The zero value is the defaults.
type Options struct {
	// SegmentBytes is the size at which the spool starts a new segment file
	// (default 8 MiB): small enough that deleting an acknowledged segment
	// frees space soon, large enough that files are few. It is capped at a
	// quarter of MaxBytes so dropping the oldest segment frees a useful part.
	SegmentBytes int64
	// MaxBytes bounds the segment files' total size (default 256 MiB, hours
	// of backlog for hundreds of plugins).
	MaxBytes int64
	// SyncInterval is the longest an appended result waits for its fsync
	// (default 1 s: one fsync per second costs nothing, and a power loss
	// rarely matters more than a second of results). Negative means fsync
	// in every Append.
	SyncInterval time.Duration
	// WrapWriter, if set, wraps the writer of each segment file. Tests use it
	// to inject failures such as ENOSPC.
	WrapWriter func(io.Writer) io.Writer
}

const (
	defaultSegmentBytes = 8 << 20
	defaultMaxBytes     = 256 << 20
	defaultSyncInterval = time.Second
)

func (o *Options) applyDefaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = defaultSegmentBytes
	}
	o.SegmentBytes = min(o.SegmentBytes, max(o.MaxBytes/4, recordHeader))
	if o.SyncInterval == 0 {
		o.SyncInterval = defaultSyncInterval
	}
}

// Spool is a durable queue of results in a directory. Create it with Open.
type Spool struct {
	dir    string
	opts   Options
	logger *slog.Logger

	// syncMu serialises Sync, so a Sync returns only after every write
	// before it is durable, even when another Sync was already running.
	syncMu sync.Mutex

	mu          sync.Mutex
	segs        []*segment // oldest first; the last is written
	wf          *os.File   // write handle of the last segment
	w           io.Writer  // wf, wrapped by Options.WrapWriter
	broken      bool       // the last segment's tail could not be repaired: start a new one
	head        uint64     // first sequence number neither acknowledged nor dropped
	nextSeq     uint64     // sequence number of the next appended result
	bytes       int64
	dropped     uint64     // lost since Open, plus unreported losses from before
	unreported  uint64     // lost and not yet reported by an acknowledged Batch
	dirty       bool       // written since the last fsync
	ackDirty    bool       // head or unreported changed since the ack file was written
	undecodable uint64     // undecodable records below this are counted
	doomed      []*segment // dropped, deleted once the ack file says so
	closed      bool
	cur         cursor // where the record numbered head is, when known
	wbuf        []byte
	rbuf        []byte   // records of rseg from roff, read ahead
	rseg        *segment // nil when rbuf holds nothing
	roff        int64

	syncs     atomic.Int64 // fsyncs of segment data, for tests
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Len returns the number of results not yet acknowledged (nor dropped).
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending()
}

func (s *Spool) pending() int {
	n := uint64(0)
	for _, g := range s.segs {
		if from := max(g.first, s.head); g.next > from {
			n += g.next - from
		}
	}
	return int(n)
}

// Bytes returns the size of the segment files, which includes
// acknowledged results until the next sync deletes their segment, and of
// the segment being written.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Dropped returns the number of results lost since Open because the spool
// was full or a segment was corrupt, plus those lost before Open and not yet
// reported in an acknowledged Batch.
func (s *Spool) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Sync makes every Append and Ack before it durable, and deletes the
// segments that are acknowledged or dropped. The group commit calls it every
// SyncInterval; the ack file is written here rather than in every Ack
// because it costs two fsyncs, and a lost Ack only sends results again.
func (s *Spool) Sync() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	f, dirty := s.wf, s.dirty
	s.dirty = false
	ack, ackDirty := ackState{head: s.head, unreported: s.unreported}, s.ackDirty
	s.ackDirty = false
	s.mu.Unlock()
	var err error
	if dirty && f != nil {
		// os.ErrClosed: a new segment was started, and the old one synced first.
		if serr := f.Sync(); serr == nil {
			s.syncs.Add(1)
		} else if !errors.Is(serr, os.ErrClosed) {
			s.mu.Lock()
			s.dirty = true
			s.mu.Unlock()
			err = fmt.Errorf("sync spool segment: %w", serr)
		}
	}
	if !ackDirty {
		return err
	}
	if aerr := writeAck(s.dir, ack); aerr != nil {
		s.mu.Lock()
		s.ackDirty = true
		s.mu.Unlock()
		return errors.Join(err, diskErr(aerr))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trim(ack.head)
	return err
}

// trim deletes the segments whose results are all below head, the
// acknowledged position the ack file now holds. Deleting them before the
// ack file says so could make a crash look like lost results.
func (s *Spool) trim(head uint64) {
	keep := s.doomed[:0]
	for _, g := range s.doomed {
		if g.next > head {
			keep = append(keep, g)
			continue
		}
		if err := g.remove(); err != nil {
			s.logger.Error("spool cannot remove a dropped segment", "err", err)
		}
	}
	s.doomed = keep
	for len(s.segs) > 1 && s.segs[0].next <= head {
		g := s.segs[0]
		s.segs = s.segs[1:]
		s.bytes -= g.disk
		if err := g.remove(); err != nil {
			s.logger.Error("spool cannot remove an acknowledged segment", "err", err)
		}
	}
}

// syncLoop is the group commit: one fsync per interval when anything was
// written.
func (s *Spool) syncLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			err := s.Sync()
			// Log a failure once, not every interval.
			if err != nil && !failing {
				s.logger.Error("spool sync failed", "err", err)
			}
			failing = err != nil
		}
	}
}

// Close syncs and closes the spool. It is safe to call twice, and on nil.
func (s *Spool) Close() error {
	if s == nil {
		return nil
	}
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Spool) close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	// Refuse new calls first, so the last sync covers every Append.
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	err := s.Sync()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wf != nil {
		if cerr := s.wf.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close spool segment: %w", cerr)
		}
		s.wf, s.w = nil, nil
	}
	for _, g := range s.segs {
		if g.rf != nil {
			g.rf.Close()
			g.rf = nil
		}
	}
	return err
}

package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/prophasis/prophasis/wire"
)

// Append writes results to the spool, in order, in one write. When it
// returns nil they are in the segment file (see the package comment for
// what that survives); when the write fails none of them is in the spool.
// With a negative SyncInterval, Append also syncs.
func (s *Spool) Append(results ...wire.Result) error {
	if len(results) == 0 {
		return nil
	}
	if err := s.append(results); err != nil {
		return err
	}
	if s.opts.SyncInterval < 0 {
		if err := s.Sync(); err != nil {
			return fmt.Errorf("append: %w", err)
		}
	}
	return nil
}

func (s *Spool) append(results []wire.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	b := s.wbuf[:0]
	for i := range results {
		b = appendRecord(b, s.nextSeq+uint64(i), func(b []byte) []byte {
			return encodeResult(b, &results[i])
		})
	}
	if cap(b) <= 4<<20 { // keep the buffer unless a burst made it huge
		s.wbuf = b
	}
	if int64(len(b)) > s.opts.MaxBytes {
		return fmt.Errorf("append %d results of %d bytes: %w", len(results), len(b), ErrTooLarge)
	}
	if err := s.makeRoom(int64(len(b))); err != nil {
		return fmt.Errorf("append: %w", diskErr(err))
	}
	g := s.segs[len(s.segs)-1]
	if _, err := s.w.Write(b); err != nil {
		s.repairTail(g)
		return fmt.Errorf("append: write spool segment: %w", diskErr(err))
	}
	n := int64(len(b))
	g.end += n
	g.disk += n
	s.bytes += n
	s.nextSeq += uint64(len(results))
	g.next = s.nextSeq
	s.dirty = true
	return nil
}

// diskErr marks a full disk or quota with ErrDiskFull.
func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}

// repairTail cuts a partly written record off the segment being written.
// If that fails, the next Append starts a new segment, and the next Open
// cuts the tail.
func (s *Spool) repairTail(g *segment) {
	if err := s.wf.Truncate(g.disk); err != nil {
		s.logger.Error("spool cannot cut a partial write, starting a new segment", "segment", g.path, "err", err)
		s.broken = true
		return
	}
	if _, err := s.wf.Seek(g.disk, io.SeekStart); err != nil {
		s.logger.Error("spool cannot cut a partial write, starting a new segment", "segment", g.path, "err", err)
		s.broken = true
	}
}

// makeRoom starts a new segment when the one being written is full or
// broken, then drops the oldest segments until n more bytes fit in MaxBytes.
func (s *Spool) makeRoom(n int64) error {
	g := s.segs[len(s.segs)-1]
	if s.broken || (g.disk > 0 && g.disk+n > s.opts.SegmentBytes) {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	if s.bytes+n <= s.opts.MaxBytes {
		return nil
	}
	var lost uint64
	dropped := 0
	for len(s.segs) > 1 && s.bytes+n > s.opts.MaxBytes {
		g := s.segs[0]
		if from := max(g.first, s.head); g.next > from {
			lost += g.next - from
		}
		// The file goes at the next sync, after the ack file records the
		// new head: a crash before then sends these results after all.
		s.bytes -= g.disk
		g.retire()
		s.doomed = append(s.doomed, g)
		s.segs = s.segs[1:]
		dropped++
	}
	s.head = max(s.head, s.segs[0].first)
	s.dropped += lost
	s.unreported += lost
	s.ackDirty = true
	s.logger.Warn("spool full, dropped the oldest results", "results", lost, "segments", dropped, "max_bytes", s.opts.MaxBytes)
	return nil
}

// rotate syncs and closes the segment being written and starts a new one
// numbered nextSeq. An empty broken segment is reused rather than renamed.
func (s *Spool) rotate() error {
	old := s.segs[len(s.segs)-1]
	if old.next == old.first {
		// Nothing valid in it: start it over.
		if err := s.wf.Truncate(0); err != nil {
			return fmt.Errorf("reset spool segment: %w", err)
		}
		if _, err := s.wf.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("reset spool segment: %w", err)
		}
		s.bytes -= old.disk
		old.end, old.disk = 0, 0
		s.broken = false
		return nil
	}
	if s.wf != nil {
		if err := s.wf.Sync(); err != nil {
			return fmt.Errorf("sync spool segment: %w", err)
		}
		s.syncs.Add(1)
	}
	g, f, err := createSegment(s.dir, s.nextSeq)
	if err != nil {
		return err
	}
	if s.wf != nil {
		s.wf.Close()
	}
	s.setWriter(f)
	s.segs = append(s.segs, g)
	s.broken = false
	return nil
}

func (s *Spool) setWriter(f *os.File) {
	s.wf, s.w = f, f
	if s.opts.WrapWriter != nil {
		s.w = s.opts.WrapWriter(f)
	}
}

// createSegment creates an empty segment numbered first, durably.
func createSegment(dir string, first uint64) (*segment, *os.File, error) {
	path := filepath.Join(dir, segmentName(first))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("create spool segment: %w", err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		os.Remove(path)
		return nil, nil, fmt.Errorf("create spool segment: %w", err)
	}
	return &segment{first: first, next: first, path: path}, f, nil
}

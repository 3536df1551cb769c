package spool

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Open opens the spool in dir, creating the directory (mode 0700) if
// needed, and recovers it after a crash: a torn or corrupt record at the
// end of the newest segment is cut off and logged; corruption in an older
// segment loses the rest of that segment, counted in Dropped. Neither is an
// error. logger may be nil.
func Open(dir string, opts Options, logger *slog.Logger) (*Spool, error) {
	opts.applyDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "spool")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	ack, err := readAck(dir)
	ackKnown := err == nil
	if err != nil {
		logger.Warn("spool ack file unreadable, resending every result", "err", err)
	}
	os.Remove(filepath.Join(dir, ackTemp))
	segs, err := listSegments(dir)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s := &Spool{
		dir:        dir,
		opts:       opts,
		logger:     logger,
		head:       ack.head,
		unreported: ack.unreported,
		dropped:    ack.unreported,
	}
	var lost uint64
	for i, g := range segs {
		next := uint64(0)
		if i+1 < len(segs) {
			next = segs[i+1].first
		}
		n, err := s.recoverSegment(g, next, i == len(segs)-1)
		if err != nil {
			return nil, fmt.Errorf("open spool: %w", err)
		}
		lost += n
	}
	// Delete what is acknowledged: Ack records the head before it deletes,
	// so a crash can leave such segments behind.
	for len(segs) > 0 && segs[0].next <= s.head && (len(segs) > 1 || segs[0].next < s.head) {
		if err := segs[0].remove(); err != nil {
			return nil, fmt.Errorf("open spool: %w", err)
		}
		segs = segs[1:]
	}
	if len(segs) > 0 && !ackKnown {
		s.head = segs[0].first
	}
	if len(segs) > 0 && segs[0].first > s.head {
		// Results between head and the oldest segment are gone, and no
		// drop recorded them: a file removed behind the spool's back (or
		// no ack file at all, in a spool whose first segments were acked).
		lost += segs[0].first - s.head
		logger.Error("spool segments missing", "lost", segs[0].first-s.head)
		s.head = segs[0].first
	}
	s.dropped += lost
	s.unreported += lost
	s.segs = segs
	if len(segs) == 0 {
		g, f, err := createSegment(dir, s.head)
		if err != nil {
			return nil, fmt.Errorf("open spool: %w", err)
		}
		s.segs = []*segment{g}
		s.setWriter(f)
	} else {
		g := segs[len(segs)-1]
		f, err := os.OpenFile(g.path, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.Seek(g.disk, 0)
		}
		if err != nil {
			return nil, fmt.Errorf("open spool: %w", err)
		}
		s.setWriter(f)
	}
	for _, g := range s.segs {
		s.bytes += g.disk
	}
	s.nextSeq = max(s.head, s.segs[len(s.segs)-1].next)
	if lost > 0 {
		if err := writeAck(dir, ackState{head: s.head, unreported: s.unreported}); err != nil {
			logger.Error("spool cannot record lost results", "err", err)
		}
	}
	if opts.SyncInterval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.syncLoop(opts.SyncInterval)
	}
	logger.Info("spool opened", "dir", dir, "pending", s.pending(), "bytes", s.bytes, "dropped_unreported", s.unreported)
	return s, nil
}

// recoverSegment scans g and cuts it after its last valid record. nextFirst
// is the first sequence number of the following segment (unless last). It
// returns the number of unacknowledged results lost.
func (s *Spool) recoverSegment(g *segment, nextFirst uint64, last bool) (uint64, error) {
	data, err := os.ReadFile(g.path)
	if err != nil {
		return 0, fmt.Errorf("read spool segment: %w", err)
	}
	end, next, serr := scanSegment(data, g.first, nil)
	g.end, g.next, g.disk = int64(end), next, int64(len(data))
	if serr == nil {
		return 0, nil
	}
	var lost uint64
	if last {
		lost = countValid(data, end, s.head)
		if lost == 0 {
			s.logger.Warn("spool segment ends in a torn record, cut", "segment", g.path, "offset", end, "bytes", len(data)-end, "err", serr)
		}
	} else if from := max(next, s.head); nextFirst > from {
		lost = nextFirst - from
	}
	if lost > 0 {
		s.logger.Error("spool segment corrupt, lost the rest of it", "segment", g.path, "offset", end, "lost", lost, "err", serr)
	}
	if err := os.Truncate(g.path, int64(end)); err != nil {
		return 0, fmt.Errorf("cut spool segment: %w", err)
	}
	g.disk = int64(end)
	return lost, nil
}

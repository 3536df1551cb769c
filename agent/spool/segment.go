package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A segment is one file of records with consecutive sequence numbers,
// named after the first of them (00000000000000000042.seg), so the
// directory listing sorts in append order. Only the newest segment is
// written; older ones are read, then deleted once acknowledged or dropped.
type segment struct {
	first uint64 // sequence number of its first record
	next  uint64 // sequence number after its last record
	end   int64  // bytes of valid records; reads stop here
	disk  int64  // bytes of the file, counted in Spool.Bytes
	path  string
	rf    *os.File // read handle, opened on first read
	gone  bool     // deleted from the spool
}

const segmentExt = ".seg"

func segmentName(first uint64) string {
	return fmt.Sprintf("%020d%s", first, segmentExt)
}

// listSegments returns the segments of dir, oldest first, with only first
// and path set.
func listSegments(dir string) ([]*segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list spool directory: %w", err)
	}
	var segs []*segment
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		first, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		segs = append(segs, &segment{first: first, next: first, path: filepath.Join(dir, e.Name())})
	}
	slices.SortFunc(segs, func(a, b *segment) int {
		if a.first < b.first {
			return -1
		}
		if a.first > b.first {
			return 1
		}
		return 0
	})
	return segs, nil
}

// scanSegment walks the records of data, a segment whose first record has
// sequence number first, calling fn (if not nil) for each valid one. It
// stops at the first record that is cut short, fails its checksum or does
// not carry the next sequence number, and returns the offset where valid
// records end, the sequence number after the last valid one, and why it
// stopped (nil at a clean end).
func scanSegment(data []byte, first uint64, fn func(seq uint64, payload []byte, off int)) (end int, next uint64, err error) {
	next = first
	for end < len(data) {
		seq, payload, n, err := parseRecord(data[end:])
		if err != nil {
			return end, next, err
		}
		if seq != next {
			return end, next, fmt.Errorf("%w: sequence %d where %d was expected", errCorrupt, seq, next)
		}
		if fn != nil {
			fn(seq, payload, end)
		}
		end += n
		next++
	}
	return end, next, nil
}

// countValid counts the records numbered head or more that checksum
// correctly somewhere after offset from, resynchronising byte by byte: the
// results lost when the newest segment is cut back at from. It runs only
// after corruption.
func countValid(data []byte, from int, head uint64) uint64 {
	var count uint64
	for off := from + 1; off+recordHeader <= len(data); {
		if seq, _, n, err := parseRecord(data[off:]); err == nil {
			if seq >= head {
				count++
			}
			off += n
			continue
		}
		off++
	}
	return count
}

func (g *segment) reader() (*os.File, error) {
	if g.rf == nil {
		f, err := os.Open(g.path)
		if err != nil {
			return nil, fmt.Errorf("open spool segment: %w", err)
		}
		g.rf = f
	}
	return g.rf, nil
}

// retire marks the segment gone from the spool and closes its reader.
func (g *segment) retire() {
	if g.rf != nil {
		g.rf.Close()
		g.rf = nil
	}
	g.gone = true
}

// remove retires the segment and deletes its file.
func (g *segment) remove() error {
	g.retire()
	if err := os.Remove(g.path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove spool segment: %w", err)
	}
	return nil
}

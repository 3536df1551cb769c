package ingest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"google.golang.org/protobuf/encoding/protowire"
)

// The fast path of remote write 1.0. A Prometheus sends the same series
// every scrape interval, so after the first request nearly every series is
// known. parseV1 reads the protobuf in place, without allocating a string,
// and rwCache maps each series' label bytes to the labels and TSDB reference
// resolved the first time: a known series costs a hash, a comparison and an
// append by reference, where decoding into prompb.WriteRequest allocated
// two strings per label and the TSDB hashed and looked the labels up again.
// Requests with histograms or exemplars take the general path (decodeV1).

// rawLabel is a label as it lies in the request body.
type rawLabel struct{ name, value []byte }

// rawSample is a float sample.
type rawSample struct {
	t int64
	v float64
}

// rawSeries is one series of a request, its bytes aliasing the body.
type rawSeries struct {
	labels  []rawLabel
	samples []rawSample
}

// v1Request is a parsed remote write 1.0 request, reused through a pool.
type v1Parsed struct {
	series []rawSeries
	// labels and samples back the series' slices.
	labels  []rawLabel
	samples []rawSample
}

var v1ParsedPool = sync.Pool{New: func() any { return new(v1Parsed) }}

// release drops the references into a request body, so the pool does not
// keep bodies alive, and returns p to the pool.
func (p *v1Parsed) release() {
	clear(p.labels)
	clear(p.series)
	v1ParsedPool.Put(p)
}

// errNeedGeneralPath: the request holds histograms or exemplars.
var errNeedGeneralPath = errors.New("request needs the general decoder")

// errWireType: a known field with the wrong wire type.
var errWireType = errors.New("field has the wrong wire type")

// parseV1 parses a prompb.WriteRequest. Metadata is skipped; histograms or
// exemplars make it return errNeedGeneralPath.
func parseV1(b []byte, p *v1Parsed) error {
	p.series, p.labels, p.samples = p.series[:0], p.labels[:0], p.samples[:0]
	type span struct{ l0, l1, s0, s1 int }
	var spans []span
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			ts, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			sp := span{l0: len(p.labels), s0: len(p.samples)}
			if err := parseTimeSeries(ts, p); err != nil {
				return err
			}
			sp.l1, sp.s1 = len(p.labels), len(p.samples)
			spans = append(spans, sp)
			continue
		}
		if num == 1 || (num == 3 && typ != protowire.BytesType) {
			return errWireType
		}
		if num == 3 {
			// Metadata is not stored, but a malformed one refuses the
			// request as it would with the generated decoder.
			md, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			if err := checkMessage(md, metadataFields); err != nil {
				return fmt.Errorf("metadata: %w", err)
			}
			b = b[n:]
			continue
		}
		// Anything unknown: skip.
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	// The slices are sliced only now: appending may have moved them.
	for _, sp := range spans {
		p.series = append(p.series, rawSeries{labels: p.labels[sp.l0:sp.l1:sp.l1], samples: p.samples[sp.s0:sp.s1:sp.s1]})
	}
	return nil
}

// metadataFields are MetricMetadata's fields and their wire types.
var metadataFields = map[protowire.Number]protowire.Type{
	1: protowire.VarintType, 2: protowire.BytesType, 4: protowire.BytesType, 5: protowire.BytesType,
}

// checkMessage checks that b is a well-formed message whose known fields
// have their wire types.
func checkMessage(b []byte, known map[protowire.Number]protowire.Type) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if want, ok := known[num]; ok && want != typ {
			return errWireType
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil
}

func parseTimeSeries(b []byte, p *v1Parsed) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			lb, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			l, err := parseLabel(lb)
			if err != nil {
				return err
			}
			p.labels = append(p.labels, l)
		case num == 2 && typ == protowire.BytesType:
			sb, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			s, err := parseSample(sb)
			if err != nil {
				return err
			}
			p.samples = append(p.samples, s)
		case num == 3 || num == 4:
			return errNeedGeneralPath
		case num == 1 || num == 2:
			return errWireType
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return nil
}

func parseLabel(b []byte) (rawLabel, error) {
	var l rawLabel
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return l, protowire.ParseError(n)
		}
		b = b[n:]
		if (num == 1 || num == 2) && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return l, protowire.ParseError(n)
			}
			b = b[n:]
			if num == 1 {
				l.name = v
			} else {
				l.value = v
			}
			continue
		}
		if num == 1 || num == 2 {
			return l, errWireType
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return l, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return l, nil
}

func parseSample(b []byte) (rawSample, error) {
	var s rawSample
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return s, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return s, protowire.ParseError(n)
			}
			b = b[n:]
			s.v = math.Float64frombits(v)
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return s, protowire.ParseError(n)
			}
			b = b[n:]
			s.t = int64(v)
		case num == 1 || num == 2:
			return s, errWireType
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return s, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return s, nil
}

// rwEntry is a known series: its labels as the TSDB has them and its
// reference. ref is updated by appends; lastSeen lets the cache forget
// series that stopped.
type rwEntry struct {
	lset     labels.Labels
	ref      atomic.Uint64
	lastSeen atomic.Int64 // unix seconds
}

const rwShards = 64

// rwCache maps a hash of a series' label bytes to its entry. Entries are
// checked label by label against the request, so a hash collision costs a
// lookup, never a wrong series. Safe for concurrent use.
type rwCache struct {
	shards [rwShards]struct {
		mu sync.RWMutex
		m  map[uint64]*rwEntry
	}
}

func newRWCache() *rwCache {
	c := &rwCache{}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]*rwEntry)
	}
	return c
}

// hashRaw hashes label bytes in request order.
func hashRaw(ls []rawLabel) uint64 {
	var d xxhash.Digest
	d.Reset()
	sep := []byte{0xff}
	for _, l := range ls {
		d.Write(l.name)
		d.Write(sep)
		d.Write(l.value)
		d.Write(sep)
	}
	return d.Sum64()
}

// sameLabels reports whether the request's labels are exactly lset, in order.
func sameLabels(raw []rawLabel, lset labels.Labels) bool {
	if lset.Len() != len(raw) {
		return false
	}
	i, same := 0, true
	lset.Range(func(l labels.Label) {
		if !same {
			return
		}
		r := raw[i]
		same = l.Name == unsafe.String(unsafe.SliceData(r.name), len(r.name)) &&
			l.Value == unsafe.String(unsafe.SliceData(r.value), len(r.value))
		i++
	})
	return same
}

func (c *rwCache) get(h uint64, raw []rawLabel) *rwEntry {
	sh := &c.shards[h%rwShards]
	sh.mu.RLock()
	e := sh.m[h]
	sh.mu.RUnlock()
	if e != nil && sameLabels(raw, e.lset) {
		return e
	}
	return nil
}

// put remembers lset under h when it is exactly the request's labels (a
// sender that does not sort its labels is served by the slow path).
func (c *rwCache) put(h uint64, raw []rawLabel, lset labels.Labels) *rwEntry {
	e := &rwEntry{lset: lset}
	if !sameLabels(raw, lset) {
		return e
	}
	sh := &c.shards[h%rwShards]
	sh.mu.Lock()
	if old := sh.m[h]; old != nil && labels.Equal(old.lset, lset) {
		e = old
	} else {
		sh.m[h] = e
	}
	sh.mu.Unlock()
	return e
}

// sweep forgets series not seen since cutoff.
func (c *rwCache) sweep(cutoff time.Time) {
	cut := cutoff.Unix()
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for h, e := range sh.m {
			if e.lastSeen.Load() < cut {
				delete(sh.m, h)
			}
		}
		sh.mu.Unlock()
	}
}

// resolveV1 turns parsed series into entries, validating the labels of
// series not seen before and every sample's timestamp. Nothing is written.
func (c *rwCache) resolveV1(p *v1Parsed, maxT int64, now time.Time, b *labels.ScratchBuilder, out []*rwEntry) ([]*rwEntry, error) {
	sec := now.Unix()
	for i := range p.series {
		s := &p.series[i]
		h := hashRaw(s.labels)
		e := c.get(h, s.labels)
		if e == nil {
			b.Reset()
			for _, l := range s.labels {
				b.Add(string(l.name), string(l.value))
			}
			b.Sort()
			lset := b.Labels()
			if err := validateSeriesLabels(lset); err != nil {
				return nil, fmt.Errorf("timeseries[%d]: %w", i, err)
			}
			e = c.put(h, s.labels, lset)
		}
		for _, smp := range s.samples {
			if err := checkTime(smp.t, maxT); err != nil {
				return nil, fmt.Errorf("timeseries[%d] %s: %w", i, e.lset, err)
			}
		}
		if e.lastSeen.Load() != sec {
			e.lastSeen.Store(sec)
		}
		out = append(out, e)
	}
	return out, nil
}

// appendV1 appends the resolved series' samples by reference.
func appendV1(app storage.Appender, p *v1Parsed, entries []*rwEntry) (int, error) {
	n := 0
	for i, e := range entries {
		ref := storage.SeriesRef(e.ref.Load())
		var err error
		for _, smp := range p.series[i].samples {
			if ref, err = app.Append(ref, e.lset, smp.t, smp.v); err != nil {
				return n, fmt.Errorf("series %s: %w", e.lset, err)
			}
			n++
		}
		e.ref.Store(uint64(ref))
	}
	return n, nil
}

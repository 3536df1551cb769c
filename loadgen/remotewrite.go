package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/golang/snappy"
)

// RemoteWriteMetric is the metric name of every series the remote-write mode
// sends. Each series is a counter labelled job="job-J" (J = i mod
// RemoteWriteJobs) and instance="host-NNNNN:9100" (i div RemoteWriteJobs),
// so `sum by (job) (rate(loadgen_requests_total[5m]))` aggregates all of
// them into RemoteWriteJobs series.
const RemoteWriteMetric = "loadgen_requests_total"

// RemoteWriteJobs is how many distinct job label values the series have.
const RemoteWriteJobs = 10

// A remote-write sample is encoded last in its series' entry as a fixed 16
// bytes: tag, 8-byte double, tag, 6-byte varint timestamp. The 6-byte varint
// holds every millisecond timestamp from 1971 to 2109, so the value and the
// timestamp are overwritten in place.
const (
	sampleBytes  = 16
	valueFromEnd = 15
	tsFromEnd    = 6
	minVarint6   = 1 << 35
	maxVarint6   = 1<<42 - 1
)

// rwSeriesSet holds the pre-encoded protobuf entries
// (WriteRequest.timeseries) of every series, back to back: series i is
// arena[starts[i]:starts[i+1]]. It is read-only once built and shared by all
// streams.
type rwSeriesSet struct {
	arena  []byte
	starts []int
}

// newRWSeriesSet encodes n series, each with one sample placeholder.
func newRWSeriesSet(n int) *rwSeriesSet {
	set := &rwSeriesSet{starts: make([]int, 0, n+1), arena: make([]byte, 0, n*96)}
	var ts, lbl []byte
	for i := range n {
		ts = ts[:0]
		ts = appendLabel(ts, lbl, "__name__", RemoteWriteMetric)
		ts = appendLabel(ts, lbl, "instance", "host-"+pad5(i/RemoteWriteJobs)+":9100")
		ts = appendLabel(ts, lbl, "job", "job-"+strconv.Itoa(i%RemoteWriteJobs))
		// samples (field 2): one Sample {value (1, fixed64), timestamp (2, varint)}.
		ts = append(ts, 0x12, sampleBytes)
		ts = append(ts, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)
		set.starts = append(set.starts, len(set.arena))
		// WriteRequest.timeseries is field 1.
		set.arena = append(set.arena, 0x0a)
		set.arena = binary.AppendUvarint(set.arena, uint64(len(ts)))
		set.arena = append(set.arena, ts...)
	}
	set.starts = append(set.starts, len(set.arena))
	return set
}

// appendLabel appends TimeSeries.labels (field 1): Label {name (1), value (2)}.
func appendLabel(dst, scratch []byte, name, value string) []byte {
	scratch = scratch[:0]
	scratch = append(scratch, 0x0a)
	scratch = binary.AppendUvarint(scratch, uint64(len(name)))
	scratch = append(scratch, name...)
	scratch = append(scratch, 0x12)
	scratch = binary.AppendUvarint(scratch, uint64(len(value)))
	scratch = append(scratch, value...)
	dst = append(dst, 0x0a)
	dst = binary.AppendUvarint(dst, uint64(len(scratch)))
	return append(dst, scratch...)
}

func pad5(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 5 {
		s = "0" + s
	}
	return s
}

// rwValue is series i's counter value at round r: it rises by a per-series
// constant every round, so rate() has something to compute.
func rwValue(i, round int) float64 {
	return float64(i%1000)*10 + float64(round)*float64(1+i%7)
}

// putVarint6 writes ts as a 6-byte protobuf varint.
func putVarint6(dst []byte, ts int64) {
	if ts < minVarint6 || ts > maxVarint6 {
		panic(fmt.Sprintf("BUG: timestamp %d does not fit a 6-byte varint", ts))
	}
	v := uint64(ts)
	for i := range 5 {
		dst[i] = byte(v&0x7f) | 0x80
		v >>= 7
	}
	dst[5] = byte(v)
}

// rwStream produces the remote-write requests one connection sends: one
// sample per series of its range [lo, hi) per round, perRequest samples per
// request (a request may span rounds). Owning a range keeps each series'
// samples in order, as Prometheus's sharded sender does. It is not safe for
// concurrent use.
type rwStream struct {
	set        *rwSeriesSet
	lo, hi     int
	perRequest int
	quota      int64 // samples left; <0 means no limit
	clock      *clock

	pos   int // next series, in [lo, hi)
	round int
	ts    int64

	raw, out []byte
}

// newRWStreams splits n series into c contiguous ranges, one per stream.
// quota is the total number of samples over all streams (0: unlimited).
func newRWStreams(set *rwSeriesSet, c, perRequest int, quota int64, mkClock func() *clock) []*rwStream {
	n := len(set.starts) - 1
	c = min(c, n)
	streams := make([]*rwStream, c)
	for i := range streams {
		s := &rwStream{
			set: set, lo: i * n / c, hi: (i + 1) * n / c,
			perRequest: perRequest, quota: -1, clock: mkClock(),
		}
		s.pos = s.lo
		if quota > 0 {
			s.quota = quota / int64(c)
			if int64(i) < quota%int64(c) {
				s.quota++
			}
		}
		streams[i] = s
	}
	return streams
}

// next returns the next snappy-compressed WriteRequest and how many samples
// it holds, or n == 0 when the quota is spent. The body is valid until the
// next call.
func (s *rwStream) next() (body []byte, n int) {
	want := s.perRequest
	if s.quota >= 0 {
		want = int(min(int64(want), s.quota))
		s.quota -= int64(want)
	}
	if want == 0 {
		return nil, 0
	}
	raw := s.raw[:0]
	for range want {
		if s.pos == s.lo {
			s.ts, _ = s.clock.tick()
			s.round++
		}
		raw = append(raw, s.set.arena[s.set.starts[s.pos]:s.set.starts[s.pos+1]]...)
		end := len(raw)
		binary.LittleEndian.PutUint64(raw[end-valueFromEnd:], math.Float64bits(rwValue(s.pos, s.round)))
		putVarint6(raw[end-tsFromEnd:], s.ts)
		s.pos++
		if s.pos == s.hi {
			s.pos = s.lo
		}
	}
	s.raw = raw
	s.out = snappy.Encode(s.out[:cap(s.out)], raw)
	return s.out, want
}

// RemoteWriteData describes a fixed remote-write data set to build once and
// send to several servers: Series counters (see RemoteWriteMetric), each
// with one sample every Interval for Rounds rounds starting at Start, in
// requests of SeriesPerRequest samples, split over Lanes connections.
type RemoteWriteData struct {
	Series           int
	SeriesPerRequest int
	Lanes            int
	Start            time.Time
	Interval         time.Duration
	Rounds           int
}

// Payload is one pre-built request: a snappy-compressed remote-write 1.0
// WriteRequest.
type Payload struct {
	Body    []byte
	Samples int
}

// Payloads is a data set ready to send: Lanes[i] is what connection i sends,
// in order.
type Payloads struct {
	Lanes [][]Payload
	// Samples and Bytes are the totals over all lanes.
	Samples, Bytes int64
	// Start and End are the first and last sample timestamps.
	Start, End time.Time
}

// BuildRemoteWrite encodes the whole data set d in memory, so that sending
// it costs the sender nothing but the HTTP requests.
func BuildRemoteWrite(d RemoteWriteData) (*Payloads, error) {
	if d.Series <= 0 || d.SeriesPerRequest <= 0 || d.Lanes <= 0 || d.Rounds <= 0 || d.Interval < time.Millisecond {
		return nil, errors.New("remote-write data: series, series per request, lanes and rounds must be positive and the interval at least 1ms")
	}
	if t := d.Start.UnixMilli(); t < minVarint6 || t+int64(d.Rounds)*d.Interval.Milliseconds() > maxVarint6 {
		return nil, fmt.Errorf("remote-write data: start %s out of range", d.Start)
	}
	end := d.Start.Add(time.Duration(d.Rounds) * d.Interval)
	fixed := func() time.Time { return end }
	set := newRWSeriesSet(d.Series)
	streams := newRWStreams(set, d.Lanes, d.SeriesPerRequest, 0, func() *clock {
		return newClock(fixed, d.Start, d.Interval)
	})
	p := &Payloads{Lanes: make([][]Payload, len(streams)), Start: d.Start, End: end.Add(-d.Interval)}
	for i, s := range streams {
		s.quota = int64(s.hi-s.lo) * int64(d.Rounds)
		for {
			body, n := s.next()
			if n == 0 {
				break
			}
			p.Lanes[i] = append(p.Lanes[i], Payload{Body: append([]byte(nil), body...), Samples: n})
			p.Samples += int64(n)
			p.Bytes += int64(len(body))
		}
	}
	return p, nil
}

// payloadSource replays one lane of pre-built payloads.
type payloadSource struct {
	lane []Payload
	i    int
}

func (s *payloadSource) next() ([]byte, int) {
	if s.i == len(s.lane) {
		return nil, 0
	}
	p := s.lane[s.i]
	s.i++
	return p.Body, p.Samples
}

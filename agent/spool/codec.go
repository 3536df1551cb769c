package spool

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/prophasis/prophasis/wire"
)

// The payload of a record is a compact binary encoding of one wire.Result:
// JSON would cost several microseconds per result to decode, more than the
// whole budget of a Peek. The first byte is the encoding's version, so a
// later agent can change it and still read an old spool.
//
//	version  byte (1)
//	flags    byte: 1 has value, 2 skipped
//	host, plugin, check, message   strings (uvarint length, bytes)
//	timestamp varint
//	value     float64 bits, only when flag 1
//	duration  float64 bits
//	exit      varint
//	metrics   uvarint count, each: name string, value float64 bits,
//	          unit string, counter byte, uvarint label count, label pairs
const codecVersion = 1

const (
	flagValue   = 1
	flagSkipped = 2
)

var errPayload = errors.New("malformed result payload")

// encodeResult appends the encoding of r to b.
func encodeResult(b []byte, r *wire.Result) []byte {
	var flags byte
	if r.Value != nil {
		flags |= flagValue
	}
	if r.Skipped {
		flags |= flagSkipped
	}
	b = append(b, codecVersion, flags)
	b = appendString(b, r.Host)
	b = appendString(b, r.Plugin)
	b = appendString(b, r.Check)
	b = appendString(b, r.Message)
	b = binary.AppendVarint(b, r.Timestamp)
	if r.Value != nil {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(*r.Value))
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Duration))
	b = binary.AppendVarint(b, int64(r.ExitStatus))
	b = binary.AppendUvarint(b, uint64(len(r.Metrics)))
	for i := range r.Metrics {
		m := &r.Metrics[i]
		b = appendString(b, m.Name)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.Value))
		b = appendString(b, m.Unit)
		if m.Counter {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(len(m.Labels)))
		for k, v := range m.Labels {
			b = appendString(b, k)
			b = appendString(b, v)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads a payload. Strings are slices of one string copy of the
// payload, so a result costs one allocation plus its metrics.
type decoder struct {
	s   string
	off int
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errPayload
	}
	d.off = len(d.s)
}

func (d *decoder) byte() byte {
	if d.off >= len(d.s) {
		d.fail()
		return 0
	}
	c := d.s[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c := d.byte()
		if d.err != nil {
			return 0
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x
		}
	}
	d.fail()
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) float() float64 {
	if len(d.s)-d.off < 8 {
		d.fail()
		return 0
	}
	var u uint64
	for i := 7; i >= 0; i-- {
		u = u<<8 | uint64(d.s[d.off+i])
	}
	d.off += 8
	return math.Float64frombits(u)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.off) {
		d.fail()
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// count reads a count of items that take at least min bytes each, so a
// corrupt count cannot make the decoder allocate more than the payload holds.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64((len(d.s)-d.off)/min) {
		d.fail()
		return 0
	}
	return int(n)
}

// arena hands out the values and metrics of a batch's results from a few
// large allocations rather than one or two per result: Peek's cost is
// mostly allocation. The zero value is ready.
type arena struct {
	vals    []float64
	metrics []wire.Metric
}

func (a *arena) value(v float64) *float64 {
	if len(a.vals) == cap(a.vals) {
		a.vals = make([]float64, 0, 256)
	}
	a.vals = append(a.vals, v)
	return &a.vals[len(a.vals)-1]
}

func (a *arena) metricSlice(n int) []wire.Metric {
	if n > 64 {
		return make([]wire.Metric, n)
	}
	if cap(a.metrics)-len(a.metrics) < n {
		a.metrics = make([]wire.Metric, 0, 512)
	}
	i := len(a.metrics)
	a.metrics = a.metrics[:i+n]
	return a.metrics[i : i+n : i+n]
}

// decodeResult decodes a payload written by encodeResult, taking memory
// from a.
func decodeResult(p []byte, r *wire.Result, a *arena) error {
	d := decoder{s: string(p)}
	if d.byte() != codecVersion {
		return errPayload
	}
	flags := d.byte()
	*r = wire.Result{
		Host:    d.string(),
		Plugin:  d.string(),
		Check:   d.string(),
		Message: d.string(),
	}
	r.Timestamp = d.varint()
	if flags&flagValue != 0 {
		r.Value = a.value(d.float())
	}
	r.Skipped = flags&flagSkipped != 0
	r.Duration = d.float()
	r.ExitStatus = int(d.varint())
	// A metric takes at least 12 bytes: two empty strings, a value, a
	// counter byte and a label count.
	if n := d.count(12); n > 0 {
		r.Metrics = a.metricSlice(n)
		for i := range r.Metrics {
			m := &r.Metrics[i]
			m.Name = d.string()
			m.Value = d.float()
			m.Unit = d.string()
			m.Counter = d.byte() != 0
			if nl := d.count(2); nl > 0 {
				m.Labels = make(map[string]string, nl)
				for range nl {
					k := d.string()
					m.Labels[k] = d.string()
				}
			}
		}
	}
	if d.err == nil && d.off != len(d.s) {
		d.fail()
	}
	return d.err
}

package promapi

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// This file holds the hand-rolled JSON encoder of query results. Every
// function appends to a []byte and returns it, in the manner of
// strconv.AppendFloat, so a whole matrix is encoded with no allocation beyond
// the growth of one buffer. The output is byte for byte what Prometheus's
// jsoniter encoders (web/api/v1/json_codec.go, util/jsonutil) produce; the
// tests compare the two.

// appendTimestamp appends a millisecond timestamp as seconds with a
// three-digit fraction when it is not whole ("1435781451", "1435781451.780"),
// as Prometheus does, without going through a float.
func appendTimestamp(b []byte, t int64) []byte {
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, t/1000, 10)
	if frac := t % 1000; frac != 0 {
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	}
	return b
}

// tsTable holds the encoded timestamps of a range query's steps. Every
// point of a range query's result lies on a step, and each step's timestamp
// is written once per series: formatting the steps once takes a fifth off
// the encoding of a large matrix. A nil *tsTable formats every timestamp.
type tsTable struct {
	start, step int64
	offs        []uint32 // step i is buf[offs[i]:offs[i+1]]
	buf         []byte
}

// newTSTable formats the steps start, start+step, ..., end (milliseconds).
// A step under a millisecond, which the engine refuses, gives no table.
func newTSTable(start, end, step int64) *tsTable {
	if step <= 0 || end < start {
		return nil
	}
	n := (end-start)/step + 1
	tt := &tsTable{start: start, step: step, offs: make([]uint32, 1, n+1), buf: make([]byte, 0, n*15)}
	for t := start; t <= end; t += step {
		tt.buf = appendTimestamp(tt.buf, t)
		tt.offs = append(tt.offs, uint32(len(tt.buf)))
	}
	return tt
}

// appendTS appends timestamp t. hint is the step t is expected at (the one
// after the previous point's); it returns the step after t's, the next hint,
// so consecutive points cost no division.
func (tt *tsTable) appendTS(b []byte, t int64, hint int) ([]byte, int) {
	if tt == nil {
		return appendTimestamp(b, t), 0
	}
	i := hint
	if i >= len(tt.offs)-1 || t != tt.start+int64(i)*tt.step {
		d := t - tt.start
		if d < 0 || d%tt.step != 0 || d/tt.step >= int64(len(tt.offs)-1) {
			return appendTimestamp(b, t), hint
		}
		i = int(d / tt.step)
	}
	return append(b, tt.buf[tt.offs[i]:tt.offs[i+1]]...), i + 1
}

// appendFloat appends f as a JSON string the way Prometheus renders sample
// values: shortest representation, exponent notation only below 1e-6 and from
// 1e21 on, and "+Inf", "-Inf", "NaN" for the special values.
func appendFloat(b []byte, f float64) []byte {
	b = append(b, '"')
	b = appendFloatDigits(b, f)
	return append(b, '"')
}

// appendFloatDigits appends f unquoted, as appendFloat describes.
func appendFloatDigits(b []byte, f float64) []byte {
	// Monitoring values are mostly integers (states, counts, bytes) or have a
	// few decimals (load 0.42, 97.5 %). Both are written here with integer
	// arithmetic, several times faster than strconv's shortest-float search.
	if i := int64(f); float64(i) == f && i > -1e15 && i < 1e15 {
		if i == 0 && math.Signbit(f) {
			return append(b, "-0"...)
		}
		return strconv.AppendInt(b, i, 10)
	}
	// n/1000 == f means the decimal n/1000 reads back as f. Below 1e15 the
	// float's spacing is under 0.001/4, so no other decimal with at most
	// three fractional digits does, and a shorter representation would be
	// one: this decimal is the shortest, which is what strconv writes.
	if n := math.Round(f * 1000); n > -1e15 && n < 1e15 && n/1000 == f {
		i := int64(n)
		if i < 0 {
			b = append(b, '-')
			i = -i
		}
		b = strconv.AppendInt(b, i/1000, 10)
		frac := i % 1000 // not 0: f is not an integer
		d := [4]byte{'.', byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
		nd := 4
		for d[nd-1] == '0' {
			nd--
		}
		return append(b, d[:nd]...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

// safeASCII marks the bytes that go into a JSON string unchanged.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as jsoniter's
// Stream.WriteString does (Prometheus writes label names and values with it):
// quote, backslash and control characters only, no HTML escaping. Invalid
// UTF-8, which jsoniter would copy through into invalid JSON, becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && safeASCII[s[i]] {
		i++
	}
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	return appendStringSlow(b, s, i)
}

func appendStringSlow(b []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendLabels appends a label set as a JSON object in label order.
func appendLabels(b []byte, ls labels.Labels) []byte {
	b = append(b, '{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, l.Name)
		b = append(b, ':')
		b = appendString(b, l.Value)
	})
	return append(b, '}')
}

// appendFPoint appends [ts,"value"].
func appendFPoint(b []byte, t int64, f float64) []byte {
	b = append(b, '[')
	b = appendTimestamp(b, t)
	b = append(b, ',')
	b = appendFloat(b, f)
	return append(b, ']')
}

// appendHPoint appends [ts,{histogram}].
func appendHPoint(b []byte, t int64, h *histogram.FloatHistogram) []byte {
	b = append(b, '[')
	b = appendTimestamp(b, t)
	b = append(b, ',')
	b = appendHistogram(b, h)
	return append(b, ']')
}

// appendHistogram appends a native histogram in Prometheus's shape:
//
//	{"count":"42","sum":"34593.34","buckets":[[3,"-0.25","0.25","3"],...]}
//
// The first element of a bucket says which boundaries are inclusive: 0 upper
// only, 1 lower only, 2 neither, 3 both. Empty buckets are left out and so is
// "buckets" when all are empty.
func appendHistogram(b []byte, h *histogram.FloatHistogram) []byte {
	b = append(b, `{"count":`...)
	b = appendFloat(b, h.Count)
	b = append(b, `,"sum":`...)
	b = appendFloat(b, h.Sum)
	found := false
	it := h.AllBucketIterator()
	for it.Next() {
		bucket := it.At()
		if bucket.Count == 0 {
			continue
		}
		if found {
			b = append(b, ',')
		} else {
			b = append(b, `,"buckets":[`...)
			found = true
		}
		boundaries := byte('2')
		switch {
		case bucket.LowerInclusive && bucket.UpperInclusive:
			boundaries = '3'
		case bucket.LowerInclusive:
			boundaries = '1'
		case bucket.UpperInclusive:
			boundaries = '0'
		}
		b = append(b, '[', boundaries, ',')
		b = appendFloat(b, bucket.Lower)
		b = append(b, ',')
		b = appendFloat(b, bucket.Upper)
		b = append(b, ',')
		b = appendFloat(b, bucket.Count)
		b = append(b, ']')
	}
	if found {
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendSeries appends one series of a matrix:
//
//	{"metric":{...},"values":[[ts,"v"],...],"histograms":[[ts,{...}],...]}
//
// "values" and "histograms" are left out when empty. tt, which may be nil,
// holds the query's encoded steps.
func appendSeries(b []byte, s *promql.Series, tt *tsTable) []byte {
	b = append(b, `{"metric":`...)
	b = appendLabels(b, s.Metric)
	if len(s.Floats) > 0 {
		b = append(b, `,"values":[`...)
		hint := 0
		for i, p := range s.Floats {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b, hint = tt.appendTS(b, p.T, hint)
			b = append(b, ',', '"')
			b = appendFloatDigits(b, p.F)
			b = append(b, '"', ']')
		}
		b = append(b, ']')
	}
	if len(s.Histograms) > 0 {
		b = append(b, `,"histograms":[`...)
		for i, p := range s.Histograms {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHPoint(b, p.T, p.H)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendSample appends one element of a vector:
//
//	{"metric":{...},"value":[ts,"v"]}  or  {"metric":{...},"histogram":[ts,{...}]}
func appendSample(b []byte, s *promql.Sample) []byte {
	b = append(b, `{"metric":`...)
	b = appendLabels(b, s.Metric)
	if s.H == nil {
		b = append(b, `,"value":`...)
		b = appendFPoint(b, s.T, s.F)
	} else {
		b = append(b, `,"histogram":`...)
		b = appendHPoint(b, s.T, s.H)
	}
	return append(b, '}')
}

// appendScalar appends a scalar result, [ts,"v"]. promql.Scalar marshals
// itself with encoding/json, which writes the timestamp as a float (trailing
// zeros dropped: 1.5, not 1.500) and the value always in 'f' notation.
func appendScalar(b []byte, s promql.Scalar) []byte {
	b = append(b, '[')
	b = appendFloatTimestamp(b, s.T)
	b = append(b, ',', '"')
	b = strconv.AppendFloat(b, s.V, 'f', -1, 64)
	return append(b, '"', ']')
}

// appendStringResult appends a string result, [ts,"s"], as promql.String
// marshals itself with encoding/json: float timestamp, HTML-escaped string.
func appendStringResult(b []byte, s promql.String) []byte {
	b = append(b, '[')
	b = appendFloatTimestamp(b, s.T)
	b = append(b, ',')
	v, _ := json.Marshal(s.V) // a string always marshals
	b = append(b, v...)
	return append(b, ']')
}

// appendFloatTimestamp appends float64(t)/1000 as encoding/json does. A
// millisecond timestamp is never small or large enough for its exponent
// notation.
func appendFloatTimestamp(b []byte, t int64) []byte {
	return strconv.AppendFloat(b, float64(t)/1000, 'f', -1, 64)
}

// appendStrings appends a JSON array of strings; nil is [].
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendExemplarResults appends the result of /query_exemplars:
//
//	[{"seriesLabels":{...},"exemplars":[{"labels":{...},"value":"1","timestamp":1.5}]}]
func appendExemplarResults(b []byte, rs []exemplar.QueryResult) []byte {
	b = append(b, '[')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"seriesLabels":`...)
		b = appendLabels(b, r.SeriesLabels)
		b = append(b, `,"exemplars":`...)
		if r.Exemplars == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, e := range r.Exemplars {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"labels":`...)
				b = appendLabels(b, e.Labels)
				b = append(b, `,"value":`...)
				b = appendFloat(b, e.Value)
				b = append(b, `,"timestamp":`...)
				b = appendTimestamp(b, e.Ts)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

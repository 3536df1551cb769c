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

// appendFloat appends f as a JSON string the way Prometheus renders sample
// values: shortest representation, exponent notation only below 1e-6 and from
// 1e21 on, and "+Inf", "-Inf", "NaN" for the special values.
func appendFloat(b []byte, f float64) []byte {
	b = append(b, '"')
	// Most monitoring values are small integers (states, counts): format
	// them as integers, which is several times faster than the float path and
	// gives the same digits. Negative zero keeps its sign, as strconv does.
	if i := int64(f); float64(i) == f && i > -1e15 && i < 1e15 && (i != 0 || !math.Signbit(f)) {
		b = strconv.AppendInt(b, i, 10)
		return append(b, '"')
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	return append(b, '"')
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
// "values" and "histograms" are left out when empty.
func appendSeries(b []byte, s *promql.Series) []byte {
	b = append(b, `{"metric":`...)
	b = appendLabels(b, s.Metric)
	if len(s.Floats) > 0 {
		b = append(b, `,"values":[`...)
		for i, p := range s.Floats {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFPoint(b, p.T, p.F)
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

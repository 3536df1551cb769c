package promapi

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/jsonutil"
)

// The reference encoders below are Prometheus's web/api/v1/json_codec.go
// (Apache 2.0, The Prometheus Authors), reduced to plain functions: what
// Prometheus writes for a matrix and a vector. The hand-rolled encoder must
// produce the same bytes.

func refLabels(ls labels.Labels, s *jsoniter.Stream) {
	s.WriteObjectStart()
	i := 0
	ls.Range(func(l labels.Label) {
		if i != 0 {
			s.WriteMore()
		}
		i++
		s.WriteString(l.Name)
		s.WriteRaw(`:`)
		s.WriteString(l.Value)
	})
	s.WriteObjectEnd()
}

func refSeries(ser promql.Series, s *jsoniter.Stream) {
	s.WriteObjectStart()
	s.WriteObjectField(`metric`)
	refLabels(ser.Metric, s)
	for i, p := range ser.Floats {
		s.WriteMore()
		if i == 0 {
			s.WriteObjectField(`values`)
			s.WriteArrayStart()
		}
		s.WriteArrayStart()
		jsonutil.MarshalTimestamp(p.T, s)
		s.WriteMore()
		jsonutil.MarshalFloat(p.F, s)
		s.WriteArrayEnd()
	}
	if len(ser.Floats) > 0 {
		s.WriteArrayEnd()
	}
	for i, p := range ser.Histograms {
		s.WriteMore()
		if i == 0 {
			s.WriteObjectField(`histograms`)
			s.WriteArrayStart()
		}
		s.WriteArrayStart()
		jsonutil.MarshalTimestamp(p.T, s)
		s.WriteMore()
		jsonutil.MarshalHistogram(p.H, s)
		s.WriteArrayEnd()
	}
	if len(ser.Histograms) > 0 {
		s.WriteArrayEnd()
	}
	s.WriteObjectEnd()
}

func refSample(smp promql.Sample, s *jsoniter.Stream) {
	s.WriteObjectStart()
	s.WriteObjectField(`metric`)
	refLabels(smp.Metric, s)
	s.WriteMore()
	if smp.H == nil {
		s.WriteObjectField(`value`)
	} else {
		s.WriteObjectField(`histogram`)
	}
	s.WriteArrayStart()
	jsonutil.MarshalTimestamp(smp.T, s)
	s.WriteMore()
	if smp.H == nil {
		jsonutil.MarshalFloat(smp.F, s)
	} else {
		jsonutil.MarshalHistogram(smp.H, s)
	}
	s.WriteArrayEnd()
	s.WriteObjectEnd()
}

func refEncode(v any) []byte {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	s.WriteArrayStart()
	switch v := v.(type) {
	case promql.Matrix:
		for i, ser := range v {
			if i > 0 {
				s.WriteMore()
			}
			refSeries(ser, s)
		}
	case promql.Vector:
		for i, smp := range v {
			if i > 0 {
				s.WriteMore()
			}
			refSample(smp, s)
		}
	}
	s.WriteArrayEnd()
	return append([]byte(nil), s.Buffer()...)
}

func ourEncode(v parser.Value, tt *tsTable) []byte {
	var out bytes.Buffer
	s := &stream{w: &out}
	appendValue(s, v, tt)
	s.flush()
	return out.Bytes()
}

// Strings that exercise every escaping rule, all valid UTF-8.
var testStrings = []string{
	"", "a", "prophasis_value", "web-1.example.org:9100", `quote"d`, `back\slash`,
	"tab\tnew\nline\rcr", "\x00\x01\x1f\x7f", "<script>&amp;</script>", "héllo wörld", "日本語",
	"line\u2028sep\u2029", "emoji 🙂", "/var/lib/prophasis", strings.Repeat("x", 300),
}

var testFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 42, 1e15 - 1, 1e15, -1e15, 1e16, 123456789012345678, 0.1, 1.5, -2.25,
	1.0 / 3, 2.0 / 3, 1e-6, 9.99e-7, 1e-7, 5e-324, 1e20, 1e21, 1.7976931348623157e308, -1e21,
	math.Inf(1), math.Inf(-1), math.NaN(), 4503599627370496.5, 9007199254740993, 0.000123, 1234.5678,
}

var testTimestamps = []int64{0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1435781451781, 1435781451780, 1435781451700,
	-1, -999, -1000, -1001, -1435781451781, math.MaxInt64, math.MinInt64 + 1}

func randLabels(r *rand.Rand) labels.Labels {
	b := labels.NewScratchBuilder(4)
	n := r.IntN(5)
	for i := range n {
		b.Add(string(rune('a'+i))+testStrings[r.IntN(len(testStrings))], testStrings[r.IntN(len(testStrings))])
	}
	b.Sort()
	return b.Labels()
}

func randHistogram(r *rand.Rand) *histogram.FloatHistogram {
	switch r.IntN(3) {
	case 0:
		return testHistogram(r.IntN(50)).ToFloat(nil)
	case 1: // negative and positive buckets, a wider schema
		return &histogram.FloatHistogram{
			Schema: 3, Count: 17.5, Sum: -3.25, ZeroThreshold: 1e-9, ZeroCount: 0.5,
			NegativeSpans:   []histogram.Span{{Offset: -2, Length: 2}, {Offset: 3, Length: 1}},
			NegativeBuckets: []float64{1, 0, 4},
			PositiveSpans:   []histogram.Span{{Offset: 1, Length: 3}},
			PositiveBuckets: []float64{2, 5.5, 1e-7},
		}
	default: // custom buckets (NHCB)
		return &histogram.FloatHistogram{
			Schema: histogram.CustomBucketsSchema, Count: 6, Sum: 12.5,
			PositiveSpans:   []histogram.Span{{Offset: 0, Length: 3}},
			PositiveBuckets: []float64{1, 2, 3},
			CustomValues:    []float64{0.1, 1, 10},
		}
	}
}

// The hand-rolled encoder writes exactly what Prometheus writes.
func TestEncodeMatchesPrometheus(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// Step tables that cover some of the test timestamps, not others.
	tables := []*tsTable{nil, newTSTable(-1000, 2000, 1), newTSTable(0, 10_000, 1000), newTSTable(1435781451781, 1435781451781, 1000)}
	for round := range 300 {
		var m promql.Matrix
		var v promql.Vector
		for range r.IntN(6) {
			s := promql.Series{Metric: randLabels(r)}
			for range r.IntN(8) {
				s.Floats = append(s.Floats, promql.FPoint{T: testTimestamps[r.IntN(len(testTimestamps))], F: testFloats[r.IntN(len(testFloats))]})
			}
			for range r.IntN(3) {
				s.Histograms = append(s.Histograms, promql.HPoint{T: testTimestamps[r.IntN(len(testTimestamps))], H: randHistogram(r)})
			}
			m = append(m, s)
			smp := promql.Sample{Metric: s.Metric, T: testTimestamps[r.IntN(len(testTimestamps))], F: testFloats[r.IntN(len(testFloats))]}
			if r.IntN(3) == 0 {
				smp.H = randHistogram(r)
			}
			v = append(v, smp)
		}
		want := refEncode(m)
		for _, tt := range tables {
			if got := ourEncode(m, tt); !bytes.Equal(got, want) {
				t.Fatalf("round %d, matrix, steps %+v:\n got %s\nwant %s", round, tt, got, want)
			}
		}
		if got, want := ourEncode(v, nil), refEncode(v); !bytes.Equal(got, want) {
			t.Fatalf("round %d, vector:\n got %s\nwant %s", round, got, want)
		}
	}
}

// A range query's points, on steps and off them, with gaps, encode the same
// with the step table as without.
func TestEncodeWithSteps(t *testing.T) {
	const start, step = 1435781400000, 15000
	tt := newTSTable(start, start+100*step, step)
	var m promql.Matrix
	for k := range 5 {
		s := promql.Series{Metric: labels.FromStrings("k", strconv.Itoa(k))}
		for i := range 101 {
			if (i+k)%(k+2) == 0 {
				continue // a gap
			}
			s.Floats = append(s.Floats, promql.FPoint{T: start + int64(i)*step, F: float64(i) / 4})
			if i%17 == k {
				s.Floats = append(s.Floats, promql.FPoint{T: start + int64(i)*step + 7, F: 1}) // off step
			}
		}
		s.Floats = append(s.Floats, promql.FPoint{T: start + 101*step, F: 2}, promql.FPoint{T: start - step, F: 3}) // outside
		m = append(m, s)
	}
	if got, want := ourEncode(m, tt), refEncode(m); !bytes.Equal(got, want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if tt := newTSTable(0, 10, 0); tt != nil {
		t.Errorf("a table of zero steps: %+v", tt)
	}
}

// Scalars and strings marshal themselves in Prometheus (encoding/json).
func TestEncodeScalarAndString(t *testing.T) {
	for _, ts := range testTimestamps[:16] {
		for _, f := range testFloats {
			sc := promql.Scalar{T: ts, V: f}
			want, err := json.Marshal(sc)
			if err != nil {
				t.Fatal(err)
			}
			if got := ourEncode(sc, nil); !bytes.Equal(got, want) {
				t.Errorf("scalar %v: got %s, want %s", sc, got, want)
			}
		}
		for _, s := range testStrings {
			str := promql.String{T: ts, V: s}
			want, err := json.Marshal(str)
			if err != nil {
				t.Fatal(err)
			}
			if got := ourEncode(str, nil); !bytes.Equal(got, want) {
				t.Errorf("string %q: got %s, want %s", s, got, want)
			}
		}
	}
}

// Invalid UTF-8 in a label, which jsoniter would copy into invalid JSON,
// comes out as U+FFFD in valid JSON.
func TestEncodeInvalidUTF8(t *testing.T) {
	for _, s := range []string{"\xff", "a\xc3", "\xed\xa0\x80x", "ok\xfe\"q\""} {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q encodes to invalid JSON %s: %v", s, b, err)
			continue
		}
		if !utf8.ValidString(got) || !strings.Contains(got, "\ufffd") {
			t.Errorf("%q decodes to %q", s, got)
		}
	}
}

// Every string survives a round trip through the encoder and encoding/json.
func FuzzAppendString(f *testing.F) {
	for _, s := range testStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b, err)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("%q round-trips to %q", s, got)
		}
	})
}

// refFloat is jsonutil.MarshalFloat without the quotes.
func refFloat(f float64) string {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.FormatFloat(f, format, -1, 64)
}

// The integer and few-decimals fast paths write what strconv writes.
func TestAppendFloatDigits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	check := func(f float64) {
		if got, want := string(appendFloatDigits(nil, f)), refFloat(f); got != want {
			t.Fatalf("%v (%#x): got %s, want %s", f, math.Float64bits(f), got, want)
		}
	}
	for _, f := range testFloats {
		check(f)
		check(-f)
	}
	for range 200_000 {
		n := r.Int64N(2e15) - 1e15
		check(float64(n) / 1000)
		check(float64(n) / 100)
		check(float64(n%1e7) / 1000)
		check(float64(n) / 7)
		check(math.Float64frombits(r.Uint64()))
		check(r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20)))
		f := float64(n) / 1000
		check(math.Nextafter(f, math.Inf(1)))
		check(math.Nextafter(f, math.Inf(-1)))
	}
}

func FuzzAppendFloatDigits(f *testing.F) {
	for _, v := range testFloats {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if got, want := string(appendFloatDigits(nil, v)), refFloat(v); got != want {
			t.Fatalf("%v (%#x): got %s, want %s", v, math.Float64bits(v), got, want)
		}
	})
}

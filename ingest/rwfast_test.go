package ingest

import (
	"errors"
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

// FuzzParseV1 checks the fast remote-write parser against the generated
// protobuf code: whatever parseV1 accepts, prompb decodes identically.
func FuzzParseV1(f *testing.F) {
	for _, req := range []prompb.WriteRequest{
		{Timeseries: []prompb.TimeSeries{series("x", []prompb.Label{{Name: "a", Value: "b"}}, prompb.Sample{Timestamp: 5, Value: 1.5})}},
		{Timeseries: []prompb.TimeSeries{series_(1, 10), series_(2, -3)}, Metadata: []prompb.MetricMetadata{{MetricFamilyName: "x", Help: "h"}}},
		{Timeseries: []prompb.TimeSeries{{Labels: []prompb.Label{{Name: "__name__", Value: "e"}}, Exemplars: []prompb.Exemplar{{Value: 1}}}}},
	} {
		b, err := req.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p v1Parsed
		err := parseV1(data, &p)
		if err != nil {
			return
		}
		var want prompb.WriteRequest
		if err := want.Unmarshal(data); err != nil {
			t.Fatalf("parseV1 accepted what prompb refuses (%v)", err)
		}
		if len(p.series) != len(want.Timeseries) {
			t.Fatalf("%d series, prompb %d", len(p.series), len(want.Timeseries))
		}
		for i, ts := range want.Timeseries {
			got := p.series[i]
			if len(got.labels) != len(ts.Labels) || len(got.samples) != len(ts.Samples) {
				t.Fatalf("series %d: %d labels %d samples, prompb %d and %d", i, len(got.labels), len(got.samples), len(ts.Labels), len(ts.Samples))
			}
			for j, l := range ts.Labels {
				if string(got.labels[j].name) != l.Name || string(got.labels[j].value) != l.Value {
					t.Fatalf("series %d label %d: %q=%q, prompb %q=%q", i, j, got.labels[j].name, got.labels[j].value, l.Name, l.Value)
				}
			}
			for j, s := range ts.Samples {
				g := got.samples[j]
				if g.t != s.Timestamp || (g.v != s.Value && !(g.v != g.v && s.Value != s.Value)) {
					t.Fatalf("series %d sample %d: %v, prompb %v", i, j, g, s)
				}
			}
		}
	})
}

func TestParseV1NeedsGeneralPathForExemplarsAndHistograms(t *testing.T) {
	for _, ts := range []prompb.TimeSeries{
		{Labels: []prompb.Label{{Name: "__name__", Value: "e"}}, Exemplars: []prompb.Exemplar{{Value: 1}}},
		{Labels: []prompb.Label{{Name: "__name__", Value: "h"}}, Histograms: []prompb.Histogram{{Timestamp: 1}}},
	} {
		b, _ := (&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts}}).Marshal()
		var p v1Parsed
		if err := parseV1(b, &p); !errors.Is(err, errNeedGeneralPath) {
			t.Fatalf("%v: err = %v, want errNeedGeneralPath", ts, err)
		}
	}
}

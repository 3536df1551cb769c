package loadgen

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// decodeWrite decodes a remote-write body as the receiver does.
func decodeWrite(body []byte) (*prompb.WriteRequest, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	var wr prompb.WriteRequest
	if err := wr.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("protobuf: %w", err)
	}
	return &wr, nil
}

func mustDecodeWrite(t *testing.T, body []byte) *prompb.WriteRequest {
	t.Helper()
	wr, err := decodeWrite(body)
	if err != nil {
		t.Fatal(err)
	}
	return wr
}

func mustCheckSeries(t *testing.T, wr *prompb.WriteRequest, last map[string]int64) {
	t.Helper()
	if err := checkSeries(wr, last); err != nil {
		t.Fatal(err)
	}
}

// checkSeries checks one decoded request's series: labels sorted and as
// documented, one sample each, timestamps rising per series.
func checkSeries(wr *prompb.WriteRequest, last map[string]int64) error {
	for _, ts := range wr.Timeseries {
		if len(ts.Labels) != 3 || ts.Labels[0].Name != "__name__" || ts.Labels[0].Value != RemoteWriteMetric ||
			ts.Labels[1].Name != "instance" || ts.Labels[2].Name != "job" {
			return fmt.Errorf("labels %v", ts.Labels)
		}
		if len(ts.Samples) != 1 {
			return fmt.Errorf("%d samples in one series entry", len(ts.Samples))
		}
		id := ts.Labels[1].Value + "/" + ts.Labels[2].Value
		s := ts.Samples[0]
		if prev, ok := last[id]; ok && s.Timestamp <= prev {
			return fmt.Errorf("%s: timestamp %d after %d", id, s.Timestamp, prev)
		}
		last[id] = s.Timestamp
	}
	return nil
}

func TestRemoteWriteStreams(t *testing.T) {
	f := func(series, perRequest, conns, rounds int) {
		t.Helper()
		t.Run(fmt.Sprintf("s%d_r%d_c%d", series, perRequest, conns), func(t *testing.T) {
			clk := &fakeNow{testEpoch}
			set := newRWSeriesSet(series)
			total := int64(series * rounds)
			streams := newRWStreams(set, conns, perRequest, total, func() *clock {
				return newClock(clk.now, testEpoch.Add(-time.Hour), 15*time.Second)
			})
			last := map[string]int64{}
			var got int64
			for _, s := range streams {
				for {
					body, n := s.next()
					if n == 0 {
						break
					}
					wr := mustDecodeWrite(t, body)
					if len(wr.Timeseries) != n || n > perRequest {
						t.Fatalf("request has %d series, next said %d (limit %d)", len(wr.Timeseries), n, perRequest)
					}
					mustCheckSeries(t, wr, last)
					got += int64(n)
				}
			}
			if got != total || len(last) != series {
				t.Fatalf("sent %d samples over %d series, want %d over %d", got, len(last), total, series)
			}
		})
	}
	f(10_000, 2_000, 4, 3)
	f(7, 5, 3, 4) // requests span rounds
	f(3, 2_000, 8, 2)
}

func TestBuildRemoteWrite(t *testing.T) {
	start := testEpoch.Add(-time.Hour)
	p, err := BuildRemoteWrite(RemoteWriteData{
		Series: 1000, SeriesPerRequest: 300, Lanes: 3, Start: start, Interval: 15 * time.Second, Rounds: 240,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Samples != 240_000 {
		t.Fatalf("%d samples, want 240000", p.Samples)
	}
	if !p.End.Equal(start.Add(239 * 15 * time.Second)) {
		t.Fatalf("end %s", p.End)
	}
	last := map[string]int64{}
	values := map[string][]float64{}
	for _, lane := range p.Lanes {
		for _, pl := range lane {
			wr := mustDecodeWrite(t, pl.Body)
			mustCheckSeries(t, wr, last)
			for _, ts := range wr.Timeseries {
				id := ts.Labels[1].Value + "/" + ts.Labels[2].Value
				values[id] = append(values[id], ts.Samples[0].Value)
				if tm := ts.Samples[0].Timestamp; tm < start.UnixMilli() || tm > p.End.UnixMilli() || (tm-start.UnixMilli())%15000 != 0 {
					t.Fatalf("timestamp %d not on the 15s grid from %d to %d", tm, start.UnixMilli(), p.End.UnixMilli())
				}
			}
		}
	}
	if len(last) != 1000 {
		t.Fatalf("%d series", len(last))
	}
	for id, vs := range values {
		if len(vs) != 240 {
			t.Fatalf("%s: %d samples", id, len(vs))
		}
		for i := 1; i < len(vs); i++ {
			if vs[i] <= vs[i-1] {
				t.Fatalf("%s: counter fell from %v to %v", id, vs[i-1], vs[i])
			}
		}
	}
}

func TestPutVarint6(t *testing.T) {
	for _, ts := range []int64{minVarint6, testEpoch.UnixMilli(), maxVarint6} {
		buf := make([]byte, 6)
		putVarint6(buf, ts)
		v, n := binary.Uvarint(buf)
		if n != 6 || int64(v) != ts {
			t.Errorf("putVarint6(%d) decodes to %d in %d bytes", ts, v, n)
		}
	}
}

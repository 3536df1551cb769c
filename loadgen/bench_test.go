package loadgen

import (
	"testing"
	"time"
)

// The generator's cost per request: what it takes from the CPUs it shares
// with the server under test.

func BenchmarkAgentBatch(b *testing.B) {
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			streams, err := newAgentStreams(agentConfig{100, 20, 0, 500, gz, "agent"}, 1, 0,
				func() *clock { return newClock(time.Now, time.Now(), time.Minute) })
			if err != nil {
				b.Fatal(err)
			}
			s := streams[0]
			b.ReportAllocs()
			for b.Loop() {
				s.next()
			}
			b.SetBytes(int64(len(s.buf))) // the JSON, before any gzip
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/500, "ns/result")
		})
	}
}

func BenchmarkRemoteWriteRequest(b *testing.B) {
	set := newRWSeriesSet(10_000)
	s := newRWStreams(set, 1, 2000, 0, func() *clock { return newClock(time.Now, time.Now(), 15*time.Second) })[0]
	b.ReportAllocs()
	var bytes int
	for b.Loop() {
		body, _ := s.next()
		bytes = len(body)
	}
	b.SetBytes(int64(bytes))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2000, "ns/sample")
}

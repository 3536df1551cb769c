package spool

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time the process has used, user and system: on
// a shared machine a steadier figure than wall time, and it leaves out
// waiting for the disk.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppend appends 500 results per op, as one call (the push loop's
// batch) and as 500 calls (the runner appending as results come).
func BenchmarkAppend(b *testing.B) {
	rs := results(0, 500)
	for _, bc := range []struct {
		name string
		per  int
	}{{"batch500", 500}, {"one-by-one", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			var cpu time.Duration
			for b.Loop() {
				start := cpuTime(b)
				for i := 0; i < len(rs); i += bc.per {
					if err := s.Append(rs[i : i+bc.per]...); err != nil {
						b.Fatal(err)
					}
				}
				cpu += cpuTime(b) - start
				if s.Bytes() > 64<<20 {
					// Keep the spool below its bound without timing the acks.
					b.StopTimer()
					drainBench(b, s)
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

func drainBench(b *testing.B, s *Spool) {
	for s.Len() > 0 {
		batch, err := s.Peek(5000)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Ack(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPeekAck peeks and acks 500 results per op. Ack writes and
// syncs the ack file, so the wall time per op is mostly the disk's.
func BenchmarkPeekAck(b *testing.B) {
	s, err := Open(b.TempDir(), Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rs := results(0, 500)
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		if err := s.Append(rs...); err != nil {
			b.Fatal(err)
		}
		start := cpuTime(b)
		b.StartTimer()
		batch, err := s.Peek(500)
		if err != nil {
			b.Fatal(err)
		}
		if len(batch.Results) != 500 {
			b.Fatalf("peeked %d results", len(batch.Results))
		}
		if err := s.Ack(batch); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - start
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

package rules_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// realisticClassifier looks at the last 10 results, as the benchmark goal
// asks: a threshold on the newest value, a trend over the window.
const realisticClassifier = `
if isMissing(values[1]) then return "unknown" end
if values[1] > 90 then return "critical" end
if consecutive(values, function(v) return v > 70 end) >= 5 then return "major" end
if arrayAvg(values) > 50 then return "minor" end
return "ok"`

// BenchmarkResultToStateLatency measures, at 20k results/s through ingest
// (TSDB and message log writes included), the time from a result being
// handed to ingest to its state change being recorded (the state sample
// committed to the TSDB and the event published). 2000 hosts push a result
// every 100 ms in batches of 200 every 10 ms. In "storm", one result in five
// changes its check's state (and so its host's): 4k check and 4k host
// changes a second, every one written to the store; in "steady", one in 50.
// Goal (issue 4): p99 ≤ 5 ms. ack-* is how long ingest took to acknowledge
// a batch (the agent's wait).
func BenchmarkResultToStateLatency(b *testing.B) {
	b.Run("storm", func(b *testing.B) { benchLatency(b, 10) })
	b.Run("steady", func(b *testing.B) { benchLatency(b, 100) })
}

// benchLatency runs the load; each host's value is critical once every
// period results, so two results in period change state.
func benchLatency(b *testing.B, period int) {
	const (
		hosts    = 2000
		batch    = 200
		interval = 10 * time.Millisecond // 200 per 10 ms = 20k/s
		duration = 5 * time.Second
	)
	e := newEnv(b)
	e.plugin(b, store.Plugin{Name: "cpu", Kind: "exec", Entrypoint: "cpu", Classifier: realisticClassifier, History: 10})

	var mu sync.Mutex
	sent := map[int64]time.Time{} // batch timestamp → when it was handed to ingest
	var lat, wb []time.Duration
	e.e.Subscribe(func(evs []store.Event) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range evs {
			if ev.Subject.Kind == "check" {
				lat = append(lat, now.Sub(sent[ev.Time]))
			}
		}
	})
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).UnixMilli()
	rounds := int(duration / interval)
	// Warm up: every host's first result creates its series and its first
	// state ("unknown → ok"), which is not the steady path being measured.
	warm := make([]wire.Result, hosts)
	for h := range warm {
		v := 10.0
		warm[h] = wire.Result{Host: fmt.Sprintf("host%04d", h), Plugin: "cpu", Check: "load",
			Timestamp: base - 1, Value: &v, Duration: 0.01}
	}
	if _, err := e.in.WriteBatch(ctx, wire.Batch{Results: warm}); err != nil {
		b.Fatal(err)
	}
	if err := e.e.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		mu.Lock()
		lat = lat[:0]
		mu.Unlock()
		tick := time.NewTicker(interval)
		var late int
		for i := range rounds {
			<-tick.C
			ts := base + int64(i)
			round := i / (hosts / batch) // each host's result number
			rs := make([]wire.Result, batch)
			for j := range rs {
				h := (i%(hosts/batch))*batch + j
				v := 10.0
				if (round+h)%period == 0 {
					v = 95 // critical, then ok again: two changes a period
				}
				rs[j] = wire.Result{Host: fmt.Sprintf("host%04d", h), Plugin: "cpu", Check: "load",
					Timestamp: ts, Value: &v, Duration: 0.01}
			}
			start := time.Now()
			mu.Lock()
			sent[ts] = start
			mu.Unlock()
			if _, err := e.in.WriteBatch(ctx, wire.Batch{Results: rs}); err != nil {
				b.Fatal(err)
			}
			wb = append(wb, time.Since(start))
			if time.Since(start) > interval {
				late++
			}
		}
		tick.Stop()
		if err := e.e.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		base += int64(rounds)
		if late > rounds/10 {
			b.Logf("%d of %d batches took longer than their %s slot: the offered load was not sustained", late, rounds, interval)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		b.Fatal("no state changes recorded")
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(lat)), "changes")
	b.ReportMetric(0, "ns/op")
	slices.Sort(wb)
	b.ReportMetric(float64(wb[len(wb)/2].Microseconds())/1000, "ack-p50-ms")
	b.ReportMetric(float64(wb[len(wb)*99/100].Microseconds())/1000, "ack-p99-ms")
}

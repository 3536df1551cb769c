package trend

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

const (
	benchSeries  = 10_000
	benchSamples = 6 * 240 // 6h at 15 s
)

// BenchmarkEvaluate is the goal: one round of the example rule over
// 10k series with a 6h window at 15 s resolution (14.4M samples), in a real
// TSDB; goal at most 1 s per round on the 2-core machine.
func BenchmarkEvaluate(b *testing.B) {
	db := openDB(b)
	start := time.Now()
	// In time order, as results arrive: all series at one timestamp, then
	// the next, one appender per 20 timestamps. (Writing series after
	// series instead would put most samples behind the head's appendable
	// window, into the slower out-of-order head.)
	lsets := make([]labels.Labels, benchSeries)
	refs := make([]storage.SeriesRef, benchSeries)
	for s := range lsets {
		lsets[s] = labels.FromStrings("__name__", "prophasis_value", "host", fmt.Sprintf("host-%05d", s), "plugin", "disk")
	}
	for i0 := 0; i0 < benchSamples; i0 += 20 {
		app := db.Appender(context.Background())
		for i := i0; i < min(i0+20, benchSamples); i++ {
			ts := t0.Add(time.Duration(i) * 15 * time.Second).UnixMilli()
			for s, lset := range lsets {
				// Disks filling at 0 to 0.36 %/h, with a little noise.
				perSec := float64(s%100) / 1e6
				ref, err := app.Append(refs[s], lset, ts, 20+perSec*float64(i*15)+float64(i%3))
				if err != nil {
					b.Fatal(err)
				}
				refs[s] = ref
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("appended %d samples in %s", benchSeries*benchSamples, time.Since(start).Round(time.Millisecond))

	c := mustCompile(b, 6*time.Hour, exampleRule)
	at := t0.Add((benchSamples - 1) * 15 * time.Second)
	b.ResetTimer()
	for b.Loop() {
		out, err := c.Evaluate(context.Background(), db, at)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) != benchSeries || out[0].Err != nil {
			b.Fatalf("%d outcomes, first %+v", len(out), out[0])
		}
	}
	b.ReportMetric(float64(benchSeries*benchSamples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

package rules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// BenchmarkAlertLatency measures issue 5's end-to-end figure: a result
// received → its check critical → the alert rule fires → the webhook is
// delivered to a real HTTP receiver, under 20k results/s of background
// load (2000 hosts every 100 ms in batches of 200 every 10 ms). In each
// batch one host turns critical (or recovers), so ~100 notifications a
// second go out. Goal p99 ≤ 50 ms.
func BenchmarkAlertLatency(b *testing.B) {
	const (
		hosts    = 2000
		batch    = 200
		interval = 10 * time.Millisecond
		duration = 5 * time.Second
	)
	e := newEnv(b)
	ctx := context.Background()
	rcv, srv := newHookReceiver(b)
	e.plugin(b, store.Plugin{Name: "cpu", Kind: "exec", Entrypoint: "cpu", Classifier: realisticClassifier, History: 10})
	if _, err := e.st.CreateAlertModule(ctx, store.AlertModule{Name: "hook", Kind: "webhook",
		Config: json.RawMessage(`{"url":"` + srv.URL + `"}`)}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.st.CreateAlertRule(ctx, store.AlertRule{Name: "critical", To: []string{"critical"}, Modules: []string{"hook"}}); err != nil {
		b.Fatal(err)
	}
	startAlerting(b, e)

	var mu sync.Mutex
	sent := map[string]time.Time{} // alert id + status → when its result was handed to ingest
	var lat []time.Duration
	go func() {
		for a := range rcv.got {
			now := time.Now()
			mu.Lock()
			if t, ok := sent[a.ID+a.Status]; ok {
				lat = append(lat, now.Sub(t))
				delete(sent, a.ID+a.Status)
			}
			mu.Unlock()
		}
	}()

	base := time.Now().Add(-time.Hour).UnixMilli()
	warm := make([]wire.Result, hosts)
	for h := range warm {
		v := 10.0
		warm[h] = wire.Result{Host: fmt.Sprintf("host%04d", h), Plugin: "cpu", Check: "load", Timestamp: base - 1, Value: &v, Duration: 0.01}
	}
	if _, err := e.in.WriteBatch(ctx, wire.Batch{Results: warm}); err != nil {
		b.Fatal(err)
	}
	rounds := int(duration / interval)
	critical := map[int]bool{}
	for b.Loop() {
		tick := time.NewTicker(interval)
		for i := range rounds {
			<-tick.C
			ts := base + int64(i)
			slot := i % (hosts / batch)
			flip := slot*batch + (i/(hosts/batch))%batch // one host of the batch
			rs := make([]wire.Result, batch)
			for j := range rs {
				h := slot*batch + j
				v := 10.0
				if h == flip {
					critical[h] = !critical[h]
				}
				if critical[h] {
					v = 95
				}
				rs[j] = wire.Result{Host: fmt.Sprintf("host%04d", h), Plugin: "cpu", Check: "load", Timestamp: ts, Value: &v, Duration: 0.01}
			}
			status := "resolved"
			if critical[flip] {
				status = "firing"
			}
			id := fmt.Sprintf("critical/check/host%04d/cpu/load", flip)
			mu.Lock()
			sent[id+status] = time.Now()
			mu.Unlock()
			if _, err := e.in.WriteBatch(ctx, wire.Batch{Results: rs}); err != nil {
				b.Fatal(err)
			}
		}
		tick.Stop()
		base += int64(rounds)
	}
	// Wait for the last deliveries.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(sent)
		mu.Unlock()
		if n == 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lat) < rounds/2 {
		b.Fatalf("%d notifications measured of %d", len(lat), rounds)
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(lat)), "notifications")
	// Failed attempts (retried later) explain a long tail.
	if err := e.e.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	notes, err := e.st.Notifications(ctx, store.NotificationQuery{Limit: 10000})
	if err != nil {
		b.Fatal(err)
	}
	failed := 0
	for _, n := range notes {
		if n.Error != "" {
			failed++
			if failed == 1 {
				b.Logf("a failed attempt: %s", n.Error)
			}
		}
	}
	b.ReportMetric(float64(failed), "failed-attempts")
	b.ReportMetric(0, "ns/op")
}

package ingest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prophasis/prophasis/msglog"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

func sampleBatch() wire.Batch {
	return wire.Batch{Results: []wire.Result{
		{Host: "web1", Plugin: "load", Check: "resources", Timestamp: ms(-2 * time.Minute), Value: ptr(0.5),
			Message: "OK - load average: 0.50", Duration: 0.01},
		{Host: "web1", Plugin: "load", Check: "resources", Timestamp: ms(-time.Minute), Value: ptr(0.7),
			Message: "OK - load average: 0.70", Duration: 0.02},
		{Host: "web1", Plugin: "disk", Timestamp: ms(-time.Minute), Duration: 0.2, ExitStatus: 2,
			Message: "DISK CRITICAL - / at 97%",
			Metrics: []wire.Metric{
				{Name: "used_bytes", Labels: map[string]string{"mount": "/"}, Value: 97e9},
				{Name: "used_bytes", Labels: map[string]string{"mount": "/var"}, Value: 12e9},
			}},
	}}
}

func TestWriteBatchStoresValuesMetricsAndMessages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	resp, err := e.in.WriteBatch(ctx, sampleBatch())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Accepted != 3 || resp.Duplicates != 0 || len(resp.Rejected) != 0 {
		t.Fatalf("response = %+v, want 3 accepted", resp)
	}
	vals := e.samples(t, eq("__name__", MetricValue), eq("host", "web1"))
	want := `{__name__="prophasis_value", check="resources", host="web1", plugin="load"}`
	if got := vals[want]; len(vals) != 1 || fmt.Sprint(got) != "[0.5 0.7]" {
		t.Fatalf("prophasis_value = %v, want %s = [0.5 0.7]", vals, want)
	}
	dur := e.samples(t, eq("__name__", MetricDuration))
	if len(dur) != 2 {
		t.Fatalf("duration series = %v, want 2 series", dur)
	}
	metrics := e.samples(t, eq("__name__", "prophasis_disk_used_bytes"))
	if got := metrics[`{__name__="prophasis_disk_used_bytes", host="web1", mount="/var", plugin="disk"}`]; fmt.Sprint(got) != "[1.2e+10]" {
		t.Fatalf("metric series = %v", metrics)
	}
	msgs, err := msglog.NewReader(e.db, e.st).Query(ctx, store.MessageQuery{Host: "web1", Plugin: "load", Check: "resources", From: 0, To: ms(0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Text != "OK - load average: 0.70" {
		t.Fatalf("messages = %+v, want 2, newest first", msgs)
	}
	disk, err := msglog.NewReader(e.db, e.st).Query(ctx, store.MessageQuery{Host: "web1", Plugin: "disk", From: 0, To: ms(0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(disk) != 1 || disk[0].ExitStatus != 2 {
		t.Fatalf("disk messages = %+v, want one with exit status 2", disk)
	}
	if e.hook.count() != 3 {
		t.Fatalf("hook saw %d results, want 3", e.hook.count())
	}
}

func TestWriteBatchIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	check := func(when string) {
		t.Helper()
		if n := len(e.samples(t, eq("__name__", MetricValue))[`{__name__="prophasis_value", check="resources", host="web1", plugin="load"}`]); n != 2 {
			t.Fatalf("%s: %d value samples, want 2", when, n)
		}
		msgs, err := msglog.NewReader(e.db, e.st).Query(ctx, store.MessageQuery{Host: "web1", Plugin: "load", Check: "resources", To: ms(0)})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 {
			t.Fatalf("%s: %d messages, want 2", when, len(msgs))
		}
	}
	if _, err := e.in.WriteBatch(ctx, sampleBatch()); err != nil {
		t.Fatal(err)
	}
	resp, err := e.in.WriteBatch(ctx, sampleBatch())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Accepted != 0 || resp.Duplicates != 3 {
		t.Fatalf("resend: response = %+v, want 3 duplicates", resp)
	}
	check("resend")
	if e.hook.count() != 3 {
		t.Fatalf("hook saw %d results, want 3: a resent result must not be classified twice", e.hook.count())
	}

	// After a restart the cache is cold: the TSDB itself must recognise them.
	e.reopen(t)
	resp, err = e.in.WriteBatch(ctx, sampleBatch())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Accepted != 0 || resp.Duplicates != 3 {
		t.Fatalf("resend after restart: response = %+v, want 3 duplicates", resp)
	}
	check("resend after restart")
	if e.hook.count() != 0 {
		t.Fatalf("hook saw %d results after restart, want 0", e.hook.count())
	}
}

func TestWriteBatchOutOfOrderAndPartialResend(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := func(d time.Duration, v float64) wire.Result {
		return wire.Result{Host: "db1", Plugin: "load", Timestamp: ms(d), Value: ptr(v)}
	}
	// Newest first, then a backlog replayed with original timestamps.
	for _, b := range [][]wire.Result{
		{r(-time.Minute, 3)},
		{r(-4*time.Hour, 1), r(-3*time.Hour, 2)},
		// The same backlog again plus one new result, in one batch, with a repeat inside.
		{r(-4*time.Hour, 1), r(-3*time.Hour, 2), r(-2*time.Hour, 2.5), r(-2*time.Hour, 2.5)},
	} {
		if _, err := e.in.WriteBatch(ctx, wire.Batch{Results: b}); err != nil {
			t.Fatal(err)
		}
	}
	got := e.samples(t, eq("__name__", MetricValue), eq("host", "db1"))
	if v := fmt.Sprint(got[`{__name__="prophasis_value", host="db1", plugin="load"}`]); v != "[1 2 2.5 3]" {
		t.Fatalf("values = %v, want [1 2 2.5 3] in time order, nothing twice", got)
	}
	if e.hook.count() != 4 {
		t.Fatalf("hook saw %d results, want 4", e.hook.count())
	}
}

func TestWriteBatchRejectsTooOld(t *testing.T) {
	e := newEnv(t)
	b := wire.Batch{Results: []wire.Result{
		{Host: "h", Plugin: "p", Timestamp: ms(-8 * 24 * time.Hour), Value: ptr(1)},
		{Host: "h", Plugin: "p", Timestamp: ms(-time.Minute), Value: ptr(2)},
	}}
	resp, err := e.in.WriteBatch(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Accepted != 1 || len(resp.Rejected) != 1 || resp.Rejected[0].Index != 0 {
		t.Fatalf("response = %+v, want result 0 rejected, 1 accepted", resp)
	}
}

func TestWriteBatchConflictingValueIsRejected(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	one := func(v float64) wire.Batch {
		return wire.Batch{Results: []wire.Result{{Host: "h", Plugin: "p", Timestamp: ms(-time.Minute), Value: ptr(v), Duration: v}}}
	}
	if _, err := e.in.WriteBatch(ctx, one(1)); err != nil {
		t.Fatal(err)
	}
	// A cold cache forces the TSDB path; the duration sample exists, so it
	// is a duplicate even though the value differs: the first write wins.
	e.reopen(t)
	resp, err := e.in.WriteBatch(ctx, one(2))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Duplicates != 1 {
		t.Fatalf("response = %+v, want the resent timestamp counted as a duplicate", resp)
	}
	if v := fmt.Sprint(e.samples(t, eq("__name__", MetricValue))[`{__name__="prophasis_value", host="h", plugin="p"}`]); v != "[1]" {
		t.Fatalf("value = %s, want [1]", v)
	}
}

func BenchmarkWriteBatch(b *testing.B) {
	e := newEnv(b)
	// The rules engine hands results off; keeping them all would measure
	// the test's own slice growth.
	e.in.hook = HookFunc(func(context.Context, []wire.Result) {})
	ctx := context.Background()
	const hosts, plugins = 100, 5
	base := testNow.Add(-time.Hour).UnixMilli()
	hostNames := make([]string, hosts)
	for h := range hostNames {
		hostNames[h] = fmt.Sprintf("host%03d", h)
	}
	pluginNames := []string{"cpu", "load", "memory", "disk", "swap"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := wire.Batch{Results: make([]wire.Result, 0, 500)}
		ts := base + int64(i)*1000
		for h := 0; h < hosts; h++ {
			for p := 0; p < plugins; p++ {
				v := float64(i + h + p)
				batch.Results = append(batch.Results, wire.Result{
					Host: hostNames[h], Plugin: pluginNames[p], Check: "c",
					Timestamp: ts, Value: &v, Message: "OK - value is fine", Duration: 0.01,
				})
			}
		}
		if _, err := e.in.WriteBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "results/s")
}

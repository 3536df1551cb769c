package rules_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/prophasis/prophasis/rules"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// BenchmarkRestore measures a start: 10k checks with 10 stored results each
// (value, message, state) read back into the engine's histories from the
// TSDB and the message log.
func BenchmarkRestore(b *testing.B) {
	const checks, results = 10_000, 10
	e := newEnv(b)
	e.plugin(b, store.Plugin{Name: "cpu", Kind: "exec", Entrypoint: "cpu", Classifier: realisticClassifier, History: results})
	ctx := context.Background()
	for i := range results {
		rs := make([]wire.Result, 0, checks)
		for c := range checks {
			r := result(fmt.Sprintf("host%04d", c/2), "cpu", fmt.Sprintf("check%d", c%2), i, float64(c%100))
			r.Message = fmt.Sprintf("OK - load %d", c%100)
			rs = append(rs, r)
		}
		if _, err := e.in.WriteBatch(ctx, wire.Batch{Results: rs}); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.e.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		eng := rules.New(e.st, e.db, discard(), rules.Options{})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- eng.Run(rctx) }()
		<-eng.Started()
		if n := len(eng.States()); n != checks {
			b.Fatalf("restored %d checks, want %d", n, checks)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/start")
}

package stale

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/prophasis/prophasis/tsdb"
)

// TestConfigChangeReloadsExpectations: a check created after the start is
// watched from its creation, not from the next Refresh.
func TestConfigChangeReloadsExpectations(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{}, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k := Key{"web3", "load", "alive"}
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		expected := map[Key]time.Duration{}
		changed := make(chan struct{})
		expect := func(context.Context) (map[Key]time.Duration, error) {
			mu.Lock()
			defer mu.Unlock()
			out := map[Key]time.Duration{}
			for k, v := range expected {
				out[k] = v
			}
			return out, nil
		}
		tr := New(expect, db, logger, Options{Tick: time.Second, Refresh: time.Hour, Grace: 30 * time.Second,
			ConfigChanged: func() <-chan struct{} {
				mu.Lock()
				defer mu.Unlock()
				return changed
			}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { tr.Run(ctx); close(done) }()
		time.Sleep(10 * time.Second)
		mu.Lock()
		expected[k] = 2 * time.Second
		close(changed)
		changed = make(chan struct{})
		mu.Unlock()
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if got := tr.Stale(); len(got) != 0 {
			t.Fatalf("stale %v before period plus grace", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := tr.Stale(); len(got) != 1 || got[0] != k {
			t.Fatalf("stale %v 33 s after the check appeared, want %v (Refresh is an hour)", got, k)
		}
		cancel()
		<-done
	})
}

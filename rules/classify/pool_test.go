package classify

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// TestIdleStateFootprint guards what an idle pooled state costs: a server
// keeps a few per classifier, for thousands of classifiers.
func TestIdleStateFootprint(t *testing.T) {
	c := mustCompile(t, "x", realistic)
	const n = 50
	keep := make([]*sandbox, 0, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		keep = append(keep, newSandbox(c.proto))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("an idle state holds %d KiB", per>>10)
	if per > 256<<10 {
		t.Errorf("an idle state holds %d KiB, want at most 256", per>>10)
	}
	runtime.KeepAlive(keep)
	for _, s := range keep {
		s.close()
	}
}

// TestPoolBound: the pool keeps at most MaxIdle states and closes the rest.
func TestPoolBound(t *testing.T) {
	c, err := CompileOptions("x", realistic, Options{MaxIdle: 2, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	states := []*sandbox{c.pool.get(), c.pool.get(), c.pool.get()}
	for _, s := range states {
		c.pool.put(s)
	}
	if len(c.pool.idle) != 2 {
		t.Fatalf("%d idle states, want 2", len(c.pool.idle))
	}
	if !states[2].L.IsClosed() || !states[2].watch.closed.Load() {
		t.Error("the third state was not closed")
	}
	if got := c.pool.get(); got != states[0] && got != states[1] {
		t.Error("get did not reuse an idle state")
	}
}

// TestDroppedClassifierClosesStates: the idle states of a Classifier that is
// no longer referenced are closed, and the watchdog forgets them.
func TestDroppedClassifierClosesStates(t *testing.T) {
	c := mustCompile(t, "dropped", realistic)
	if _, err := c.Classify(context.Background(), benchHistory()); err != nil {
		t.Fatal(err)
	}
	s := <-c.pool.idle
	c.pool.idle <- s
	c = nil
	deadline := time.Now().Add(10 * time.Second)
	for !s.watch.closed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the idle state of a dropped classifier is still open")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if !s.L.IsClosed() {
		t.Error("watch entry closed but not the Lua state")
	}
}

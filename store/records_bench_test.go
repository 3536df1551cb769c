package store

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkAppendEvents writes batches of 100 state-change events, as the
// rules engine's recorder does under a storm of changes.
func BenchmarkAppendEvents(b *testing.B) {
	st := newTestStore(b)
	ctx := context.Background()
	evs := make([]Event, 100)
	n := 0
	for b.Loop() {
		for i := range evs {
			n++
			evs[i] = Event{Time: 1_700_000_000_000 + int64(n), Kind: "state",
				Subject: Subject{Kind: "check", Host: fmt.Sprintf("host%04d", n%2000), Plugin: "cpu", Check: "load"},
				From:    0, To: 3, Reason: "classified critical, value 95"}
		}
		if err := st.AppendEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// BenchmarkSaveStates upserts batches of 100 current states over 2000 keys.
func BenchmarkSaveStates(b *testing.B) {
	st := newTestStore(b)
	ctx := context.Background()
	sts := make([]CurrentState, 100)
	n := 0
	for b.Loop() {
		for i := range sts {
			n++
			h := fmt.Sprintf("host%04d", n%2000)
			subj := Subject{Kind: "check", Host: h, Plugin: "cpu", Check: "load"}
			sts[i] = CurrentState{Key: "check\x00" + h + "\x00cpu\x00load", Subject: subj, State: n % 4, Since: int64(n),
				Reason: "classified critical, value 95", UpdatedAt: int64(n)}
		}
		if err := st.SaveStates(ctx, sts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sts)), "ns/state")
}

package classify

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentClassifiers runs many goroutines, each classifying with one
// of several classifiers (some of which set globals or fail), and checks
// every answer. Run with -race.
func TestConcurrentClassifiers(t *testing.T) {
	type pair struct {
		c    *Classifier
		h    History
		want State
	}
	var cases []pair
	for i := range 8 {
		// Each classifier sets a global named after itself, and returns
		// critical if it sees any such global: its own from an earlier
		// call, or another classifier's.
		var src strings.Builder
		for j := range 8 {
			fmt.Fprintf(&src, "if mine_%d ~= nil then return \"critical\" end\n", j)
		}
		fmt.Fprintf(&src, "mine_%d = true\nif values[1] > %d then return \"major\" end\nreturn \"ok\"\n", i, i)
		// The time limit is wall-clock, and 16 goroutines on two cores under
		// -race can wait a long time for the CPU; this test is about isolation.
		c, err := CompileOptions(fmt.Sprintf("c%d", i), src.String(), Options{Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases,
			pair{c, History{Values: []float64{float64(i + 1)}}, Major},
			pair{c, History{Values: []float64{float64(i)}}, OK})
	}
	failing := mustCompile(t, "failing", `error("always")`)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for k := range 300 {
				p := cases[(g+k)%len(cases)]
				if st, err := p.c.Classify(context.Background(), p.h); st != p.want || err != nil {
					errs <- fmt.Errorf("%s: got %v, %v, want %v", p.c.Name(), st, err, p.want)
					return
				}
				if k%50 == 0 {
					if st, err := failing.Classify(context.Background(), History{}); st != Unknown || err == nil {
						errs <- fmt.Errorf("failing: got %v, %v", st, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

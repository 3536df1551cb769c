package classify

import (
	"context"
	"math"
	"os"
	"regexp"
	"testing"
)

// TestDocExamples runs every Lua example of docs/classifiers.md, so the
// user's guide cannot drift from the engine.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/classifiers.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```lua\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d Lua examples, want at least 4", len(blocks))
	}
	nan := math.NaN()
	examples := map[int][]struct {
		h    History
		want State
	}{
		0: {{History{Values: []float64{9, 9, 9, 9, 9}}, Critical}, {History{Values: []float64{5, 2}}, Minor}, {History{Values: []float64{1}}, OK}},
		1: {{History{Messages: []string{"optimal"}}, OK}, {History{Messages: []string{"degraded", "optimal"}}, Critical}, {History{Messages: []string{"degraded", "degraded"}}, Major}},
		2: {{History{Values: []float64{96, 90}, Timestamps: []int64{60_000, 0}}, Critical}, {History{Values: []float64{80, 70}, Timestamps: []int64{3_600_000, 0}}, Major}, {History{Values: []float64{86, 86}, Timestamps: []int64{3_600_000, 0}}, Minor}},
		3: {{History{Values: []float64{nan, nan, nan, 1}}, Unknown}, {History{Values: []float64{nan, 1, 1}}, Minor}, {History{Values: []float64{0, 0}}, OK}},
	}
	for i, b := range blocks {
		c := mustCompile(t, "example", b[1])
		for _, tc := range examples[i] {
			if st, err := c.Classify(context.Background(), tc.h); st != tc.want || err != nil {
				t.Errorf("example %d on %+v: %v, %v; want %v", i, tc.h, st, err, tc.want)
			}
		}
	}
}

package classify

import (
	"context"
	"testing"
	"time"
)

// FuzzClassify compiles and runs arbitrary source with a short time limit:
// whatever it is, Compile and Classify must return (no panic, no crash), and
// Classify's state must be Unknown whenever it returns an error.
func FuzzClassify(f *testing.F) {
	for _, seed := range []string{
		realistic,
		`return "ok"`,
		`while true do end`,
		`local s = "x"; while true do s = s .. s end`,
		`local function f() return f() + 1 end return f()`,
		`return ("").__index`,
		`return string.rep("x", 1e9)`,
		`local t = {} ; for i=1,1e9 do t[i] = i end`,
		`return matches(messages[1] or "", "(a+)+$")`,
		`x = ... return tostring(#values)`,
		`goto l ::l:: return "minor"`,
	} {
		f.Add(seed)
	}
	h := History{Values: []float64{1, 2}, Messages: []string{"a", "b"}, Timestamps: []int64{2, 1}, States: []State{OK, Minor}}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := CompileOptions("fuzz", src, Options{Timeout: 10 * time.Millisecond, MemoryLimit: 16 << 20})
		if err != nil {
			return
		}
		st, err := c.Classify(context.Background(), h)
		if err != nil && st != Unknown {
			t.Fatalf("state %v with error %v", st, err)
		}
	})
}

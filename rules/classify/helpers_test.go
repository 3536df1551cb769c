package classify

import (
	"context"
	"math"
	"strings"
	"testing"
)

// TestHelpers checks each helper: expr is a Lua expression over the history
// below, want the tostring of its value.
func TestHelpers(t *testing.T) {
	nan := math.NaN()
	h := History{
		Values:     []float64{10, nan, 6, 4, 2},
		Messages:   []string{"RAID degraded", "RAID optimal", "RAID optimal", "RAID optimal", "RAID rebuilding"},
		Timestamps: []int64{50_000, 40_000, 30_000, 20_000, 10_000},
		States:     []State{Critical, OK, OK, Minor, OK},
	}
	f := func(expr, want string) {
		t.Helper()
		c := mustCompile(t, "helper", "local got = tostring("+expr+")\nif got == "+luaQuote(want)+" then return 'ok' end\nerror('got ' .. got)")
		if st, err := c.Classify(context.Background(), h); st != OK {
			t.Errorf("%s: want %s: %v", expr, want, err)
		}
	}
	// Aggregates skip missing values.
	f(`arrayMax(values)`, "10")
	f(`arrayMax({})`, "nil")
	f(`arrayMax({0/0})`, "nil")
	f(`arrayMin(values)`, "2")
	f(`arrayMin({-1, 5})`, "-1")
	f(`arraySum(values)`, "22")
	f(`arraySum({})`, "0")
	f(`arrayAvg(values)`, "5.5")
	f(`arrayAvg({})`, "nil")
	f(`stddev({2, 4, 4, 4, 5, 5, 7, 9})`, "2")
	f(`stddev({3})`, "0")
	f(`stddev({})`, "nil")
	// Membership and counting.
	f(`arrayContains(messages, "RAID rebuilding")`, "true")
	f(`arrayContains(messages, "RAID failed")`, "false")
	f(`arrayContains(values, 6)`, "true")
	f(`arrayContains(states, "critical")`, "true")
	f(`arrayCount(values, function(v) return v > 3 end)`, "3")
	f(`arrayCount(messages, function(m) return m == "RAID optimal" end)`, "3")
	f(`arrayCount({}, function() return true end)`, "0")
	f(`consecutive(values, function(v) return v > 3 end)`, "1")
	f(`consecutive(values, function(v) return isMissing(v) or v > 3 end)`, "4")
	f(`consecutive(states, function(s) return s ~= "ok" end)`, "1")
	f(`consecutive(values, function(v) return v > 100 end)`, "0")
	f(`consecutive({}, function(v) return true end)`, "0")
	// Thresholds over the newest n (missing is neither above nor below).
	f(`allAbove(values, 1)`, "false")
	f(`allAbove({5, 6, 7}, 4)`, "true")
	f(`allAbove({5, 6, 1}, 4, 2)`, "true")
	f(`allAbove({5, 6}, 4, 3)`, "false")
	f(`allAbove({}, 4)`, "false")
	f(`anyAbove(values, 9)`, "true")
	f(`anyAbove(values, 10)`, "false")
	f(`anyAbove({1, 2, 30}, 9, 2)`, "false")
	f(`anyAbove({1, 2, 30}, 9, 10)`, "true")
	f(`allBelow({1, 2}, 3)`, "true")
	f(`allBelow(values, 11)`, "false")
	f(`anyBelow(values, 3)`, "true")
	f(`anyBelow(values, 3, 2)`, "false")
	// Change over time.
	f(`delta(values)`, "8")
	f(`delta({0/0, 5, 3, 0/0})`, "2")
	f(`delta({5})`, "nil")
	f(`delta({})`, "nil")
	f(`rate(values, timestamps)`, "0.2")
	f(`rate({4, 2}, {2000, 1000})`, "2")
	f(`rate({4, 2}, {1000, 1000})`, "nil")
	f(`rate({4}, {1000})`, "nil")
	f(`changed(messages)`, "true")
	f(`changed({"a", "a"})`, "false")
	f(`changed({"a"})`, "false")
	f(`changed({0/0, 0/0})`, "false")
	f(`changes(messages)`, "2")
	f(`changes(states)`, "3")
	f(`changes({})`, "0")
	// Missing values.
	f(`isMissing(values[2])`, "true")
	f(`isMissing(values[1])`, "false")
	f(`isMissing(nil)`, "true")
	f(`isMissing(values[99])`, "true")
	// Regular expressions (RE2).
	f(`matches(messages[1], "degraded|failed")`, "true")
	f(`matches(messages[2], "^RAID (degraded|failed)$")`, "false")
	f(`matches("disk sda: 97% used", "(9[0-9]|100)% used")`, "true")
	f(`matches("x", "(?i)X")`, "true")
	f(`capture("disk sda: 97% used", "(\\w+): (\\d+)%")`, "sda")
	f(`select(2, capture("disk sda: 97% used", "(\\w+): (\\d+)%"))`, "97")
	f(`capture("load 8.25", "[0-9.]+")`, "8.25")
	f(`capture("load", "[0-9.]+")`, "nil")
	f(`select(2, capture("a", "(a)(b)?"))`, "nil")
	// The libraries that stay available, Lua patterns on short strings too.
	f(`("disk sda: 97% used"):match("(%d+)%%")`, "97")
	f(`string.find(("a"):rep(120), ".-.-b")`, "nil")
	f(`string.find(("a"):rep(1500), "^a-b")`, "nil")
	f(`string.find(("a"):rep(100000), ".-.-b", 1, true)`, "nil")
	f(`select(2, ("a.b.c"):gsub("%.", "/"))`, "2")
	f(`string.format("%.1f%%", 97.25)`, "97.2%")
	f(`("a,b"):gsub(",", ";")`, "a;b")
	f(`("abc"):upper()`, "ABC")
	f(`string.rep("ab", 3)`, "ababab")
	f(`table.concat({1, 2, 3}, "-")`, "1-2-3")
	f(`math.floor(math.max(1.5, 2.5))`, "2")
	f(`select("#", unpack({1, 2, 3}))`, "3")
	f(`(print("ignored"))`, "nil")
}

func luaQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

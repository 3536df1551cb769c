package classify

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// Lua patterns (string.find, match, gmatch, gsub) are matched by gopher-lua
// with backtracking, inside one Go call that neither the time limit nor the
// watchdog can interrupt: string.find(("a"):rep(1000), ".-.-b") runs for
// seconds, longer subjects or more repetitions for hours. So a pattern is
// refused when its worst case on the subject is too slow: with q repetition
// operators (*, +, -, ?) and a subject of n bytes, backtracking can take about
// n^(q+1) steps (n^q when anchored with ^), and patternBudget steps take
// about 30 ms (measured: 10^9 steps took 7.8 s). Plain
// finds (string.find(s, p, init, true)) and patterns without repetition are
// never refused; for the rest, classifiers have matches and capture (RE2,
// linear time).
const patternBudget = 4e6

// repetitions counts the repetition operators of a Lua pattern, outside
// escapes and sets.
func repetitions(p string) int {
	q := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			i++
		case '[':
			for i++; i < len(p) && p[i] != ']'; i++ {
				if p[i] == '%' {
					i++
				}
			}
		case '*', '+', '-', '?':
			if i > 0 {
				q++
			}
		}
	}
	return q
}

// guardPattern wraps the string library function orig (find, match, gmatch,
// gsub: subject first, pattern second) with the patternBudget check.
func guardPattern(name string, orig lua.LValue) lua.LGFunction {
	f := orig.(*lua.LFunction)
	return func(L *lua.LState) int {
		checkPattern(L, name)
		return callOriginal(L, f)
	}
}

func checkPattern(L *lua.LState, name string) {
	s := L.CheckString(1)
	p := L.CheckString(2)
	if name == "find" && lua.LVAsBool(L.Get(4)) {
		return // plain find: no pattern
	}
	q := repetitions(p)
	exp := q + 1
	if len(p) > 0 && p[0] == '^' {
		exp = q
	}
	if q > 0 && math.Pow(float64(len(s)), float64(exp)) > patternBudget {
		L.RaiseError("string.%s: a pattern with %d repetitions may take too long on a %d-byte string; use matches or capture (regular expressions)", name, q, len(s))
	}
}

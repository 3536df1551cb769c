package classify

import (
	"math"
	"regexp"

	lua "github.com/yuin/gopher-lua"
)

// The helper library, implemented in Go (a Go loop over a Lua array is several
// times faster than the same loop in Lua). Arrays are newest first, as the
// history is. Missing values (NaN) are skipped by the numeric aggregates;
// docs/classifiers.md documents each helper for users.
func registerHelpers(s *sandbox, base *lua.LTable) {
	L := s.L
	for name, fn := range map[string]lua.LGFunction{
		"arrayMax":      arrayMax,
		"arrayMin":      arrayMin,
		"arraySum":      arraySum,
		"arrayAvg":      arrayAvg,
		"arrayContains": arrayContains,
		"arrayCount":    arrayCount,
		"allAbove":      allAbove,
		"anyAbove":      anyAbove,
		"allBelow":      allBelow,
		"anyBelow":      anyBelow,
		"consecutive":   consecutive,
		"delta":         delta,
		"rate":          rate,
		"stddev":        stddev,
		"changed":       changed,
		"changes":       changes,
		"isMissing":     isMissing,
		"matches":       s.matches,
		"capture":       s.capture,
	} {
		base.RawSetString(name, L.NewFunction(fn))
	}
}

// numbers calls f for each non-missing number among the first n entries of
// t (all when n < 0) and returns how many there were.
func numbers(t *lua.LTable, n int, f func(float64)) int {
	count := 0
	l := t.Len()
	if n >= 0 && n < l {
		l = n
	}
	for i := 1; i <= l; i++ {
		if v, ok := t.RawGetInt(i).(lua.LNumber); ok && !math.IsNaN(float64(v)) {
			f(float64(v))
			count++
		}
	}
	return count
}

// arrayMax(arr) -> the largest number, or nil when there is none.
func arrayMax(L *lua.LState) int {
	best := math.Inf(-1)
	if numbers(L.CheckTable(1), -1, func(v float64) { best = math.Max(best, v) }) == 0 {
		L.Push(lua.LNil)
	} else {
		L.Push(lua.LNumber(best))
	}
	return 1
}

// arrayMin(arr) -> the smallest number, or nil when there is none.
func arrayMin(L *lua.LState) int {
	best := math.Inf(1)
	if numbers(L.CheckTable(1), -1, func(v float64) { best = math.Min(best, v) }) == 0 {
		L.Push(lua.LNil)
	} else {
		L.Push(lua.LNumber(best))
	}
	return 1
}

// arraySum(arr) -> the sum of the numbers (0 when there is none).
func arraySum(L *lua.LState) int {
	sum := 0.0
	numbers(L.CheckTable(1), -1, func(v float64) { sum += v })
	L.Push(lua.LNumber(sum))
	return 1
}

// arrayAvg(arr) -> the mean of the numbers, or nil when there is none.
func arrayAvg(L *lua.LState) int {
	sum := 0.0
	if n := numbers(L.CheckTable(1), -1, func(v float64) { sum += v }); n == 0 {
		L.Push(lua.LNil)
	} else {
		L.Push(lua.LNumber(sum / float64(n)))
	}
	return 1
}

// stddev(arr) -> the population standard deviation of the numbers, or nil
// when there is none.
func stddev(L *lua.LState) int {
	t := L.CheckTable(1)
	sum := 0.0
	n := numbers(t, -1, func(v float64) { sum += v })
	if n == 0 {
		L.Push(lua.LNil)
		return 1
	}
	mean, sq := sum/float64(n), 0.0
	numbers(t, -1, func(v float64) { sq += (v - mean) * (v - mean) })
	L.Push(lua.LNumber(math.Sqrt(sq / float64(n))))
	return 1
}

// arrayContains(arr, v) -> whether some entry equals v.
func arrayContains(L *lua.LState) int {
	t := L.CheckTable(1)
	want := L.Get(2)
	for i, n := 1, t.Len(); i <= n; i++ {
		if t.RawGetInt(i) == want {
			L.Push(lua.LTrue)
			return 1
		}
	}
	L.Push(lua.LFalse)
	return 1
}

// arrayCount(arr, fn) -> how many entries fn(entry) is true for.
func arrayCount(L *lua.LState) int {
	t := L.CheckTable(1)
	fn := L.CheckFunction(2)
	count := 0
	for i, n := 1, t.Len(); i <= n; i++ {
		if callPredicate(L, fn, t.RawGetInt(i)) {
			count++
		}
	}
	L.Push(lua.LNumber(count))
	return 1
}

// consecutive(arr, fn) -> how many of the newest entries in a row fn is true
// for: 3 when fn holds for arr[1], arr[2], arr[3] but not arr[4].
func consecutive(L *lua.LState) int {
	t := L.CheckTable(1)
	fn := L.CheckFunction(2)
	count := 0
	for i, n := 1, t.Len(); i <= n && callPredicate(L, fn, t.RawGetInt(i)); i++ {
		count++
	}
	L.Push(lua.LNumber(count))
	return 1
}

func callPredicate(L *lua.LState, fn *lua.LFunction, v lua.LValue) bool {
	L.Push(fn)
	L.Push(v)
	L.Call(1, 1)
	ok := lua.LVAsBool(L.Get(-1))
	L.Pop(1)
	return ok
}

// compareN implements allAbove/anyAbove/allBelow/anyBelow(arr, x, n?): over
// the newest n entries (all when n is absent), whether all/any are strictly
// above/below x. A missing value satisfies neither; with fewer than n
// entries, "all" is false.
func compareN(all, above bool) lua.LGFunction {
	return func(L *lua.LState) int {
		t := L.CheckTable(1)
		x := float64(L.CheckNumber(2))
		n := L.OptInt(3, t.Len())
		if n > t.Len() {
			if all {
				L.Push(lua.LFalse)
				return 1
			}
			n = t.Len()
		}
		result := all && n > 0
		for i := 1; i <= n; i++ {
			v, ok := t.RawGetInt(i).(lua.LNumber)
			hit := ok && ((above && float64(v) > x) || (!above && float64(v) < x))
			if all && !hit {
				result = false
				break
			}
			if !all && hit {
				result = true
				break
			}
		}
		L.Push(lua.LBool(result))
		return 1
	}
}

var (
	allAbove = compareN(true, true)
	anyAbove = compareN(false, true)
	allBelow = compareN(true, false)
	anyBelow = compareN(false, false)
)

// ends returns the indexes of the newest and the oldest non-missing numbers.
func ends(t *lua.LTable) (newest, oldest int) {
	n := t.Len()
	isNum := func(i int) bool {
		v, ok := t.RawGetInt(i).(lua.LNumber)
		return ok && !math.IsNaN(float64(v))
	}
	for newest = 1; newest <= n && !isNum(newest); newest++ {
	}
	for oldest = n; oldest >= 1 && !isNum(oldest); oldest-- {
	}
	return newest, oldest
}

// delta(arr) -> newest - oldest number, or nil with fewer than two numbers.
func delta(L *lua.LState) int {
	t := L.CheckTable(1)
	newest, oldest := ends(t)
	if newest >= oldest {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(t.RawGetInt(newest).(lua.LNumber) - t.RawGetInt(oldest).(lua.LNumber))
	return 1
}

// rate(values, timestamps) -> change per second between the oldest and the
// newest value (timestamps in milliseconds), or nil when it cannot be told.
func rate(L *lua.LState) int {
	values, times := L.CheckTable(1), L.CheckTable(2)
	newest, oldest := ends(values)
	tn, ok1 := times.RawGetInt(newest).(lua.LNumber)
	to, ok2 := times.RawGetInt(oldest).(lua.LNumber)
	if newest >= oldest || !ok1 || !ok2 || tn == to {
		L.Push(lua.LNil)
		return 1
	}
	dv := values.RawGetInt(newest).(lua.LNumber) - values.RawGetInt(oldest).(lua.LNumber)
	L.Push(dv / ((tn - to) / 1000))
	return 1
}

// changed(arr) -> whether the newest entry differs from the one before it
// ("the RAID message changed"). False with fewer than two entries.
func changed(L *lua.LState) int {
	t := L.CheckTable(1)
	L.Push(lua.LBool(t.Len() >= 2 && !same(t.RawGetInt(1), t.RawGetInt(2))))
	return 1
}

// changes(arr) -> how many times consecutive entries differ (flapping).
func changes(L *lua.LState) int {
	t := L.CheckTable(1)
	count := 0
	for i, n := 2, t.Len(); i <= n; i++ {
		if !same(t.RawGetInt(i-1), t.RawGetInt(i)) {
			count++
		}
	}
	L.Push(lua.LNumber(count))
	return 1
}

// same is equality in which two missing values (NaN) are the same.
func same(a, b lua.LValue) bool {
	if x, ok := a.(lua.LNumber); ok {
		if y, ok := b.(lua.LNumber); ok && math.IsNaN(float64(x)) && math.IsNaN(float64(y)) {
			return true
		}
	}
	return a == b
}

// isMissing(v) -> whether v is a missing value (NaN or nil).
func isMissing(L *lua.LState) int {
	v := L.Get(1)
	n, ok := v.(lua.LNumber)
	L.Push(lua.LBool(v == lua.LNil || (ok && math.IsNaN(float64(n)))))
	return 1
}

// maxRegexps bounds the per-state cache of compiled patterns.
const maxRegexps = 64

// regexp returns the compiled pattern from the per-state cache.
func (s *sandbox) regexp(L *lua.LState, name, pattern string) *regexp.Regexp {
	re, ok := s.regexps[pattern]
	if !ok {
		if len(pattern) > 1024 {
			L.RaiseError("%s: pattern longer than 1024 bytes", name)
		}
		var err error
		if re, err = regexp.Compile(pattern); err != nil {
			L.RaiseError("%s: %s", name, err.Error())
		}
		if len(s.regexps) >= maxRegexps {
			clear(s.regexps)
		}
		s.regexps[pattern] = re
	}
	return re
}

// capture(str, pattern) -> the submatches of the Go regular expression's
// first match in str (the whole match when it has no groups; an unmatched
// group is nil), or nil when it does not match.
func (s *sandbox) capture(L *lua.LState) int {
	str := L.CheckString(1)
	re := s.regexp(L, "capture", L.CheckString(2))
	m := re.FindStringSubmatchIndex(str)
	if m == nil {
		L.Push(lua.LNil)
		return 1
	}
	if len(m) == 2 {
		L.Push(lua.LString(str[m[0]:m[1]]))
		return 1
	}
	for i := 2; i < len(m); i += 2 {
		if m[i] < 0 {
			L.Push(lua.LNil)
		} else {
			L.Push(lua.LString(str[m[i]:m[i+1]]))
		}
	}
	return len(m)/2 - 1
}

// matches(str, pattern) -> whether the Go regular expression (RE2 syntax)
// matches anywhere in str. RE2 runs in linear time, so no pattern can hang
// the server (no ReDoS), which Lua patterns with user text cannot promise.
func (s *sandbox) matches(L *lua.LState) int {
	str := L.CheckString(1)
	re := s.regexp(L, "matches", L.CheckString(2))
	L.Push(lua.LBool(re.MatchString(str)))
	return 1
}

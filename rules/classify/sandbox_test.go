package classify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestEscapeCatalogue is the sandbox escape catalogue: each entry is an
// attempt to get out of the sandbox, exhaust the server or reach another
// classifier. Each must end in Unknown with a sensible error, and the process
// must keep classifying normally afterwards.
func TestEscapeCatalogue(t *testing.T) {
	h := History{Values: []float64{1, 2, 3}, Messages: []string{"a", "b", "c"}}
	normal := mustCompile(t, "normal", realistic)
	// Another classifier leaves a global behind; no entry may see it.
	writer := mustCompile(t, "writer", `shared_secret = "x"; return "ok"`)
	if st, err := writer.Classify(context.Background(), h); st != OK {
		t.Fatal(st, err)
	}
	for _, tc := range []struct {
		name, src string
		want      error  // sentinel the error must wrap
		msg       string // text the error must contain
	}{
		// Time.
		{"infinite loop", `while true do end`, ErrTimeout, "line 1: time limit exceeded"},
		{"loop swallowing errors with pcall", `while true do pcall(function() while true do end end) end`, ErrTimeout, "time limit exceeded"},
		{"repeat forever", "local i = 0\nrepeat i = i + 1 until false", ErrTimeout, "time limit"},
		{"slow string search", `local s = ("a"):rep(100000) for i = 1, 1e9 do s:find("b") end`, ErrTimeout, "time limit"},
		{"backtracking Lua pattern", `return string.find(("a"):rep(1000), ".-.-b")`, ErrRuntime, "string.find: a pattern with 2 repetitions may take too long on a 1000-byte string"},
		{"backtracking match", `return ("a"):rep(5000):match("a*b")`, ErrRuntime, "string.match: a pattern"},
		{"backtracking gmatch", `for x in ("a"):rep(5000):gmatch("a*b") do end`, ErrRuntime, "string.gmatch: a pattern"},
		{"backtracking gsub", `return ("a"):rep(5000):gsub("a*b", "")`, ErrRuntime, "string.gsub: a pattern"},
		// Stack.
		{"deep recursion", `local function f() return f() + 1 end return f()`, ErrRuntime, "stack overflow"},
		{"mutual recursion", "local g\nlocal function f() return g() + 1 end\ng = function() return f() + 1 end\nreturn f()", ErrRuntime, "stack overflow"},
		{"recursion through pcall", `local function f() local ok, err = pcall(f) error(err, 0) end f()`, ErrRuntime, "stack overflow"},
		{"unpack a huge table", `local t = {} for i = 1, 200000 do t[i] = i end return unpack(t)`, ErrRuntime, "overflow"},
		{"unpack a huge range", `return unpack({}, 1, 2^40)`, ErrRuntime, "registry overflow"},
		{"string.byte of a long string", `return string.byte(("x"):rep(1000000), 1, -1)`, ErrRuntime, "overflow"},
		// Memory.
		{"table growth bomb", tableBomb, nil, ""},
		{"string doubling bomb", `local s = "x"; while true do s = s .. s end`, ErrRuntime, "string longer than 1048576 bytes"},
		{"wide concatenation", `local s = ("x"):rep(500000) return s..s..s..s..s..s..s..s`, ErrRuntime, "string longer than"},
		{"string.rep bomb", `return string.rep("x", 1e9)`, ErrRuntime, "string.rep: result longer than"},
		{"string.rep through a method", `return ("xy"):rep(2^30)`, ErrRuntime, "string.rep"},
		{"string.format width", `return string.format("%099999999d", 1)`, ErrRuntime, "width or precision too long"},
		{"string.format many strings", `local s = ("x"):rep(600000) return string.format("%s%s", s, s)`, ErrRuntime, "string.format"},
		{"string.gsub amplification", `local s = ("x"):rep(2000) return s:gsub(".", s)`, ErrRuntime, "string.gsub"},
		{"string.gsub with a function", `local s = ("x"):rep(2000) return s:gsub(".", function() return s end)`, ErrRuntime, "string.gsub"},
		{"table.concat bomb", `local s = ("x"):rep(100000) local t = {} for i = 1, 100 do t[i] = s end return table.concat(t)`, ErrRuntime, "table.concat"},
		{"many distinct strings", stringsBomb, nil, ""},
		// Libraries that must not exist.
		{"os", `return os.execute("id")`, ErrRuntime, "attempt to index a non-table object(nil)"},
		{"io", `return io.open("/etc/passwd")`, ErrRuntime, "nil"},
		{"debug", `return debug.getregistry()`, ErrRuntime, "nil"},
		{"package", `return package.loaded`, ErrRuntime, "nil"},
		{"require", `return require("os")`, ErrRuntime, "attempt to call a non-function object"},
		{"load", `return load("return 1")()`, ErrRuntime, "attempt to call a non-function object"},
		{"loadstring", `return loadstring("return 1")()`, ErrRuntime, "attempt to call a non-function object"},
		{"dofile", `return dofile("/etc/passwd")`, ErrRuntime, "attempt to call a non-function object"},
		{"loadfile", `return loadfile("/etc/passwd")`, ErrRuntime, "attempt to call a non-function object"},
		{"load via _G", `return _G["lo".."ad"]("return 1")()`, ErrRuntime, "nil"},
		{"getfenv", `return getfenv(1)`, ErrRuntime, "attempt to call a non-function object"},
		{"setfenv", `setfenv(1, {})`, ErrRuntime, "attempt to call a non-function object"},
		{"collectgarbage", `collectgarbage()`, ErrRuntime, "attempt to call a non-function object"},
		{"rawget", `return rawget(string, "rep")`, ErrRuntime, "attempt to call a non-function object"},
		{"rawset", `rawset(string, "rep", nil)`, ErrRuntime, "attempt to call a non-function object"},
		{"rawequal", `return rawequal(1, 1)`, ErrRuntime, "attempt to call a non-function object"},
		{"newproxy", `return newproxy(true)`, ErrRuntime, "attempt to call a non-function object"},
		{"module", `module("x")`, ErrRuntime, "attempt to call a non-function object"},
		{"coroutine", `return coroutine.create(function() end)`, ErrRuntime, "nil"},
		{"string.dump", `return string.dump(function() end)`, ErrRuntime, "attempt to call a non-function object"},
		{"string.dump via a method", `return (""):dump()`, ErrRuntime, "attempt to call a non-function object"},
		{"another classifier's global", `return shared_secret .. "!"`, ErrRuntime, "attempt to concatenate a nil value"},
		{"the global table", `return _G.shared_secret`, ErrRuntime, "attempt to index a non-table object(nil)"},
		// Metatables.
		{"getmetatable of a string", `return getmetatable("").__index`, ErrRuntime, "attempt to call a non-function object"},
		{"setmetatable", `setmetatable({}, {__gc = print})`, ErrRuntime, "attempt to call a non-function object"},
		{"string metatable __index", `local lib = ("").__index; lib.upper = nil return "ok"`, ErrRuntime, "nil"},
		{"modify the string library", `string.upper = function() return "pwned" end`, ErrRuntime, "string is read-only"},
		{"modify the math library", `math.floor = nil`, ErrRuntime, "math is read-only"},
		{"modify the table library", `table.insert = print`, ErrRuntime, "table is read-only"},
		{"arg table", `return arg[0]`, ErrRuntime, "nil"},
		// Bad inputs to helpers.
		{"matches with a bad regexp", `return matches("x", "(")`, ErrRuntime, "missing closing )"},
		{"helper with a bad argument", `return arrayMax("x")`, ErrRuntime, "table expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Time limits are wall-clock: slow (-race, a loaded machine)
			// must not turn a stack overflow into a timeout.
			timeout := 5 * time.Second
			if tc.want == ErrTimeout {
				timeout = 100 * time.Millisecond
			}
			c, err := CompileOptions("evil", tc.src, Options{Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			st, err := c.Classify(context.Background(), h)
			if st != Unknown || err == nil {
				t.Fatalf("got %v, %v; want Unknown with an error", st, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v does not wrap %v", err, tc.want)
			}
			if tc.want == nil && !errors.Is(err, ErrMemory) && !errors.Is(err, ErrTimeout) {
				t.Errorf("error %v: want the memory watchdog or the time limit", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			if tc.name == "unpack a huge range" && time.Since(start) > time.Second/2 {
				t.Errorf("unpack took %v: the data stack grows in too many steps", time.Since(start))
			}
			t.Logf("%v", err)
			// The process keeps working.
			if st, err := normal.Classify(context.Background(), History{Values: []float64{9, 9, 9, 9, 9}}); st != Critical || err != nil {
				t.Fatalf("normal classifier after %s: %v, %v", tc.name, st, err)
			}
		})
	}
}

// TestStringMetatableIsShared checks that what one classifier does with the
// string methods cannot change them for another.
func TestStringMetatableIsolation(t *testing.T) {
	evil := mustCompile(t, "evil", `
pcall(function() local mt = ("").__index; mt.upper = function() return "pwned" end end)
pcall(function() string.upper = function() return "pwned" end end)
return "ok"`)
	check := mustCompile(t, "check", `if ("a"):upper() == "A" and string.upper("a") == "A" then return "ok" end return "critical"`)
	for i := 0; i < 3; i++ {
		if _, err := evil.Classify(context.Background(), History{}); err != nil {
			t.Fatal(err)
		}
		if st, err := check.Classify(context.Background(), History{}); st != OK {
			t.Fatal(st, err)
		}
	}
}

const (
	tableBomb   = `local t = {} ; for i=1,1e9 do t[i] = i end`
	stringsBomb = `local t = {} for i = 1, 1e9 do t[i] = ("x"):rep(1000) .. i end`
)

// TestMemoryWatchdog gives the memory bombs all the time they want: the
// watchdog, not the time limit, must stop them, with the heap still sane.
func TestMemoryWatchdog(t *testing.T) {
	normal := mustCompile(t, "normal", realistic)
	for _, src := range []string{tableBomb, stringsBomb} {
		c, err := CompileOptions("bomb", src, Options{Timeout: 20 * time.Second, MemoryLimit: 32 << 20})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		st, err := c.Classify(context.Background(), History{})
		if st != Unknown || !errors.Is(err, ErrMemory) {
			t.Fatalf("%s: got %v, %v; want ErrMemory", src, st, err)
		}
		t.Logf("%s: %v after %v", src, err, time.Since(start))
		if st, err := normal.Classify(context.Background(), History{Values: []float64{9, 9, 9, 9, 9}}); st != Critical || err != nil {
			t.Fatalf("normal classifier after the bomb: %v, %v", st, err)
		}
	}
}

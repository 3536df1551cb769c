// Package classify runs classifiers: small Lua programs, stored with a plugin,
// that turn the last n results of one host x plugin into a State.
//
// Only package rules and the server's wiring may import it, and it is the only
// package in the module that imports github.com/yuin/gopher-lua (the e2e
// architecture test enforces that).
//
// # Contract
//
// A classifier's source is the body of a function: it runs top to bottom and
// returns one of the strings "ok", "minor", "major", "critical" or "unknown".
// It sees the history of its host x plugin as globals, newest first:
//
//	values      array of numbers; a result without a value is NaN (see isMissing)
//	messages    array of strings; a result without a message is ""
//	timestamps  array of numbers, milliseconds since the Unix epoch
//	states      array of strings, the states previously returned for those
//	            results; states[1], for the result being classified, is "unknown"
//	exit_codes  array of numbers, each run's exit status (Nagios: 0 OK,
//	            1 WARNING, 2 CRITICAL, 3 UNKNOWN); -1 when unknown
//	n           the number of entries in each array
//
// For example, "critical when load was above 8 for the last 5 runs":
//
//	if consecutive(values, function(v) return v > 8 end) >= 5 then return "critical" end
//	if values[1] > 4 then return "minor" end
//	return "ok"
//
// Any error — a Lua runtime error, a return value that is not one of the five
// states, the time limit, the memory watchdog — yields Unknown and an *Error
// naming the Lua line where there is one. docs/classifiers.md is the user's
// guide, with the helper library.
//
// Missing values are NaN rather than nil, so that #values == n and ipairs
// never stop at a hole; comparisons with NaN are false, and the helpers skip
// it (isMissing tests for it).
//
// # Sandbox
//
// Only the safe parts of the base library, table, string (no dump; every
// string is at most MaxString bytes; Lua patterns refused where their
// backtracking could run long, see patterns.go) and math are reachable; the
// library tables are read-only. Each call runs in an emptied global
// environment, so nothing a call assigns is seen by the next call, and each
// Classifier has its own Lua states, so one classifier never sees another.
// Concatenation is rewritten at compile time into a bounded call
// (rewrite.go). watchdog.go enforces the time limit and the memory bound and
// says what they cannot do.
//
// The time limit is wall-clock: callers should run at most GOMAXPROCS
// classifications at once (a worker per core), or a call waiting for a CPU
// may be stopped for waiting rather than working.
//
// # Cost
//
// Compile once per classifier version; a *Classifier is safe for concurrent
// use and keeps up to Options.MaxIdle idle Lua states (~125 KiB each). A
// classification of ten results by the example above takes a few
// microseconds (BenchmarkClassify).
package classify

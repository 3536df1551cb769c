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
//	states      array of strings, the states previously returned
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
// # Sandbox
//
// Only the safe parts of the base library, table, string (no dump; every
// string is at most MaxString bytes) and math are reachable; the library tables
// are read-only. Each call runs in a fresh global environment, so nothing a
// call assigns is seen by the next call, and each Classifier has its own Lua
// states, so one classifier never sees another. See sandbox.go and watchdog.go
// for the time and memory limits and what they cannot do.
//
// A *Classifier is safe for concurrent use.
package classify

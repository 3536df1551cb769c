package classify

import (
	"regexp"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Lua state sizes. The call stack bounds recursion (a classifier recursing
// deeper than this gets "stack overflow"). The data stack starts small (an
// idle state costs ~125 KiB rather than the 1.1 MiB a fixed 64 Ki-slot stack
// costs: thousands of classifiers keep idle states) and may grow to
// registryMaxSize, past which unpack/select/string.byte on huge inputs fail
// with "registry overflow" instead of allocating.
const (
	callStackSize   = 200
	registrySize    = 2 * 1024
	registryMaxSize = 64 * 1024
	// registryGrowStep: gopher-lua's default (32) makes growing to the
	// maximum take 2,000 reallocations, ~1 GiB of copies in one
	// uninterruptible unpack({}, 1, 1e8) (measured 1 s); 16 steps instead.
	registryGrowStep = 4 * 1024
)

// baseAllowed are the base library functions a classifier may call. Left out:
// load, loadstring, loadfile, dofile, require, module (code loading),
// getfenv, setfenv (environment escape), collectgarbage, rawget, rawset,
// rawequal, rawlen, setmetatable, getmetatable (metatable tricks), newproxy,
// and _G (a classifier's globals are its own per-call table). print is a no-op.
var baseAllowed = []string{
	"assert", "error", "ipairs", "next", "pairs", "pcall", "select",
	"tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION",
}

// sandbox is one Lua state prepared for one classifier: the safe libraries
// and the helpers live in a base table the classifier cannot write, which
// its environment (emptied after each call) inherits through __index.
type sandbox struct {
	L       *lua.LState
	envMeta *lua.LTable // {__index = base}: the metatable of the environment
	// env holds a call's globals: the history and whatever the classifier
	// assigns. It is emptied after every call (reset), so no call sees
	// another's globals; reusing it saves the Go maps a fresh table costs.
	env      *lua.LTable
	fn       *lua.LFunction // the classifier's main chunk, bound to env
	assigned []lua.LValue   // globals the classifier created this call
	// The history tables, refilled in place by each call (see historyTable);
	// lastN is how many entries the last call put in each.
	values, messages, timestamps, states, exits *lua.LTable
	lastN                                       int
	regexps                                     map[string]*regexp.Regexp
	watch                                       *watchEntry
}

func newSandbox(proto *lua.FunctionProto) *sandbox {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:     true,
		CallStackSize:    callStackSize,
		RegistrySize:     registrySize,
		RegistryMaxSize:  registryMaxSize,
		RegistryGrowStep: registryGrowStep,
	})
	s := &sandbox{L: L, regexps: make(map[string]*regexp.Regexp), watch: &watchEntry{}}
	register(s.watch)
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	global := L.Get(lua.GlobalsIndex).(*lua.LTable)

	base := L.NewTable()
	for _, name := range baseAllowed {
		base.RawSetString(name, global.RawGetString(name))
	}
	base.RawSetString("print", L.NewFunction(func(*lua.LState) int { return 0 }))
	base.RawSetString(concatName, L.NewFunction(luaConcat))

	str := copyTable(L, global.RawGetString(lua.StringLibName).(*lua.LTable), "dump", "__index")
	str.RawSetString("rep", L.NewFunction(strRep))
	str.RawSetString("format", L.NewFunction(strFormat(str.RawGetString("format"))))
	str.RawSetString("gsub", L.NewFunction(strGsub(str.RawGetString("gsub"))))
	for _, name := range []string{"find", "match", "gmatch"} {
		str.RawSetString(name, L.NewFunction(guardPattern(name, str.RawGetString(name))))
	}
	str.RawSetString("gfind", str.RawGetString("gmatch"))
	tab := copyTable(L, global.RawGetString(lua.TabLibName).(*lua.LTable))
	tab.RawSetString("concat", L.NewFunction(tabConcat(tab.RawGetString("concat"))))
	// randomseed would reseed the process's math/rand (a no-op since Go 1.24,
	// but nothing a classifier needs).
	math := copyTable(L, global.RawGetString(lua.MathLibName).(*lua.LTable), "randomseed")
	base.RawSetString("string", readOnly(L, str, "string"))
	base.RawSetString("table", readOnly(L, tab, "table"))
	base.RawSetString("math", readOnly(L, math, "math"))
	registerHelpers(s, base)

	// ("").rep and friends use the string metatable. Its __index is the copy
	// above, which nothing else references and which has no "__index" key of
	// its own, so a classifier can call string methods but never reach or
	// change the table behind them.
	strMeta := L.NewTable()
	strMeta.RawSetString("__index", str)
	strMeta.RawSetString("__metatable", lua.LString("locked"))
	L.SetMetatable(lua.LString(""), strMeta)

	// Nothing of the original globals stays reachable: the chunk runs with
	// its own environment, but Go functions may consult the globals table.
	global.ForEach(func(k, _ lua.LValue) { global.RawSet(k, lua.LNil) })

	s.envMeta = L.NewTable()
	s.envMeta.RawSetString("__index", base)
	s.envMeta.RawSetString("__newindex", L.NewFunction(s.newGlobal))
	s.envMeta.RawSetString("__metatable", lua.LString("locked"))
	s.env = L.CreateTable(0, 8)
	s.env.Metatable = s.envMeta
	s.fn = L.NewFunctionFromProto(proto)
	s.fn.Env = s.env
	return s
}

// newGlobal is the environment's __newindex: it stores a global the
// classifier creates and remembers its name for reset.
func (s *sandbox) newGlobal(L *lua.LState) int {
	k, v := L.Get(2), L.Get(3)
	s.env.RawSet(k, v)
	if v != lua.LNil {
		s.assigned = append(s.assigned, k)
	}
	return 0
}

// reset empties the environment after a call: the globals the classifier
// created go (every new global passes through newGlobal: a classifier has
// no rawset, setfenv or _G), and the history globals are overwritten by the
// next call.
func (s *sandbox) reset() {
	for _, k := range s.assigned {
		s.env.RawSet(k, lua.LNil)
	}
	clear(s.assigned)
	s.assigned = s.assigned[:0]
}

func (s *sandbox) close() {
	s.L.Close()
	s.watch.closed.Store(true) // after Close: whoever sees the flag sees a closed state
}

// copyTable returns a shallow copy of t without the keys in drop.
func copyTable(L *lua.LState, t *lua.LTable, drop ...string) *lua.LTable {
	c := L.NewTable()
	t.ForEach(func(k, v lua.LValue) { c.RawSet(k, v) })
	for _, k := range drop {
		c.RawSetString(k, lua.LNil)
	}
	return c
}

// readOnly returns an empty proxy whose reads go to t and whose writes fail,
// so a classifier cannot replace string.format for the calls after it.
func readOnly(L *lua.LState, t *lua.LTable, name string) *lua.LTable {
	meta := L.NewTable()
	meta.RawSetString("__index", t)
	meta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is read-only", name)
		return 0
	}))
	meta.RawSetString("__metatable", lua.LString("locked"))
	proxy := L.NewTable()
	proxy.Metatable = meta
	return proxy
}

// luaConcat implements `a .. b` (see rewrite.go) with the MaxString bound.
func luaConcat(L *lua.LState) int {
	a, b := L.Get(1), L.Get(2)
	if !lua.LVCanConvToString(a) || !lua.LVCanConvToString(b) {
		bad := a
		if lua.LVCanConvToString(a) {
			bad = b
		}
		L.RaiseError("attempt to concatenate a %s value", bad.Type().String())
	}
	as, bs := lua.LVAsString(a), lua.LVAsString(b)
	if len(as)+len(bs) > MaxString {
		L.RaiseError("string longer than %d bytes", MaxString)
	}
	L.Push(lua.LString(as + bs))
	return 1
}

func strRep(L *lua.LState) int {
	str := L.CheckString(1)
	n := L.CheckInt(2)
	if n <= 0 || len(str) == 0 {
		L.Push(lua.LString(""))
		return 1
	}
	if len(str) > MaxString/n {
		L.RaiseError("string.rep: result longer than %d bytes", MaxString)
	}
	L.Push(lua.LString(strings.Repeat(str, n)))
	return 1
}

// strFormat bounds string.format: widths and precisions of at most two
// digits (as C Lua), and the arguments' total size under MaxString.
func strFormat(orig lua.LValue) lua.LGFunction {
	f := orig.(*lua.LFunction)
	return func(L *lua.LState) int {
		format := L.CheckString(1)
		total := len(format)
		for i := 0; i < len(format); i++ {
			if format[i] != '%' {
				continue
			}
			digits := 0
			for i++; i < len(format) && strings.IndexByte("-+ #0123456789.", format[i]) >= 0; i++ {
				if format[i] >= '0' && format[i] <= '9' {
					digits++
					if digits > 2 {
						L.RaiseError("string.format: invalid format (width or precision too long)")
					}
				} else {
					digits = 0
				}
			}
			total += 100
		}
		for i := 2; i <= L.GetTop(); i++ {
			if s, ok := L.Get(i).(lua.LString); ok {
				total += len(s)
			}
		}
		if total > MaxString {
			L.RaiseError("string.format: result longer than %d bytes", MaxString)
		}
		return callOriginal(L, f)
	}
}

// strGsub bounds string.gsub. With a string replacement the result is at
// most len(s) + (len(s)+1) x len(repl) x (1 + captures x len(s)); a function
// or table replacement is wrapped to count the bytes it contributes.
func strGsub(orig lua.LValue) lua.LGFunction {
	f := orig.(*lua.LFunction)
	return func(L *lua.LState) int {
		checkPattern(L, "gsub")
		s := L.CheckString(1)
		switch repl := L.Get(3).(type) {
		case lua.LString, lua.LNumber:
			r := lua.LVAsString(repl)
			per := len(r)
			if strings.Contains(r, "%") {
				per += strings.Count(r, "%") * len(s)
			}
			if len(s)+(len(s)+1)*per > MaxString {
				L.RaiseError("string.gsub: result may be longer than %d bytes", MaxString)
			}
		case *lua.LFunction, *lua.LTable:
			total := len(s)
			L.Replace(3, L.NewFunction(func(L *lua.LState) int {
				var v lua.LValue
				if fn, ok := repl.(*lua.LFunction); ok {
					k := L.GetTop()
					L.Push(fn)
					for i := 1; i <= k; i++ {
						L.Push(L.Get(i))
					}
					L.Call(k, 1)
					v = L.Get(-1)
				} else {
					v = L.GetTable(repl, L.Get(1))
				}
				if str, ok := v.(lua.LString); ok {
					total += len(str)
				}
				if total > MaxString {
					L.RaiseError("string.gsub: result longer than %d bytes", MaxString)
				}
				L.Push(v)
				return 1
			}))
		}
		return callOriginal(L, f)
	}
}

// tabConcat bounds table.concat by summing the pieces first.
func tabConcat(orig lua.LValue) lua.LGFunction {
	f := orig.(*lua.LFunction)
	return func(L *lua.LState) int {
		t := L.CheckTable(1)
		sep := len(L.OptString(2, ""))
		total := 0
		for i, n := 1, t.Len(); i <= n; i++ {
			total += len(lua.LVAsString(t.RawGetInt(i))) + sep
			if total > MaxString {
				L.RaiseError("table.concat: result longer than %d bytes", MaxString)
			}
		}
		return callOriginal(L, f)
	}
}

// callOriginal calls the library function f with this call's arguments and
// returns its results.
func callOriginal(L *lua.LState, f *lua.LFunction) int {
	n := L.GetTop()
	L.Push(f)
	for i := 1; i <= n; i++ {
		L.Push(L.Get(i))
	}
	L.Call(n, lua.MultRet)
	return L.GetTop() - n
}

// historyTable returns *slot ready to be filled with n entries: the same
// table as last call when the classifier left it as it was (n array entries,
// nothing else), a new one otherwise, so what one call writes into `values`
// is never seen by the next.
func (s *sandbox) historyTable(slot **lua.LTable, n int) *lua.LTable {
	if t := *slot; t != nil && n >= s.lastN {
		var after lua.LValue = lua.LNil
		if s.lastN > 0 {
			after = lua.LNumber(s.lastN)
		}
		if k, _ := t.Next(after); k == lua.LNil {
			return t
		}
	}
	*slot = s.L.CreateTable(n, 0)
	return *slot
}

package classify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// History is what a classifier sees: the last n results of one host x plugin,
// newest first. The slices may have different lengths; n is the longest, and
// a shorter slice is padded with missing entries (NaN, "", 0, unknown).
type History struct {
	// Values holds each result's value; NaN when the result had none.
	Values []float64
	// Messages holds each result's message; "" when it had none.
	Messages []string
	// Timestamps holds each result's time in milliseconds since the epoch.
	Timestamps []int64
	// States holds the states previously classified for these results.
	// The engine passes Unknown for the newest, which is being classified.
	States []State
	// ExitStatuses holds each result's plugin exit status (Nagios: 0 OK,
	// 1 WARNING, 2 CRITICAL, 3 UNKNOWN); -1 when the result had none.
	ExitStatuses []int
}

// Errors a Classify call can wrap; a *Error carries them with the line.
var (
	// ErrTimeout: the call ran past its Options.Timeout.
	ErrTimeout = errors.New("time limit exceeded")
	// ErrMemory: the memory watchdog stopped the call.
	ErrMemory = errors.New("memory limit exceeded")
	// ErrResult: the classifier returned something other than a state name.
	ErrResult = errors.New("bad return value")
	// ErrRuntime: a Lua runtime error (including stack overflows).
	ErrRuntime = errors.New("runtime error")
)

// Error is a failed classification: the classifier's name, the Lua line when
// known (0 otherwise) and what went wrong.
type Error struct {
	Classifier string
	Line       int
	Msg        string
	Err        error // ErrTimeout, ErrMemory, ErrResult, ErrRuntime or the caller's context error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("classifier %s: line %d: %s", e.Classifier, e.Line, e.Msg)
	}
	return fmt.Sprintf("classifier %s: %s", e.Classifier, e.Msg)
}

// Unwrap returns the sentinel (or context error) behind e.
func (e *Error) Unwrap() error { return e.Err }

// Classify runs the classifier over h and returns its state. On any error it
// returns Unknown and an *Error. ctx bounds the call as well as the
// classifier's own Timeout.
func (c *Classifier) Classify(ctx context.Context, h History) (State, error) {
	s := c.pool.get()
	if err := ctx.Err(); err != nil {
		c.pool.put(s)
		return Unknown, &Error{Classifier: c.name, Msg: err.Error(), Err: err}
	}
	watch(s.watch, ctx, c.opts.Timeout, c.opts.MemoryLimit)
	s.L.SetContext(&s.watch.ctx)
	ret, err := s.run(h)
	s.L.RemoveContext()
	stopped := unwatch(s.watch)
	if err == nil {
		var state State
		state, err = c.result(ret)
		s.reset()
		c.pool.put(s)
		if err != nil {
			return Unknown, err
		}
		return state, nil
	}
	// A state that failed may hold half-built data; it is not reused.
	s.close()
	e := &Error{Classifier: c.name, Err: ErrRuntime}
	e.Line, e.Msg = c.lineAndMessage(err)
	switch stopped {
	case stopMemory:
		e.Err, e.Msg = ErrMemory, fmt.Sprintf("%s (the heap grew more than %d MiB while it ran)", ErrMemory, c.opts.MemoryLimit>>20)
	case stopTimeout:
		e.Err, e.Msg = ErrTimeout, fmt.Sprintf("%s (%s)", ErrTimeout, c.opts.Timeout)
	case stopCaller:
		e.Err, e.Msg = ctx.Err(), ctx.Err().Error()
	}
	return Unknown, e
}

// result turns the classifier's return value into a State.
func (c *Classifier) result(v lua.LValue) (State, error) {
	if s, ok := v.(lua.LString); ok {
		if st, ok := ParseState(string(s)); ok {
			return st, nil
		}
		return Unknown, &Error{Classifier: c.name, Err: ErrResult,
			Msg: fmt.Sprintf("returned %q, want one of \"ok\", \"minor\", \"major\", \"critical\", \"unknown\"", truncate(string(s)))}
	}
	desc := v.Type().String()
	if v != lua.LNil {
		desc += " " + truncate(v.String())
	}
	return Unknown, &Error{Classifier: c.name, Err: ErrResult,
		Msg: fmt.Sprintf("returned %s, want one of the strings \"ok\", \"minor\", \"major\", \"critical\", \"unknown\"", desc)}
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// lineAndMessage extracts the Lua line and the bare message from a
// gopher-lua error ("name:3: attempt to ...").
func (c *Classifier) lineAndMessage(err error) (int, string) {
	msg := err.Error()
	var api *lua.ApiError
	if errors.As(err, &api) && api.Object != nil {
		msg = api.Object.String()
	}
	prefix := c.name + ":"
	if rest, ok := strings.CutPrefix(msg, prefix); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if line, err := strconv.Atoi(rest[:i]); err == nil {
				return line, truncateMsg(rest[i+2:])
			}
		}
	}
	return 0, truncateMsg(msg)
}

func truncateMsg(s string) string {
	if i := strings.Index(s, "\nstack traceback:"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return s
}

// run executes the classifier with h in its environment and returns its
// first result.
func (s *sandbox) run(h History) (lua.LValue, error) {
	L := s.L
	n := max(len(h.Values), len(h.Messages), len(h.Timestamps), len(h.States), len(h.ExitStatuses))
	env := s.env
	values := s.historyTable(&s.values, n)
	messages := s.historyTable(&s.messages, n)
	timestamps := s.historyTable(&s.timestamps, n)
	states := s.historyTable(&s.states, n)
	exits := s.historyTable(&s.exits, n)
	s.lastN = n
	for i := 0; i < n; i++ {
		v := math.NaN()
		if i < len(h.Values) {
			v = h.Values[i]
		}
		values.RawSetInt(i+1, lua.LNumber(v))
		m := emptyString
		if i < len(h.Messages) && h.Messages[i] != "" {
			m = lua.LString(h.Messages[i])
		}
		messages.RawSetInt(i+1, m)
		var ts int64
		if i < len(h.Timestamps) {
			ts = h.Timestamps[i]
		}
		timestamps.RawSetInt(i+1, lua.LNumber(ts))
		st := Unknown
		if i < len(h.States) {
			st = h.States[i]
		}
		states.RawSetInt(i+1, stateValue(st))
		e := -1
		if i < len(h.ExitStatuses) {
			e = h.ExitStatuses[i]
		}
		exits.RawSetInt(i+1, lua.LNumber(e))
	}
	env.RawSetString("values", values)
	env.RawSetString("messages", messages)
	env.RawSetString("timestamps", timestamps)
	env.RawSetString("states", states)
	env.RawSetString("exit_codes", exits)
	env.RawSetString("n", lua.LNumber(n))

	L.Push(s.fn)
	if err := L.PCall(0, 1, nil); err != nil {
		return nil, err
	}
	ret := L.Get(-1)
	L.Pop(1)
	return ret, nil
}

var (
	emptyString = lua.LValue(lua.LString(""))
	// stateValues are the state names as Lua values, indexed by State+1,
	// boxed once rather than on every call.
	stateValues = [...]lua.LValue{
		lua.LString("unknown"), lua.LString("ok"), lua.LString("minor"),
		lua.LString("major"), lua.LString("critical"),
	}
)

func stateValue(s State) lua.LValue {
	if s < Unknown || s > Critical {
		s = Unknown
	}
	return stateValues[s+1]
}

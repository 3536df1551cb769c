package classify

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// mustCompile compiles with a generous time limit: the default 50 ms is
// wall-clock, and a loaded machine under -race can stall a goroutine that
// long; tests about the limit set their own.
func mustCompile(t testing.TB, name, src string) *Classifier {
	t.Helper()
	c, err := CompileOptions(name, src, Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return c
}

func TestContract(t *testing.T) {
	h := History{
		Values:     []float64{9, 9.5, 10, 12, 8.5, 3},
		Messages:   []string{"RAID degraded", "RAID optimal", "RAID optimal"},
		Timestamps: []int64{6000, 5000, 4000, 3000, 2000, 1000},
		States:     []State{Critical, Minor, OK},
	}
	f := func(src string, want State, wantErr string) {
		t.Helper()
		c := mustCompile(t, "t", src)
		got, err := c.Classify(context.Background(), h)
		if got != want {
			t.Errorf("%q: state %v, want %v (err %v)", src, got, want, err)
		}
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%q: unexpected error %v", src, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%q: error %v, want it to contain %q", src, err, wantErr)
		}
	}
	// Each state can be returned.
	f(`return "ok"`, OK, "")
	f(`return "minor"`, Minor, "")
	f(`return "major"`, Major, "")
	f(`return "critical"`, Critical, "")
	f(`return "unknown"`, Unknown, "")
	// The history, newest first; shorter slices padded.
	f(`if values[1] == 9 and values[6] == 3 and #values == 6 and n == 6 then return "ok" end`, OK, "")
	f(`if messages[1] == "RAID degraded" and messages[4] == "" then return "major" end`, Major, "")
	f(`if timestamps[1] == 6000 then return "minor" end`, Minor, "")
	f(`if states[1] == "critical" and states[3] == "ok" and states[4] == "unknown" then return "ok" end`, OK, "")
	f(`local d = "x" .. 1 .. "y"; if d == "x1y" then return "ok" end`, OK, "")
	f(`local function g(...) return select("#", ...) end; if g(1, 2) == 2 then return "ok" end`, OK, "")
	// The doc's example.
	f(realistic, Critical, "")
	// Bad return values.
	f(`return "warning"`, Unknown, `returned "warning", want one of`)
	f(`return "OK"`, Unknown, `returned "OK"`)
	f(`return nil`, Unknown, "returned nil")
	f(``, Unknown, "returned nil")
	f(`return 2`, Unknown, "returned number 2")
	f(`return true`, Unknown, "returned boolean true")
	f(`return {}`, Unknown, "returned table")
	// Runtime errors name the line.
	f("local x = 1\nreturn nil + x", Unknown, "line 2: ")
	f("\n\nerror('boom')", Unknown, "line 3: boom")
	f("local t = nil\nreturn t.x", Unknown, "line 2")
	f("return ({}) .. 'x'", Unknown, "attempt to concatenate a table value")
}

func TestErrorsAreTyped(t *testing.T) {
	c := mustCompile(t, "typed", "local a = 1\nlocal b = a + {}\nreturn 'ok'")
	st, err := c.Classify(context.Background(), History{})
	var e *Error
	if st != Unknown || !errors.As(err, &e) || !errors.Is(err, ErrRuntime) || e.Line != 2 || e.Classifier != "typed" {
		t.Fatalf("got %v, %#v", st, err)
	}
	c = mustCompile(t, "typed", "return 'nope'")
	if _, err := c.Classify(context.Background(), History{}); !errors.Is(err, ErrResult) {
		t.Fatalf("bad result: %v", err)
	}
}

func TestMissingValuesAreNaN(t *testing.T) {
	c := mustCompile(t, "nan", `
if isMissing(values[1]) and values[1] ~= values[1] and not (values[1] > 0) and #values == 3 and isMissing(values[3]) then
  return "ok"
end
return "critical"`)
	st, err := c.Classify(context.Background(), History{Values: []float64{math.NaN(), 2}, Messages: []string{"a", "b", "c"}})
	if st != OK || err != nil {
		t.Fatalf("got %v, %v", st, err)
	}
}

func TestCompileErrors(t *testing.T) {
	f := func(src, want string) {
		t.Helper()
		_, err := Compile("cpu", src)
		if err == nil || !errors.Is(err, ErrCompile) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want ErrCompile containing %q", src, err, want)
		}
	}
	f("return 'ok'\nif then", "classifier cpu does not compile: line 2, column 2: syntax error near 'if'")
	f("local x = = 1", "line 1, column 11: syntax error near '='")
	f("\n\n\nreturn 'ok' 'x' +", "line 4")
	f("for i = 1 do end", "line 1, column 12")
	f("x = 'abc", "unterminated string at the end of the source")
	f("return ...,", "syntax error at the end of the source")
	f("goto nowhere", "no visible label 'nowhere' for <goto> at line 1")
	f("break", "no loop to break")
	f("local __prophasis_concat = 1", "line 1: the name __prophasis_concat is reserved")
	f("\nx = __prophasis_concat", "line 2: the name __prophasis_concat is reserved")
	f(strings.Repeat(" ", MaxSource+1), "more than")
	var ce *CompileError
	if _, err := Compile("cpu", "\n\nif then"); !errors.As(err, &ce) || ce.Line != 3 || ce.Column == 0 {
		t.Errorf("CompileError: %#v", err)
	}
	if _, err := Compile("ok", "return 'ok'"); err != nil {
		t.Fatal(err)
	}
}

func TestGlobalsDoNotLeak(t *testing.T) {
	ctx := context.Background()
	// The first call sets globals and tampers with libraries; the second
	// must see none of it. MaxIdle 1 forces the same Lua state.
	c, err := CompileOptions("leak", `
if seen ~= nil or inner ~= nil or viaHelper ~= nil or values.extra ~= nil or #values ~= 1 then return "critical" end
if string.upper("a") ~= "A" or math.max(1, 2) ~= 2 then return "major" end
seen = true
pcall(function() inner = 1 end)
consecutive(values, function(v) viaHelper = v return false end)
values.extra = 1
values[2] = 5
table.insert(messages, "x")
states = nil
pcall(function() string.upper = function() return "x" end end)
pcall(function() math.max = nil end)
function arrayMax() return 1 end
return "ok"`, Options{MaxIdle: 1, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if st, err := c.Classify(ctx, History{Values: []float64{1}}); st != OK {
			t.Fatalf("call %d: %v, %v", i, st, err)
		}
	}
	// A second classifier does not see the first's globals either.
	writer := mustCompile(t, "writer", `shared = "secret"; return "ok"`)
	reader := mustCompile(t, "reader", `if shared == nil then return "ok" end return "critical"`)
	for i := 0; i < 3; i++ {
		if st, err := writer.Classify(ctx, History{}); st != OK {
			t.Fatal(st, err)
		}
		if st, err := reader.Classify(ctx, History{}); st != OK {
			t.Fatal("reader saw the writer's global", st, err)
		}
	}
}

func TestCallerContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := mustCompile(t, "cancelled", `return "ok"`)
	st, err := c.Classify(ctx, History{})
	if st != Unknown || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, %v", st, err)
	}
}

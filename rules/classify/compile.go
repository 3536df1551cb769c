package classify

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Defaults for Options, chosen for classifiers that look at tens of results:
// the realistic ones run in microseconds, so 50 ms is generous yet stops a
// runaway loop well before it delays the results queued behind it; 64 MiB of
// heap growth is far above what any honest classifier allocates.
const (
	DefaultTimeout     = 50 * time.Millisecond
	DefaultMemoryLimit = 64 << 20
	// MaxString is the largest string a classifier can build (string.rep,
	// concatenation, string.format, string.gsub, table.concat).
	MaxString = 1 << 20
	// MaxSource bounds the classifier source accepted by Compile.
	MaxSource = 64 << 10
)

// Options tune a Classifier. The zero value means the defaults.
type Options struct {
	// Timeout bounds one Classify call; DefaultTimeout when zero.
	Timeout time.Duration
	// MemoryLimit is the heap growth in bytes, measured while a call runs,
	// at which the watchdog stops it; DefaultMemoryLimit when zero.
	MemoryLimit uint64
	// MaxIdle bounds the Lua states kept for reuse (~125 KiB each); GOMAXPROCS
	// when zero, enough when callers run at most GOMAXPROCS calls at once.
	MaxIdle int
}

// Classifier is one compiled classifier. It is safe for concurrent use; each
// concurrent call runs on its own pooled Lua state.
type Classifier struct {
	name  string
	proto *lua.FunctionProto
	opts  Options
	pool  *pool
}

// ErrCompile is wrapped by every error Compile returns.
var ErrCompile = errors.New("classifier does not compile")

// CompileError is why a classifier does not compile, with the Lua line (and
// column for syntax errors) when known, 0 otherwise. It wraps ErrCompile.
type CompileError struct {
	Classifier string
	Line       int
	Column     int
	Msg        string
}

func (e *CompileError) Error() string {
	switch {
	case e.Column > 0:
		return fmt.Sprintf("classifier %s does not compile: line %d, column %d: %s", e.Classifier, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("classifier %s does not compile: line %d: %s", e.Classifier, e.Line, e.Msg)
	}
	return fmt.Sprintf("classifier %s does not compile: %s", e.Classifier, e.Msg)
}

// Unwrap returns ErrCompile.
func (e *CompileError) Unwrap() error { return ErrCompile }

// Compile parses and compiles source once, under name (which appears in
// error messages: "name:3: ..."). A syntax error comes back as an error
// naming the Lua line, so a bad classifier can be rejected when it is saved.
func Compile(name, source string) (*Classifier, error) {
	return CompileOptions(name, source, Options{})
}

// CompileOptions is Compile with Options.
func CompileOptions(name, source string, opts Options) (*Classifier, error) {
	if len(source) > MaxSource {
		return nil, &CompileError{Classifier: name, Msg: fmt.Sprintf("source is %d bytes, more than %d", len(source), MaxSource)}
	}
	chunk, err := parse.Parse(strings.NewReader(source), name)
	if err != nil {
		var perr *parse.Error
		if errors.As(err, &perr) {
			if perr.Pos.Line == parse.EOF {
				return nil, &CompileError{Classifier: name, Msg: perr.Message + " at the end of the source"}
			}
			return nil, &CompileError{Classifier: name, Line: perr.Pos.Line, Column: perr.Pos.Column,
				Msg: fmt.Sprintf("%s near '%s'", perr.Message, perr.Token)}
		}
		return nil, &CompileError{Classifier: name, Msg: strings.TrimSpace(err.Error())}
	}
	if line, err := rewriteChunk(chunk); err != nil {
		return nil, &CompileError{Classifier: name, Line: line, Msg: err.Error()}
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		var cerr *lua.CompileError
		if errors.As(err, &cerr) {
			return nil, &CompileError{Classifier: name, Line: cerr.Line, Msg: cerr.Message}
		}
		return nil, &CompileError{Classifier: name, Msg: strings.TrimSpace(err.Error())}
	}
	noArgTable(proto)
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MemoryLimit == 0 {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	c := &Classifier{name: name, proto: proto, opts: opts}
	c.pool = newPool(proto, opts.MaxIdle)
	runtime.AddCleanup(c, (*pool).closeIdle, c.pool)
	return c, nil
}

// Name returns the name the classifier was compiled under.
func (c *Classifier) Name() string { return c.name }

// noArgTable stops gopher-lua from building Lua 5.0's `arg` table on every
// call of a vararg function (the main chunk is one): five allocations per
// classification that no classifier needs. `...` still works.
func noArgTable(p *lua.FunctionProto) {
	p.IsVarArg &^= lua.VarArgNeedsArg
	for _, child := range p.FunctionPrototypes {
		noArgTable(child)
	}
}

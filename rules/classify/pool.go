package classify

import (
	"runtime"

	lua "github.com/yuin/gopher-lua"
)

// pool keeps idle Lua states of one Classifier for reuse: building a sandbox
// costs tens of microseconds, a classification a few. It is a bounded free
// list rather than a sync.Pool so that a state is closed deliberately (and
// never kept after a call that failed).
type pool struct {
	proto *lua.FunctionProto
	idle  chan *sandbox
}

func newPool(proto *lua.FunctionProto, maxIdle int) *pool {
	if maxIdle <= 0 {
		maxIdle = runtime.GOMAXPROCS(0)
	}
	return &pool{proto: proto, idle: make(chan *sandbox, maxIdle)}
}

// get returns an idle state or a new one.
func (p *pool) get() *sandbox {
	select {
	case s := <-p.idle:
		return s
	default:
		return newSandbox(p.proto)
	}
}

// closeIdle closes the idle states; it runs when the pool's Classifier has
// been garbage collected (runtime.AddCleanup in CompileOptions), so that
// replaced classifier versions release their states and the watchdog
// forgets them.
func (p *pool) closeIdle() {
	for {
		select {
		case s := <-p.idle:
			s.close()
		default:
			return
		}
	}
}

// put keeps s for reuse, or closes it when the pool is full.
func (p *pool) put(s *sandbox) {
	select {
	case p.idle <- s:
	default:
		s.close()
	}
}

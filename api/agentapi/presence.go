package agentapi

import (
	"fmt"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/store"
)

// disconnectGrace is how long an agent may go without an open plan long
// poll or any request before the system log says it disconnected. A running
// agent always has a long poll open (each lasts at most maxWait) or is
// about to open the next; pushes back off up to a minute.
const disconnectGrace = 2 * time.Minute

// presence tells the system log when agents connect and disconnect: an
// agent is connected while it has a plan long poll open or made any request
// within the grace; the first request after a disconnect logs the
// reconnection with how long it was away. It knows only what happened since
// the server started: an agent that never comes back after a restart is
// not logged (its checks go unknown when they are overdue).
type presence struct {
	grace time.Duration
	log   func(store.LogEntry)

	mu    sync.Mutex
	hosts map[string]*agentSeen
}

type agentSeen struct {
	last   time.Time
	polls  int // plan long polls open now
	gone   bool
	goneAt time.Time
	timer  *time.Timer // runs check; nil while none is pending
}

func newPresence(grace time.Duration, log func(store.LogEntry)) *presence {
	return &presence{grace: grace, log: log, hosts: make(map[string]*agentSeen)}
}

// touch records a request from host.
func (p *presence) touch(host string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seenLocked(host)
}

func (p *presence) seenLocked(host string) *agentSeen {
	now := time.Now()
	a := p.hosts[host]
	if a == nil {
		a = &agentSeen{}
		p.hosts[host] = a
	}
	if a.gone {
		a.gone = false
		p.log(store.LogEntry{Time: now.UnixMilli(), Level: "info", Component: "agent", Host: host,
			Message: fmt.Sprintf("agent %s reconnected after %s away", host, now.Sub(a.goneAt).Round(time.Second))})
	}
	a.last = now
	p.armLocked(host, a)
	return a
}

// poll records a plan long poll of host opening; the returned function
// records it closing.
func (p *presence) poll(host string) func() {
	p.mu.Lock()
	p.seenLocked(host).polls++
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		a := p.seenLocked(host)
		a.polls--
	}
}

// armLocked makes sure a check is pending. It runs when the grace since the
// last request ends, or earlier (a request came since it was set): then
// check sets it again for the rest, so requests on the hot path only note
// the time.
func (p *presence) armLocked(host string, a *agentSeen) {
	if a.timer == nil {
		a.timer = time.AfterFunc(time.Until(a.last.Add(p.grace)), func() { p.check(host) })
	}
}

// check logs host's disconnection if it has no long poll open and made no
// request within the grace; otherwise it looks again when the grace ends.
func (p *presence) check(host string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.hosts[host]
	if a == nil || a.gone {
		return
	}
	a.timer = nil
	now := time.Now()
	if a.polls > 0 {
		a.last = now // still listening for its plan
	}
	if now.Sub(a.last) < p.grace {
		p.armLocked(host, a)
		return
	}
	a.gone, a.goneAt = true, a.last
	p.log(store.LogEntry{Time: now.UnixMilli(), Level: "warn", Component: "agent", Host: host,
		Message: fmt.Sprintf("agent %s disconnected: no request for %s (last at %s)", host,
			now.Sub(a.last).Round(time.Second), a.last.UTC().Format(time.RFC3339))})
}

// stop cancels the timers (tests).
func (p *presence) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.hosts {
		if a.timer != nil {
			a.timer.Stop()
		}
	}
}

// seen is the middleware that records an agent's request.
func (h *handler) seen(c *gin.Context) {
	if pr, ok := auth.PrincipalOf(c); ok && pr.Kind == "agent" {
		h.presence.touch(pr.Name)
	}
	c.Next()
}

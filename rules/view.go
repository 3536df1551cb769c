package rules

import (
	"cmp"
	"slices"
	"sync"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/reach"
)

// Status is the current state of one host × plugin × check, with its latest
// result: what the API's state listing and the UI's host page show.
type Status struct {
	Host   string         `json:"host"`
	Plugin string         `json:"plugin"`
	Check  string         `json:"check,omitempty"`
	State  classify.State `json:"state"`
	// Since is when the state was confirmed (ms); 0 before the first.
	Since    int64 `json:"since"`
	Flapping bool  `json:"flapping"`
	// Pending is a state seen PendingCount times in a row that is not yet
	// confirmed (soft state); PendingCount 0 when none.
	Pending      classify.State `json:"pending"`
	PendingCount int            `json:"pending_count"`
	// Time, Value and Message are the latest result's (Value nil if none).
	Time    int64    `json:"time"`
	Value   *float64 `json:"value,omitempty"`
	Message string   `json:"message"`
}

// HostStatus is a host's rollup: the worst confirmed state of its checks.
type HostStatus struct {
	Host   string         `json:"host"`
	State  classify.State `json:"state"`
	Since  int64          `json:"since"`
	Reason string         `json:"reason"`
	// Reachability is what the agent mesh sees of the host while its
	// results have stopped (the worst check is unknown because it is
	// overdue); nil otherwise. Computed when read, from the agents' latest
	// mesh views.
	Reachability *reach.Reachability `json:"reachability,omitempty"`

	silent bool
}

// view is a shard's current states, readable while the shard works.
type view struct {
	mu     sync.RWMutex
	checks map[Key]Status
	hosts  map[string]HostStatus
}

func newView() *view {
	return &view{checks: map[Key]Status{}, hosts: map[string]HostStatus{}}
}

// valuePtr returns v, or nil for NaN (no value).
func valuePtr(v float64) *float64 {
	if v != v {
		return nil
	}
	return &v
}

func (v *view) set(k Key, s Status) {
	v.mu.Lock()
	v.checks[k] = s
	v.mu.Unlock()
}

func (v *view) setHost(h string, s HostStatus) {
	v.mu.Lock()
	v.hosts[h] = s
	v.mu.Unlock()
}

// States returns the current state of every host × plugin × check the
// engine has judged, sorted by host, plugin and check.
func (e *Engine) States() []Status {
	var out []Status
	for _, s := range e.shards {
		s.view.mu.RLock()
		for _, st := range s.view.checks {
			out = append(out, st)
		}
		s.view.mu.RUnlock()
	}
	slices.SortFunc(out, func(a, b Status) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Plugin, b.Plugin), cmp.Compare(a.Check, b.Check))
	})
	return out
}

// HostStates returns every host's rollup, sorted by host.
func (e *Engine) HostStates() []HostStatus {
	var out []HostStatus
	for _, s := range e.shards {
		s.view.mu.RLock()
		for _, st := range s.view.hosts {
			if st.silent {
				r := e.opts.Reach.Of(st.Host, e.opts.Now())
				st.Reachability = &r
			}
			out = append(out, st)
		}
		s.view.mu.RUnlock()
	}
	slices.SortFunc(out, func(a, b HostStatus) int { return cmp.Compare(a.Host, b.Host) })
	return out
}

// Package reach keeps what the agent mesh sees, as the agents report it
// (wire.MeshView, POST /agent/v1/mesh-view), and says whether a host whose
// results stopped is still alive according to its peers: "web3
// unreachable from the server, but alive according to 4 of 5 peers" (a
// network problem) versus "web3 down according to all 5 peers" (the host
// is down). The rules engine puts the sentence in a stale check's reason;
// the management API shows it on the host. It keeps the views in memory:
// after a server restart the agents report again within an interval.
//
// The server never joins the mesh itself: the mesh (memberlist) belongs
// to the agent, and the server must not import agent packages
// (docs/mesh.md says why).
package reach

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// FreshIntervals is how many of its reporter's intervals a view counts
// for: an agent reports every interval, so a view three intervals old
// means its reports stopped (it is down, or cut off from the server too).
const FreshIntervals = 3

// MinFresh is the least a view counts for, whatever its interval: a
// report may wait on a busy network or a restarting server.
const MinFresh = 30 * time.Second

// Recent is how long a peer may have been silent (no probe answered, no
// status) and still count as seeing the host alive. A peer marks a host
// down only after its mesh's down period (30 min by default), but its
// memberlist notices a stopped host within seconds and stops refreshing
// its last-seen time (every 10 s at most): a host that crashed reads
// "down according to all peers" after a minute, not half an hour.
const Recent = time.Minute

// SeedAge is how long a reporter's mesh address is handed out as a seed
// after its last report.
const SeedAge = 24 * time.Hour

// Verdict is what the mesh says of a host.
type Verdict string

// Verdicts.
const (
	// Alive: at least one peer sees the host alive.
	Alive Verdict = "alive"
	// Down: no peer that knows the host sees it alive: each marked it
	// down or has not heard from it for Recent.
	Down Verdict = "down"
	// NoData: no recent view knows the host.
	NoData Verdict = "no_mesh_data"
	// NoMesh: no agent reported a view recently (the mesh is off).
	NoMesh Verdict = "no_mesh"
)

// Reachability is the mesh's word on one host.
type Reachability struct {
	Verdict Verdict `json:"verdict"`
	// Alive of Peers recent views see the host alive (and heard from it
	// within Recent); Peers counts the reporting agents (other than the
	// host) whose recent view knows it.
	Alive int `json:"alive"`
	Peers int `json:"peers"`
	// LastSeen is the latest time a peer heard of the host (ms; 0 never).
	LastSeen int64 `json:"last_seen,omitempty"`
	// Text is the sentence for people and alerts; "" when NoMesh.
	Text string `json:"text,omitempty"`
}

type report struct {
	at    time.Time // when the server received it
	taken int64     // when the agent took it, ms on its clock; 0 unknown
	fresh time.Duration
	addr  string
	peers map[string]wire.MeshPeer
}

// silent tells whether p had been silent for longer than Recent at now:
// its silence when the view was taken (both times on the agent's clock)
// plus the view's age (on the server's).
func (r *report) silent(p wire.MeshPeer, now time.Time) bool {
	if r.taken <= 0 || p.LastSeen <= 0 {
		return false // no times to tell: the peer's own verdict stands
	}
	return time.Duration(r.taken-p.LastSeen)*time.Millisecond+now.Sub(r.at) > Recent
}

// SeedsSettle is how long a change of the seed list waits before it wakes
// the plan polls: when many agents turn the mesh on at once, their first
// reports change the list many times in a few seconds, and each change
// would otherwise make every waiting agent fetch a new plan.
const SeedsSettle = time.Second

// Views holds the latest view of every reporting agent. Safe for
// concurrent use.
type Views struct {
	mu       sync.Mutex
	views    map[string]*report
	seeds    []string // sorted addresses of recent reporters
	changed  chan struct{}
	settling bool // a wake-up of changed's waiters is scheduled
}

// New returns empty Views.
func New() *Views {
	return &Views{views: map[string]*report{}, changed: make(chan struct{})}
}

// Report keeps v as reporter's latest view, received at now. addr is the
// reporter's mesh address (v.Addr, or one the caller derived; "" for
// none).
func (vs *Views) Report(v wire.MeshView, addr string, now time.Time) {
	r := &report{at: now, taken: v.Time, fresh: max(FreshIntervals*v.Interval.D(), MinFresh), addr: addr,
		peers: make(map[string]wire.MeshPeer, len(v.Peers))}
	for _, p := range v.Peers {
		if p.Host != v.Host {
			r.peers[p.Host] = p
		}
	}
	vs.mu.Lock()
	defer vs.mu.Unlock()
	vs.views[v.Host] = r
	vs.updateSeeds(now)
}

// updateSeeds recomputes the seed list and, when it changed, wakes
// SeedsChanged's waiters SeedsSettle later (once for every change in
// between). Called with mu held.
func (vs *Views) updateSeeds(now time.Time) {
	var seeds []string
	for host, r := range vs.views {
		if now.Sub(r.at) > SeedAge {
			delete(vs.views, host)
			continue
		}
		if r.addr != "" {
			seeds = append(seeds, r.addr)
		}
	}
	slices.Sort(seeds)
	seeds = slices.Compact(seeds)
	if !slices.Equal(seeds, vs.seeds) {
		vs.seeds = seeds
		if !vs.settling {
			vs.settling = true
			time.AfterFunc(SeedsSettle, func() {
				vs.mu.Lock()
				defer vs.mu.Unlock()
				close(vs.changed)
				vs.changed = make(chan struct{})
				vs.settling = false
			})
		}
	}
}

// Seeds returns the mesh addresses of the agents that reported within
// SeedAge, except host's own, sorted.
func (vs *Views) Seeds(host string) []string {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	own := ""
	if r, ok := vs.views[host]; ok {
		own = r.addr
	}
	out := make([]string, 0, len(vs.seeds))
	for _, s := range vs.seeds {
		if s != own {
			out = append(out, s)
		}
	}
	return out
}

// SeedsChanged returns a channel closed SeedsSettle after the seed list
// changes (the agent API's plan long poll waits on it).
func (vs *Views) SeedsChanged() <-chan struct{} {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return vs.changed
}

// Of returns what the recent views of the other agents say of host at
// now. A nil Views has no data.
func (vs *Views) Of(host string, now time.Time) Reachability {
	r := Reachability{Verdict: NoMesh}
	if vs != nil {
		vs.mu.Lock()
		for _, reporter := range slices.Sorted(maps.Keys(vs.views)) {
			v := vs.views[reporter]
			if reporter == host || now.Sub(v.at) > v.fresh {
				continue
			}
			r.Verdict = NoData
			p, ok := v.peers[host]
			if !ok {
				continue
			}
			r.Peers++
			if p.Alive && !v.silent(p, now) {
				r.Alive++
			}
			r.LastSeen = max(r.LastSeen, p.LastSeen)
		}
		vs.mu.Unlock()
	}
	switch {
	case r.Verdict == NoMesh:
	case r.Peers == 0:
		r.Text = fmt.Sprintf("%s unreachable from the server; no mesh peer reports on it", host)
	case r.Alive > 0:
		r.Verdict = Alive
		r.Text = fmt.Sprintf("%s unreachable from the server, but alive according to %d of %d peers", host, r.Alive, r.Peers)
	case r.Peers == 1:
		r.Verdict = Down
		r.Text = fmt.Sprintf("%s down according to its only peer", host)
	default:
		r.Verdict = Down
		r.Text = fmt.Sprintf("%s down according to all %d peers", host, r.Peers)
	}
	return r
}

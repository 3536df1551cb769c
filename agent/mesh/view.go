package mesh

import (
	"maps"
	"slices"
	"time"
)

// ClusterView is the mesh as one node sees it.
type ClusterView struct {
	Node    string     `json:"node"`
	Cluster string     `json:"cluster"`
	Time    time.Time  `json:"time"`
	Hosts   []HostView `json:"hosts"` // by name
}

// HostView is one host in a ClusterView.
type HostView struct {
	Name      string    `json:"name"`
	Addr      string    `json:"addr,omitempty"`
	Up        bool      `json:"up"`
	LastSeen  time.Time `json:"last_seen"`
	DownSince time.Time `json:"down_since,omitzero"`
	// ReportedBy is the node that delivered the latest status: the host
	// itself, a peer relaying it, or the peer of a push/pull exchange.
	ReportedBy string `json:"reported_by,omitempty"`
	// Statuses are the last History statuses, newest first.
	Statuses []Status `json:"statuses"`
}

// View returns every host the mesh knows, up or down, with its statuses.
func (m *Mesh) View() ClusterView {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := ClusterView{Node: m.opts.Name, Cluster: m.opts.Cluster, Time: time.Now()}
	for _, h := range m.table.sortedHosts() {
		v.Hosts = append(v.Hosts, HostView{Name: h.name, Addr: h.addr, Up: !h.down, LastSeen: h.lastSeen,
			DownSince: h.downSince, ReportedBy: h.reportedBy, Statuses: h.statuses.list()})
	}
	return v
}

// sortedHosts returns the table's hosts by name.
func (p *peers) sortedHosts() []*hostRecord {
	out := make([]*hostRecord, 0, len(p.hosts))
	for _, name := range slices.Sorted(maps.Keys(p.hosts)) {
		out = append(out, p.hosts[name])
	}
	return out
}

// Package mesh is the agents' gossip network: every agent that joins it
// shares a compact status of its host (load, memory, CPU, network, users,
// top processes, recent error log lines, its check states) and keeps the
// last few statuses of every peer, so the cluster stays visible from any
// agent when the monitoring server is down. It is unagi.py's model (a 2004
// peer-to-peer cluster monitor) rebuilt on hashicorp/memberlist: SWIM
// failure detection, an encrypted and authenticated keyring, and a label
// (the cluster name) so packets from another cluster are dropped.
//
// Files: ranges.go (unagi address ranges and CIDR), status.go and
// status_codec.go (the status and its strict binary encoding), delta.go
// (material changes, heartbeats and deltas), want.go (deltas on receipt,
// and asking for a missed status), history.go
// (per-host ring of statuses), mesh.go (memberlist set-up and Run),
// delegate.go (gossip and push/pull of statuses), allow.go (the transport
// filter enforcing the join allow list), liveness.go (down after Down,
// removed after Remove), statefile.go (down hosts across restarts),
// page.go (the read-only HTML and JSON status page), collect.go (the
// status of this host from agent/collect).
//
// Only the agent (agent, cmd/prophasis-agent) imports this package; it owns
// the memberlist dependency.
package mesh

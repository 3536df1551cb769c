package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"time"
)

// MeshView is what one agent's mesh sees of its peers: POST
// /agent/v1/mesh-view, sent every mesh interval and whenever a peer goes
// up or down. The server keeps the latest view of every reporting agent
// and, when a host's results stop arriving, asks the other agents' views
// whether the host is still alive (docs/mesh.md, "What the server sees").
type MeshView struct {
	// Host is the reporting agent's host; the server checks it is the
	// authenticated agent's own.
	Host string `json:"host"`
	// Addr is the reporting agent's mesh address (ip:port) as its peers
	// reach it; the server hands it to other agents as a seed. Optional.
	Addr string `json:"addr,omitempty"`
	// Interval is how often the agent reports (its mesh interval); the
	// server counts a view for a few intervals only.
	Interval Duration `json:"interval"`
	// Time is when the view was taken, ms on the agent's clock (0:
	// unknown). With the peers' LastSeen, on the same clock, it says how
	// long each peer has been silent without trusting the clocks to agree.
	Time int64 `json:"time,omitempty"`
	// Peers are the other hosts the mesh knows, up or down, by name.
	Peers []MeshPeer `json:"peers"`
}

// MeshPeer is one peer in a MeshView.
type MeshPeer struct {
	Host string `json:"host"`
	// Alive is false once the reporting agent's mesh marked the peer down
	// (silent for its down period).
	Alive bool `json:"alive"`
	// LastSeen is when the reporting agent last heard of the peer (a probe
	// answered or a status), ms since the epoch; 0 when never.
	LastSeen int64 `json:"last_seen"`
}

// Limits of a MeshView: a mesh of MaxMeshPeers hosts at about 80 bytes a
// peer stays under MaxMeshViewBytes.
const (
	MaxMeshViewBytes = 1 << 20
	MaxMeshPeers     = 10000
	// MinMeshInterval and MaxMeshInterval bound a view's interval: the
	// server refuses reports that would claim to stay fresh for days.
	MinMeshInterval = 100 * time.Millisecond
	MaxMeshInterval = 24 * time.Hour
)

// meshHostRE is the rule for host names (the store's NamePattern).
var meshHostRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ValidHost tells whether name is a valid host name (the store's rule).
func ValidHost(name string) bool { return meshHostRE.MatchString(name) }

// DecodeMeshView reads and validates one MeshView of at most
// MaxMeshViewBytes: strict JSON (no unknown fields, no trailing data),
// host names by the store's rule, no duplicate peers, an address that
// parses as ip:port, an interval within bounds. The error names what is
// wrong.
func DecodeMeshView(r io.Reader) (MeshView, error) {
	var v MeshView
	body, err := io.ReadAll(io.LimitReader(r, MaxMeshViewBytes+1))
	if err != nil {
		return v, fmt.Errorf("read mesh view: %w", err)
	}
	if len(body) > MaxMeshViewBytes {
		return v, fmt.Errorf("mesh view over %d bytes", MaxMeshViewBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return MeshView{}, fmt.Errorf("decode mesh view: %w", err)
	}
	if dec.More() {
		return MeshView{}, errors.New("decode mesh view: trailing data after the object")
	}
	if err := v.Validate(); err != nil {
		return MeshView{}, err
	}
	return v, nil
}

// Validate checks a MeshView (DecodeMeshView's rules).
func (v *MeshView) Validate() error {
	if !meshHostRE.MatchString(v.Host) {
		return fmt.Errorf("mesh view: host %q is not a host name", v.Host)
	}
	if v.Addr != "" {
		ap, err := netip.ParseAddrPort(v.Addr)
		if err != nil || ap.Port() == 0 || ap.Addr().IsUnspecified() {
			return fmt.Errorf("mesh view: addr %q is not an address and port like 192.168.0.7:7946", v.Addr)
		}
	}
	if d := v.Interval.D(); d < MinMeshInterval || d > MaxMeshInterval {
		return fmt.Errorf("mesh view: interval %s is outside %s to %s", d, MinMeshInterval, MaxMeshInterval)
	}
	if v.Time < 0 {
		return fmt.Errorf("mesh view: time %d is negative", v.Time)
	}
	if len(v.Peers) > MaxMeshPeers {
		return fmt.Errorf("mesh view: %d peers; the limit is %d", len(v.Peers), MaxMeshPeers)
	}
	seen := make(map[string]bool, len(v.Peers))
	for i, p := range v.Peers {
		if !meshHostRE.MatchString(p.Host) {
			return fmt.Errorf("mesh view: peers[%d]: host %q is not a host name", i, p.Host)
		}
		if seen[p.Host] {
			return fmt.Errorf("mesh view: peers[%d]: host %q is listed twice", i, p.Host)
		}
		if p.Host == v.Host {
			return fmt.Errorf("mesh view: peers[%d]: the reporting host %q is not its own peer", i, p.Host)
		}
		if p.LastSeen < 0 {
			return fmt.Errorf("mesh view: peers[%d]: last_seen %d is negative", i, p.LastSeen)
		}
		seen[p.Host] = true
	}
	return nil
}

// PlanMesh are the mesh settings of a plan: with them the agent runs the
// mesh without command-line flags (flags, when given, win). Keys are
// secret: they travel only in the plan, over the agent's authenticated
// channel.
type PlanMesh struct {
	Cluster string `json:"cluster"`
	// Port is the mesh port, UDP and TCP, the same on every agent.
	Port int `json:"port"`
	// Keys are base64 AES keys (16, 24 or 32 bytes), the first used to
	// send, all accepted.
	Keys []string `json:"keys"`
	// Allow lists the address ranges allowed in the mesh (docs/mesh.md's
	// syntax, e.g. "192.168.0. 10.1.0.0/24").
	Allow string `json:"allow"`
	// StatusListen is the status page's address ("" for none) and
	// StatusAllow who may read it.
	StatusListen string   `json:"status_listen,omitempty"`
	StatusAllow  string   `json:"status_allow,omitempty"`
	Interval     Duration `json:"interval"`
	Down         Duration `json:"down"`
	Remove       Duration `json:"remove"`
	// Seeds are the mesh addresses (ip:port) of other agents that run the
	// mesh, as the server learnt them from their mesh views: the agent
	// joins through them.
	Seeds []string `json:"seeds,omitempty"`
}

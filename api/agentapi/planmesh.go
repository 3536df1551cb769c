package agentapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// addMesh puts the mesh settings into host's plan when the mesh is
// enabled, with the mesh addresses of the other agents that reported a
// view as seeds (the agents join through the server), and returns the
// plan's ETag over both. The keys travel only here, to the authenticated
// agent; an admin reading a host's plan sees their fingerprints
// (fingerprintKeys), like every other secret the API shows.
func addMesh(ctx context.Context, st store.Store, views *reach.Views, host string, plan *wire.Plan, etag string) (string, error) {
	m, err := st.MeshSettings(ctx)
	if err != nil {
		return "", fmt.Errorf("compile plan: %w", err)
	}
	if !m.Enabled {
		return etag, nil
	}
	pm := &wire.PlanMesh{Cluster: m.Cluster, Port: m.Port, Keys: m.Keys, Allow: m.Allow,
		StatusListen: m.StatusListen, StatusAllow: m.StatusAllow,
		Interval: wire.Millis(time.Duration(m.Interval)), Down: wire.Millis(time.Duration(m.Down)),
		Remove: wire.Millis(time.Duration(m.Remove))}
	if views != nil {
		pm.Seeds = views.Seeds(host)
	}
	plan.Mesh = pm
	body, err := json.Marshal(pm)
	if err != nil {
		return "", fmt.Errorf("compile plan: %w", err)
	}
	sum := sha256.Sum256(append([]byte(etag), body...))
	return `"` + hex.EncodeToString(sum[:16]) + `"`, nil
}

// fingerprintKeys replaces a plan's mesh keys with their fingerprints,
// "sha256:" and the first 16 hex digits of the key's SHA-256, for a plan
// read by a person: which key is which (the steps of a rotation) shows,
// the keys do not.
func fingerprintKeys(pm *wire.PlanMesh) {
	if pm == nil {
		return
	}
	keys := make([]string, len(pm.Keys))
	for i, k := range pm.Keys {
		sum := sha256.Sum256([]byte(k))
		keys[i] = "sha256:" + hex.EncodeToString(sum[:8])
	}
	pm.Keys = keys
}

package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/prophasis/prophasis/agent/client"
	"github.com/prophasis/prophasis/agent/mesh"
	"github.com/prophasis/prophasis/wire"
)

// meshPlanFile keeps the plan's last mesh settings (keys included, so
// 0600), so that an agent restarted while the server is unreachable still
// joins the mesh: the mesh is how the cluster stays visible then.
const meshPlanFile = "mesh-plan.json"

// retryMesh is how long the agent waits before starting a mesh again
// after it failed (a port in use, say).
const retryMesh = 30 * time.Second

// plan takes a new plan's mesh settings (Options.OnPlan).
func (ctl *meshControl) plan(p wire.Plan) {
	ctl.mu.Lock()
	ctl.latest, ctl.planned = p.Mesh, true
	ctl.mu.Unlock()
	select {
	case ctl.updates <- struct{}{}:
	default:
	}
}

// follow runs the mesh the plan asks for until ctx ends: it starts it
// when the plan turns it on, stops it when the plan turns it off, and
// restarts it when the settings change. A change of seeds alone restarts
// it only while it has no peer (the seeds are for joining; a mesh that
// has joined keeps its members). Until the first plan arrives it runs the
// settings of the last plan seen (meshPlanFile).
func (ctl *meshControl) follow(ctx context.Context) {
	var (
		cur     *wire.PlanMesh
		stop    context.CancelFunc
		done    chan struct{}
		failed  bool
		retryAt <-chan time.Time
	)
	halt := func() {
		if stop != nil {
			stop()
			<-done
			stop, done = nil, nil
		}
	}
	defer halt()
	start := func(pm *wire.PlanMesh) {
		halt()
		cur, failed, retryAt = pm, false, nil
		if pm == nil {
			return
		}
		mo, err := ctl.optionsFromPlan(pm)
		var r *meshRun
		if err == nil {
			r, err = ctl.prepare(mo)
		}
		if err != nil {
			ctl.logger.Error("cannot run the mesh the server's plan asks for; retrying", "err", err, "retry_in", retryMesh)
			failed, retryAt = true, time.After(retryMesh)
			return
		}
		ctl.logger.Info("mesh on, as the server's plan says", "cluster", pm.Cluster, "port", pm.Port, "seeds", pm.Seeds)
		rctx, cancel := context.WithCancel(ctx)
		stop, done = cancel, make(chan struct{})
		go func() {
			defer close(done)
			if err := ctl.run(rctx, r); err != nil && rctx.Err() == nil {
				ctl.logger.Error("mesh failed; retrying", "err", err, "retry_in", retryMesh)
			}
		}()
	}
	if pm, err := loadMeshPlan(ctl.dataDir); err != nil {
		ctl.logger.Warn("ignoring the saved mesh settings", "err", err)
	} else if pm != nil {
		ctl.logger.Info("starting the mesh with the last plan's settings until the server answers")
		start(pm)
	}
	for {
		var ended <-chan struct{}
		if done != nil {
			ended = done
		}
		select {
		case <-ctx.Done():
			return
		case <-ended:
			// The mesh failed on its own: start it again later.
			stop, done = nil, nil
			failed, retryAt = true, time.After(retryMesh)
			continue
		case <-retryAt:
			if failed {
				start(cur)
			}
			continue
		case <-ctl.updates:
		}
		ctl.mu.Lock()
		pm, planned := ctl.latest, ctl.planned
		ctl.mu.Unlock()
		if !planned {
			continue
		}
		if err := saveMeshPlan(ctl.dataDir, pm); err != nil {
			ctl.logger.Warn("save the mesh settings", "err", err)
		}
		switch {
		case pm == nil && cur == nil:
		case pm == nil:
			ctl.logger.Info("mesh off, as the server's plan says")
			halt()
			cur = nil
		case cur == nil || !sameMesh(cur, pm) || failed:
			start(pm)
		case !slices.Equal(cur.Seeds, pm.Seeds):
			if ctl.alone() {
				ctl.logger.Info("new seeds from the server; rejoining", "seeds", pm.Seeds)
				start(pm)
			} else {
				cur = pm
			}
		}
	}
}

// sameMesh tells whether a and b are the same settings but for the seeds.
func sameMesh(a, b *wire.PlanMesh) bool {
	x, y := *a, *b
	x.Seeds, y.Seeds = nil, nil
	return reflect.DeepEqual(x, y)
}

// alone tells whether the running mesh sees no peer alive (or none runs).
func (ctl *meshControl) alone() bool {
	ctl.mu.Lock()
	m := ctl.current
	ctl.mu.Unlock()
	if m == nil {
		return true
	}
	v := m.View()
	for _, h := range v.Hosts {
		if h.Name != v.Node && h.Up {
			return false
		}
	}
	return true
}

// optionsFromPlan turns the plan's mesh settings into the mesh's options.
func (ctl *meshControl) optionsFromPlan(pm *wire.PlanMesh) (MeshOptions, error) {
	mo := MeshOptions{Mesh: mesh.Options{Cluster: pm.Cluster, Port: pm.Port, BindAddr: ctl.bind, Seeds: pm.Seeds,
		Interval: pm.Interval.D(), Down: pm.Down.D(), Remove: pm.Remove.D()}, StatusListen: pm.StatusListen}
	for i, k := range pm.Keys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return mo, fmt.Errorf("plan: mesh key %d is not base64", i+1)
		}
		mo.Mesh.Keys = append(mo.Mesh.Keys, b)
	}
	var err error
	if mo.Mesh.AllowJoin, err = mesh.ParseRanges(pm.Allow); err != nil {
		return mo, fmt.Errorf("plan: mesh allow: %w", err)
	}
	if mo.StatusAllow, err = mesh.ParseRanges(pm.StatusAllow); err != nil {
		return mo, fmt.Errorf("plan: mesh status allow: %w", err)
	}
	return mo, nil
}

// report sends the mesh's view of its peers to the server every interval,
// and within a second when a peer goes up or down. Failures are logged
// (at most once an interval) and retried at the next report.
func (ctl *meshControl) report(ctx context.Context, m *mesh.Mesh, interval time.Duration) {
	ctl.mu.Lock()
	ctl.current = m
	ctl.mu.Unlock()
	defer func() {
		ctl.mu.Lock()
		if ctl.current == m {
			ctl.current = nil
		}
		ctl.mu.Unlock()
	}()
	var (
		cl       *client.Client
		lastSig  string
		lastSent time.Time
		failing  bool
	)
	tick := time.NewTicker(min(interval, time.Second))
	defer tick.Stop()
	for {
		v := meshView(m.View(), interval)
		sig := viewSignature(v)
		if sig != lastSig || time.Since(lastSent) >= interval {
			if cl == nil {
				cl = ctl.client()
			}
			if cl != nil {
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := cl.MeshView(rctx, v)
				cancel()
				switch {
				case err != nil && ctx.Err() == nil:
					if !failing {
						ctl.logger.Warn("report the mesh view to the server", "err", err)
					}
					failing = true
				case err == nil:
					if failing {
						ctl.logger.Info("mesh view reported to the server again")
					}
					failing = false
				}
			}
			lastSig, lastSent = sig, time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// client returns a client of the agent's server, or nil before enrolment.
func (ctl *meshControl) client() *client.Client {
	st, err := loadState(ctl.dataDir)
	if err != nil {
		return nil
	}
	cl, err := client.New(client.Options{Server: st.Server, CACert: []byte(st.CACert), AllowHTTP: st.AllowHTTP,
		UserAgent: "prophasis-agent/" + ctl.version}, st.Credential)
	if err != nil {
		ctl.logger.Warn("mesh view reports: server client", "err", err)
		return nil
	}
	return cl
}

// meshView is the wire form of a mesh's view. Peers whose names the
// server would refuse are left out, so one odd name does not lose the
// whole report.
func meshView(v mesh.ClusterView, interval time.Duration) wire.MeshView {
	out := wire.MeshView{Host: v.Node, Interval: wire.Millis(interval), Peers: []wire.MeshPeer{}}
	if !v.Time.IsZero() {
		out.Time = v.Time.UnixMilli()
	}
	for _, h := range v.Hosts {
		if h.Name == v.Node {
			out.Addr = h.Addr
			continue
		}
		if !wire.ValidHost(h.Name) || len(out.Peers) >= wire.MaxMeshPeers {
			continue
		}
		p := wire.MeshPeer{Host: h.Name, Alive: h.Up}
		if !h.LastSeen.IsZero() {
			p.LastSeen = h.LastSeen.UnixMilli()
		}
		out.Peers = append(out.Peers, p)
	}
	if out.Addr != "" {
		probe := wire.MeshView{Host: out.Host, Addr: out.Addr, Interval: out.Interval}
		if probe.Validate() != nil {
			out.Addr = "" // 0.0.0.0 or a name: no use as a seed
		}
	}
	return out
}

// viewSignature is what a report must be re-sent for at once: who is up.
func viewSignature(v wire.MeshView) string {
	var b strings.Builder
	b.WriteString(v.Addr)
	for _, p := range v.Peers {
		fmt.Fprintf(&b, " %s=%t", p.Host, p.Alive)
	}
	return b.String()
}

// loadMeshPlan reads the saved mesh settings (nil when none).
func loadMeshPlan(dir string) (*wire.PlanMesh, error) {
	if dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, meshPlanFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pm wire.PlanMesh
	if err := json.Unmarshal(b, &pm); err != nil {
		return nil, fmt.Errorf("%s: %w", meshPlanFile, err)
	}
	return &pm, nil
}

// saveMeshPlan writes the mesh settings atomically, mode 0600 (they hold
// the keys), or removes the file when the mesh is off.
func saveMeshPlan(dir string, pm *wire.PlanMesh) error {
	if dir == "" {
		return nil
	}
	path := filepath.Join(dir, meshPlanFile)
	if pm == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	saved := *pm
	saved.Seeds = nil // the seeds of a later start come from the server or mesh.json
	b, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Package agent is prophasis-agent: config sync with the server, the schedule
// grid, the one-at-a-time plugin runner, collectors, the durable spool, push,
// and the mesh. It never imports server packages (only wire and the plugin
// format), so the agent binary stays small; e2e's architecture test checks it.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prophasis/prophasis/agent/collect"
	"github.com/prophasis/prophasis/agent/mesh"
	"github.com/prophasis/prophasis/wire"
)

// MeshOptions configure the agent mesh (agent/mesh, docs/mesh.md).
type MeshOptions struct {
	// FromPlan leaves the mesh to the server's plan: it runs while the
	// plan's mesh settings are on, restarted when they change. Only
	// Mesh.BindAddr is taken from these options (which of the host's
	// addresses to listen on is the host's business, not the cluster's).
	// Without FromPlan the options below are the mesh (the --mesh flags)
	// and the plan's mesh settings are ignored: flags win.
	FromPlan bool
	// Mesh configures the mesh; an empty Name means the enrolled host name,
	// an empty StateFile DataDir/mesh.json.
	Mesh mesh.Options
	// StatusListen is the status page's address (host:port); "" serves none.
	StatusListen string
	// StatusAllow lists who may read the status page.
	StatusAllow mesh.Ranges
}

// RunWithMesh runs the agent (Run) and the mesh beside it, until ctx ends
// or one of them fails. With mo nil or mo.FromPlan the mesh follows the
// server's plan; otherwise it runs with mo (the flags), and its ports and
// the status page's are bound before anything starts, so a port in use is
// an error at once. Either way the agent reports its mesh view to the
// server (POST /agent/v1/mesh-view) every mesh interval and whenever a
// peer goes up or down.
func RunWithMesh(ctx context.Context, opts Options, mo *MeshOptions, logger *slog.Logger) error {
	checks := &mesh.CheckStates{}
	if prev := opts.OnResult; prev != nil {
		opts.OnResult = func(r wire.Result) { prev(r); checks.SetResult(r) }
	} else {
		opts.OnResult = checks.SetResult
	}
	ctl := &meshControl{dataDir: opts.DataDir, version: opts.Version, logger: logger, checks: checks,
		updates: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		if err != nil {
			errOnce.Do(func() { firstErr = err })
		}
		cancel()
	}
	if mo == nil || mo.FromPlan {
		if mo != nil {
			ctl.bind = mo.Mesh.BindAddr
		}
		opts.OnPlan = ctl.plan
		wg.Go(func() { ctl.follow(ctx) })
	} else {
		r, err := ctl.prepare(*mo)
		if err != nil {
			return err
		}
		var warned sync.Once
		opts.OnPlan = func(p wire.Plan) {
			if p.Mesh != nil {
				warned.Do(func() {
					logger.Info("the server's plan has mesh settings; the --mesh flags win, so they are ignored")
				})
			}
		}
		wg.Go(func() { fail(ctl.run(ctx, r)) })
	}
	wg.Go(func() { fail(Run(ctx, opts, logger)) })
	wg.Wait()
	return firstErr
}

// meshRun is a mesh ready to run: created, its ports (and the status
// page's) bound.
type meshRun struct {
	m        *mesh.Mesh
	ln       net.Listener
	allow    mesh.Ranges
	interval time.Duration
}

// meshControl runs the mesh and reports its view to the server.
type meshControl struct {
	dataDir, version, bind string
	logger                 *slog.Logger
	checks                 *mesh.CheckStates

	mu      sync.Mutex
	latest  *wire.PlanMesh // the plan's mesh settings, nil for off
	planned bool           // a plan arrived
	current *mesh.Mesh     // the running mesh, nil when none
	updates chan struct{}
}

// prepare creates the mesh of mo and binds its ports.
func (ctl *meshControl) prepare(mo MeshOptions) (*meshRun, error) {
	mopts := mo.Mesh
	if mopts.Name == "" {
		if st, err := loadState(ctl.dataDir); err == nil {
			mopts.Name = st.Host
		}
	}
	if mopts.StateFile == "" && ctl.dataDir != "" {
		mopts.StateFile = filepath.Join(ctl.dataDir, "mesh.json")
	}
	mopts.Logger = ctl.logger
	if mopts.Interval <= 0 {
		mopts.Interval = mesh.DefaultInterval
	}
	m, err := mesh.New(mopts, mesh.CollectStatus(collect.Default(), ctl.checks))
	if err != nil {
		return nil, err
	}
	if err := m.Start(); err != nil {
		return nil, err
	}
	r := &meshRun{m: m, allow: mo.StatusAllow, interval: mopts.Interval}
	if mo.StatusListen != "" {
		if r.ln, err = net.Listen("tcp", mo.StatusListen); err != nil {
			// Run shuts the started memberlist down at once.
			cctx, cancel := context.WithCancel(context.Background())
			cancel()
			_ = m.Run(cctx)
			return nil, fmt.Errorf("status page: %w", err)
		}
	}
	return r, nil
}

// run runs a prepared mesh, its status page and the reports of its view
// until ctx ends or the mesh fails; then it leaves the mesh.
func (ctl *meshControl) run(ctx context.Context, r *meshRun) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	fail := func(err error) {
		if err != nil {
			errOnce.Do(func() { first = err })
		}
		cancel()
	}
	wg.Go(func() { fail(r.m.Run(ctx)) })
	wg.Go(func() { ctl.report(ctx, r.m, r.interval) })
	if r.ln != nil {
		srv := &http.Server{Handler: mesh.Handler(r.m, r.allow), ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, MaxHeaderBytes: 8 << 10}
		wg.Go(func() {
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			_ = srv.Shutdown(sctx)
		})
		wg.Go(func() {
			ctl.logger.Info("status page listening", "addr", r.ln.Addr().String(), "allow", r.allow.String())
			if err := srv.Serve(r.ln); !errors.Is(err, http.ErrServerClosed) {
				fail(fmt.Errorf("status page: %w", err))
			}
		})
	}
	wg.Wait()
	return first
}

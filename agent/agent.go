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
)

// MeshOptions turn the agent mesh on (agent/mesh, docs/mesh.md).
type MeshOptions struct {
	// Mesh configures the mesh; an empty Name means the enrolled host name,
	// an empty StateFile DataDir/mesh.json.
	Mesh mesh.Options
	// StatusListen is the status page's address (host:port); "" serves none.
	StatusListen string
	// StatusAllow lists who may read the status page.
	StatusAllow mesh.Ranges
}

// RunWithMesh runs the agent (Run) and, when mo is not nil, the mesh and
// its status page beside it, until ctx ends or one of them fails. The
// mesh's ports and the page's are bound before anything starts, so a port
// in use is an error at once.
func RunWithMesh(ctx context.Context, opts Options, mo *MeshOptions, logger *slog.Logger) error {
	if mo == nil {
		return Run(ctx, opts, logger)
	}
	mopts := mo.Mesh
	if mopts.Name == "" {
		if st, err := loadState(opts.DataDir); err == nil {
			mopts.Name = st.Host
		}
	}
	if mopts.StateFile == "" && opts.DataDir != "" {
		mopts.StateFile = filepath.Join(opts.DataDir, "mesh.json")
	}
	mopts.Logger = logger
	// The status shares the states of the checks this agent runs.
	checks := &mesh.CheckStates{}
	opts.OnResult = checks.SetResult
	m, err := mesh.New(mopts, mesh.CollectStatus(collect.Default(), checks))
	if err != nil {
		return err
	}
	if err := m.Start(); err != nil {
		return err
	}
	var ln net.Listener
	if mo.StatusListen != "" {
		if ln, err = net.Listen("tcp", mo.StatusListen); err != nil {
			return fmt.Errorf("status page: %w", err)
		}
	}
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
	wg.Go(func() { fail(Run(ctx, opts, logger)) })
	wg.Go(func() { fail(m.Run(ctx)) })
	if ln != nil {
		srv := &http.Server{Handler: mesh.Handler(m, mo.StatusAllow), ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, MaxHeaderBytes: 8 << 10}
		wg.Go(func() {
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			_ = srv.Shutdown(sctx)
		})
		wg.Go(func() {
			logger.Info("status page listening", "addr", ln.Addr().String(), "allow", mo.StatusAllow.String())
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				fail(fmt.Errorf("status page: %w", err))
			}
		})
	}
	wg.Wait()
	return firstErr
}

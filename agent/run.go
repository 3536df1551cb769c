package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/prophasis/prophasis/agent/client"
	"github.com/prophasis/prophasis/agent/collect"
	"github.com/prophasis/prophasis/agent/runner"
	"github.com/prophasis/prophasis/agent/schedule"
	"github.com/prophasis/prophasis/agent/spool"
	"github.com/prophasis/prophasis/plugins/sign"
	"github.com/prophasis/prophasis/wire"
)

// Options configure the agent. main fills them from flags.
type Options struct {
	// DataDir holds the agent's state (agent.json, 0600) and spool.
	DataDir string
	// Server, EnrollToken, CASHA256 and AllowHTTP are for enrolment: with
	// an enrolment token the agent enrols (again) before it starts.
	Server      string
	EnrollToken string
	CASHA256    string
	AllowHTTP   bool
	// Host is the name to enrol as; empty means the machine's hostname.
	Host string
	// PluginUser runs plugins when the agent is root (default nobody).
	PluginUser string
	// DropTo, when the agent starts as root, is the unprivileged user it
	// becomes (with that user's groups) as Run starts, after RunWithMesh
	// has bound its ports; the data directory is given to that user. ""
	// keeps the agent's identity (tests, and agents not started as root).
	DropTo string
	// Version is the agent's version, reported at enrolment.
	Version string
	// PushBatch bounds one push (default 500 results).
	PushBatch int
	// SpoolMaxBytes bounds the spool (default 256 MiB).
	SpoolMaxBytes int64
	// PluginKeysFile names a file of trusted public keys (package
	// plugins/sign's text form, one per line): with it, the agent runs
	// only plugin packages signed by one of them. "" checks hashes only.
	PluginKeysFile string
	// OnResult, when set, sees every result as it is spooled (the mesh's
	// status shares the checks' states); it must be quick.
	OnResult func(wire.Result)
	// OnPlan, when set, sees every new plan the server sends (the mesh
	// follows the plan's mesh settings); it must be quick.
	OnPlan func(wire.Plan)
}

type agent struct {
	dataDir    string
	host       string
	logger     *slog.Logger
	cl         *client.Client
	sp         *spool.Spool
	run        *runner.Runner
	sched      *schedule.Scheduler
	collectors *collect.Registry
	pkgs       *packages
	pushBatch  int
	// appended wakes the pusher when results arrive.
	appended chan struct{}
	onResult func(wire.Result)
	onPlan   func(wire.Plan)
}

// Run enrols if asked to, then runs the agent until ctx ends: it follows the
// plan the server gives, runs plugins one at a time on the schedule's grid,
// spools every result on disk first and pushes the spool to the server,
// trimming it only after the server acknowledged.
func Run(ctx context.Context, opts Options, logger *slog.Logger) error {
	if opts.DataDir == "" {
		return errors.New("no data directory")
	}
	if opts.DropTo != "" {
		if err := dropPrivileges(opts.DropTo, opts.DataDir, logger); err != nil {
			return err
		}
	}
	st, err := loadState(opts.DataDir)
	if opts.EnrollToken != "" {
		if st, err = enroll(ctx, opts, logger); err != nil {
			return err
		}
	} else if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("not enrolled: run once with --server URL --enroll-token TOKEN (from `prophasis token create HOST`)")
	} else if err != nil {
		return err
	}
	logger = logger.With("host", st.Host)
	cl, err := client.New(client.Options{Server: st.Server, CACert: []byte(st.CACert), AllowHTTP: st.AllowHTTP,
		UserAgent: "prophasis-agent/" + opts.Version}, st.Credential)
	if err != nil {
		return err
	}
	sp, err := spool.Open(filepath.Join(opts.DataDir, "spool"), spool.Options{MaxBytes: opts.SpoolMaxBytes}, logger)
	if err != nil {
		return err
	}
	defer sp.Close()
	a := &agent{
		dataDir: opts.DataDir, host: st.Host, logger: logger, cl: cl, sp: sp,
		collectors: collect.Default(), pushBatch: opts.PushBatch, appended: make(chan struct{}, 1),
		onResult: opts.OnResult, onPlan: opts.OnPlan,
	}
	if a.pushBatch <= 0 {
		a.pushBatch = 500
	}
	if a.pkgs, err = newPackages(opts.DataDir, cl.Plugin, logger); err != nil {
		return err
	}
	if opts.PluginKeysFile != "" {
		b, err := os.ReadFile(opts.PluginKeysFile)
		if err != nil {
			return fmt.Errorf("plugin keys: %w", err)
		}
		keys, err := sign.ParsePublicKeys(string(b))
		if err != nil {
			return fmt.Errorf("plugin keys %s: %w", opts.PluginKeysFile, err)
		}
		if len(keys) == 0 {
			return fmt.Errorf("plugin keys %s: no keys in the file", opts.PluginKeysFile)
		}
		if err := a.pkgs.requireSignatures(keys); err != nil {
			return err
		}
		logger.Info("plugin packages must be signed", "keys", len(keys))
	}
	a.run, err = runner.New(runner.Config{Host: st.Host, User: opts.PluginUser, Done: func(_ runner.Job, r wire.Result) { a.spool(r) },
		Logger: logger.With("component", "runner")})
	if err != nil {
		return err
	}
	a.sched = schedule.New(logger.With("component", "schedule"), a.due)

	logger.Info("agent running", "server", st.Server, "version", opts.Version, "spooled", sp.Len())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){
		func(ctx context.Context) { _ = a.sched.Run(ctx) },
		func(ctx context.Context) { _ = a.run.Run(ctx) },
		a.syncPlan,
		a.push,
	} {
		wg.Go(func() { loop(ctx) })
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// enroll trades the enrolment token for a credential and saves the state.
func enroll(ctx context.Context, opts Options, logger *slog.Logger) (state, error) {
	host := opts.Host
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return state{}, fmt.Errorf("host name: %w", err)
		}
		host = h
	}
	cl, err := client.New(client.Options{Server: opts.Server, CASHA256: opts.CASHA256, AllowHTTP: opts.AllowHTTP,
		UserAgent: "prophasis-agent/" + opts.Version}, "")
	if err != nil {
		return state{}, err
	}
	resp, err := cl.Enroll(ctx, opts.EnrollToken, wire.EnrollRequest{Host: host, Version: opts.Version, OS: runtime.GOOS, Arch: runtime.GOARCH})
	if err != nil {
		return state{}, fmt.Errorf("enrol: %w", err)
	}
	st := state{Server: opts.Server, Host: resp.Host, Credential: resp.Credential, CACert: resp.CACert, AllowHTTP: opts.AllowHTTP}
	if err := st.save(opts.DataDir); err != nil {
		return state{}, err
	}
	logger.Info("enrolled", "host", resp.Host, "server", opts.Server, "ca_pinned", resp.CACert != "")
	return st, nil
}

// due hands a schedule event to the runner (or reports it skipped).
func (a *agent) due(ev schedule.Event) {
	if ev.Skipped {
		r := ev.SkippedResult()
		r.Host = a.host
		a.spool(r)
		return
	}
	err := a.run.Submit(runner.Job{Check: ev.Run.Check, Plugin: ev.Run.Plugin, Slot: ev.Slot,
		MaxLateness: ev.Run.MaxLateness.D(), Task: a.task(ev.Run)})
	if err != nil {
		a.logger.Warn("run not queued", "check", ev.Run.Check, "plugin", ev.Run.Plugin, "err", err)
	}
}

// spool appends a result to the spool and wakes the pusher.
func (a *agent) spool(r wire.Result) {
	if a.onResult != nil {
		a.onResult(r)
	}
	if err := a.sp.Append(r); err != nil {
		a.logger.Error("result lost: spool refused it", "check", r.Check, "plugin", r.Plugin, "err", err)
		return
	}
	select {
	case a.appended <- struct{}{}:
	default:
	}
}

// syncPlan long-polls the plan and hands every new one to the scheduler,
// after fetching the plugin packages it needs; packages that could not be
// fetched are retried after each poll (at most the long poll's 50 s later),
// and old ones are removed once the scheduler has the new plan.
func (a *agent) syncPlan(ctx context.Context) {
	etag := ""
	var bo backoff
	var runs []wire.PlanRun
	missing := 0
	for ctx.Err() == nil {
		plan, newETag, changed, err := a.cl.Plan(ctx, etag, 50*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.logger.Warn("plan sync failed", "err", err)
			bo.wait(ctx)
			continue
		}
		bo.reset()
		if !changed {
			if missing > 0 {
				missing = a.pkgs.fetchMissing(ctx, runs)
			}
			continue
		}
		if a.onPlan != nil {
			a.onPlan(plan)
		}
		missing = a.pkgs.fetchMissing(ctx, plan.Runs)
		if err := a.sched.SetPlan(plan.Runs); err != nil {
			a.logger.Error("server sent a plan the agent cannot follow; keeping the current one", "err", err)
		} else {
			a.logger.Info("plan updated", "runs", len(plan.Runs))
			runs = plan.Runs
			a.pkgs.removeUnused(runs)
		}
		etag = newETag
	}
}

// push sends the spool to the server, oldest first, and trims it only after
// the server acknowledged. A batch the server refuses as bad input can never
// succeed and is dropped (logged); every other failure is retried with
// exponential backoff and jitter.
func (a *agent) push(ctx context.Context) {
	var bo backoff
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for ctx.Err() == nil {
		b, err := a.sp.Peek(a.pushBatch)
		if err != nil {
			a.logger.Error("read spool", "err", err)
			bo.wait(ctx)
			continue
		}
		results := b.Results
		if b.Dropped > 0 {
			results = append(results, wire.Result{Host: a.host, Plugin: "prophasis-agent", Timestamp: time.Now().UnixMilli(),
				ExitStatus: 1, Value: ptr(float64(b.Dropped)),
				Message: fmt.Sprintf("%d results were lost: the spool was full or damaged", b.Dropped)})
		}
		if len(results) == 0 {
			select {
			case <-ctx.Done():
			case <-a.appended:
			case <-tick.C:
			}
			continue
		}
		resp, err := a.cl.Push(ctx, results)
		switch {
		case err == nil:
			if len(resp.Rejected) > 0 {
				a.logger.Warn("server rejected results for good", "count", len(resp.Rejected), "first", resp.Rejected[0].Error)
			}
		case errors.Is(err, client.ErrPermanent) && !isAuthError(err):
			a.logger.Error("server refused a batch for good; dropping it", "results", len(results), "err", err)
		default:
			if ctx.Err() == nil {
				a.logger.Warn("push failed; will retry", "results", len(results), "err", err)
				bo.wait(ctx)
			}
			continue
		}
		if err := a.sp.Ack(b); err != nil {
			a.logger.Error("trim spool", "err", err)
		}
		bo.reset()
	}
}

// isAuthError reports a refused credential (revoked, or the server lost
// the agent): not the batch's fault, so it is kept and retried.
func isAuthError(err error) bool {
	var se *client.StatusError
	return errors.As(err, &se) && (se.Code == 401 || se.Code == 403)
}

func ptr(f float64) *float64 { return &f }

// backoff waits exponentially longer, with full jitter, from 1 s to 5 min.
type backoff struct{ n int }

func (b *backoff) reset() { b.n = 0 }

func (b *backoff) wait(ctx context.Context) {
	ceiling := min(time.Second<<min(b.n, 9), 5*time.Minute)
	b.n++
	d := time.Duration(rand.Int64N(int64(ceiling))) + 100*time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

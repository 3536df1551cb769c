package runner_test

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/prophasis/prophasis/agent/runner"
	"github.com/prophasis/prophasis/agent/schedule"
	"github.com/prophasis/prophasis/wire"
)

// The agent wires the schedule to the runner: due events become jobs, events
// the schedule already found too late become skipped results, and every
// result goes to the spool.
func Example() {
	logger := slog.Default()
	spool := func(wire.Result) { /* append to the spool */ }
	pluginDir := "/var/lib/prophasis-agent/plugins"

	r, err := runner.New(runner.Config{
		Host:   "web1",
		Done:   func(_ runner.Job, res wire.Result) { spool(res) },
		Logger: logger,
	})
	if err != nil {
		logger.Error("runner", "err", err)
		return
	}
	s := schedule.New(logger, func(ev schedule.Event) {
		if ev.Skipped {
			res := ev.SkippedResult()
			res.Host = "web1"
			spool(res)
			return
		}
		run := ev.Run
		job := runner.Job{Check: run.Check, Plugin: run.Plugin, Slot: ev.Slot, MaxLateness: run.MaxLateness.D()}
		path := filepath.Join(pluginDir, run.SHA256, run.Entrypoint)
		job.Task = runner.Plugin{
			Exec:  runner.Execution{Path: path, Env: runner.Env(run.Params), Timeout: run.Timeout.D()},
			Parse: runner.DefaultParse, // the parser of run.Kind: nagios, munin, exec
		}
		if err := r.Submit(job); err != nil {
			logger.Warn("run dropped", "err", err)
		}
	})
	_ = s.SetPlan([]wire.PlanRun{ /* from the server */ })

	ctx := context.Background()
	go r.Run(ctx)
	go s.Run(ctx)
}

package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prophasis/prophasis/agent/execjson"
	"github.com/prophasis/prophasis/agent/munin"
	"github.com/prophasis/prophasis/agent/nagios"
	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/agent/runner"
	"github.com/prophasis/prophasis/wire"
)

// task turns a plan entry into the runner's work, by plugin kind.
func (a *agent) task(run wire.PlanRun) runner.Task {
	timeout := run.Timeout.D()
	if run.Kind == "builtin" {
		c, ok := a.collectors.Lookup(run.Entrypoint)
		if !ok {
			return failed(fmt.Sprintf("no built-in collector %q in this agent (it has: %v)", run.Entrypoint, a.collectors.Names()))
		}
		return runner.Collector{Timeout: timeout, Collect: func(ctx context.Context) (wire.Result, error) {
			got, err := c.Collect(ctx)
			if err != nil {
				return wire.Result{}, err
			}
			return wire.Result{Value: got.Value, Message: got.Message, Metrics: got.Metrics}, nil
		}}
	}
	path := run.Entrypoint
	if needsPackage(run) {
		// A program of the plugin's package, fetched when the plan came.
		p, problem := a.pkgs.program(run)
		if problem != "" {
			return failed(problem)
		}
		path = p
	} else if !filepath.IsAbs(path) {
		return failed(fmt.Sprintf("plugin %q: entrypoint %q is not an absolute path on this host, and the plugin has no package", run.Plugin, path))
	}
	exec := runner.Execution{Path: path, Args: run.Args, Env: runner.Env(run.Params), Timeout: timeout}
	switch run.Kind {
	case "nagios":
		return runner.Plugin{Exec: exec, Parse: func(out runner.Output) wire.Result {
			return nagios.Parse(toPluginOut(out, timeout)).Result()
		}}
	case "exec":
		return runner.Plugin{Exec: exec, Parse: func(out runner.Output) wire.Result {
			return execjson.Parse(toPluginOut(out, timeout)).Result()
		}}
	case "munin":
		env := append(munin.Env(munin.DefaultLibDir, filepath.Join(a.dataDir, "munin-state"), run.Plugin), runner.Env(run.Params)...)
		return muninTask{exec: exec, env: env, timeout: timeout}
	}
	return failed(fmt.Sprintf("plugin %q: this agent cannot run plugins of kind %q", run.Plugin, run.Kind))
}

// muninTask runs a Munin plugin twice, "config" then fetch, as munin-node
// does, within one timeout.
type muninTask struct {
	exec    runner.Execution
	env     []string
	timeout time.Duration
}

// Do implements runner.Task.
func (m muninTask) Do(ctx context.Context, x *runner.Executor) wire.Result {
	if m.timeout <= 0 {
		m.timeout = runner.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	start := time.Now()
	cfg := m.exec
	cfg.Env, cfg.Args = m.env, []string{"config"}
	cfgOut := x.Execute(ctx, cfg)
	if cfgOut.Err != nil {
		return wire.Result{ExitStatus: pluginout.StatusUnknown, Message: "munin plugin config run failed: " + cfgOut.Err.Error()}
	}
	if cfgOut.TimedOut {
		return pluginout.TimedOut(toPluginOut(cfgOut, m.timeout)).Result()
	}
	fetch := m.exec
	fetch.Env, fetch.Args = m.env, nil
	fetch.Timeout = max(m.timeout-time.Since(start), time.Millisecond)
	fetchOut := x.Execute(ctx, fetch)
	parsed, _ := munin.Parse(toPluginOut(cfgOut, m.timeout), toPluginOut(fetchOut, m.timeout))
	return parsed.Result()
}

// failed is a task that reports, as an unknown result, why a run cannot
// happen, so the problem shows on the server rather than in a log only.
type failed string

// Do implements runner.Task.
func (f failed) Do(context.Context, *runner.Executor) wire.Result {
	return wire.Result{ExitStatus: pluginout.StatusUnknown, Message: string(f)}
}

// toPluginOut hands a run's output to a parser. Truncated stays unset: the
// runner notes truncation in the message itself.
func toPluginOut(out runner.Output, timeout time.Duration) pluginout.Output {
	return pluginout.Output{
		Stdout: out.Stdout, Stderr: out.Stderr, ExitCode: out.ExitCode,
		TimedOut: out.TimedOut, Timeout: timeout,
	}
}

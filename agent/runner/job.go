package runner

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// Job is one run to do: a plugin process or a built-in collector, at its
// place in the schedule.
type Job struct {
	// Check and Plugin name the run; they are copied into the result.
	Check, Plugin string
	// Slot is the grid point the run belongs to: the queue runs the
	// earliest slot first. Zero means the time of Submit (an ad-hoc run).
	Slot time.Time
	// MaxLateness is how long after Slot the run may start; a job that
	// waited longer in the queue is not run but reported as skipped. Zero
	// means no limit.
	MaxLateness time.Duration
	// Task is the work.
	Task Task
}

// Task is the work of a job. The runner calls Do from its own goroutine,
// one task at a time; Do must return soon after ctx is done. The runner sets
// the result's Host, Check, Plugin, Timestamp and Duration.
type Task interface {
	Do(ctx context.Context, x *Executor) wire.Result
}

// TaskFunc is a Task made of a function, for kinds that need more than one
// process per run: a Munin plugin is run with "config", then without
// arguments, both inside one job so nothing runs in between. Each call of
// x.Execute gets the executor's timeout, cap and user.
type TaskFunc func(ctx context.Context, x *Executor) wire.Result

// Do calls f.
func (f TaskFunc) Do(ctx context.Context, x *Executor) wire.Result { return f(ctx, x) }

// Plugin is a Task that runs a plugin process and turns its output into a
// result.
type Plugin struct {
	Exec Execution
	// Parse converts the output of a run that started and did not time
	// out (the plugin kind's parser: Nagios, Munin, JSON); nil means
	// DefaultParse.
	Parse func(Output) wire.Result
}

// Do runs the plugin. A plugin that cannot start, times out or is killed by
// a signal gives an unknown result (exit status 3) saying so, without
// calling Parse; a
// truncated output is parsed as far as it goes and the message notes it.
func (p Plugin) Do(ctx context.Context, x *Executor) wire.Result {
	out := x.Execute(ctx, p.Exec)
	switch {
	case out.Err != nil:
		return wire.Result{ExitStatus: 3, Message: fmt.Sprintf("cannot run plugin: %v", out.Err)}
	case out.TimedOut:
		return timedOut(roundTimeout(p.Exec.Timeout))
	case out.Signal != 0:
		return wire.Result{ExitStatus: 3, Message: fmt.Sprintf("plugin killed by signal %d (%s)", int(out.Signal), out.Signal)}
	}
	parse := p.Parse
	if parse == nil {
		parse = DefaultParse
	}
	res := parse(out)
	if out.Truncated {
		note := "output truncated at " + formatSize(x.outputCap)
		if res.Message == "" {
			res.Message = note
		} else {
			res.Message += " (" + note + ")"
		}
	}
	return res
}

func roundTimeout(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultTimeout
	}
	return d.Round(time.Millisecond)
}

// DefaultParse is the parser of last resort: the exit status as the plugin
// gave it and the first line of stdout as the message.
func DefaultParse(out Output) wire.Result {
	line, _, _ := bytes.Cut(out.Stdout, []byte("\n"))
	return wire.Result{ExitStatus: out.ExitCode, Message: string(bytes.TrimSpace(line))}
}

// Collector is a Task that runs a built-in collector, a Go function inside
// the agent. It goes through the same queue as plugins, so a collector never
// overlaps a plugin either.
type Collector struct {
	// Timeout bounds the collector; zero means DefaultTimeout.
	Timeout time.Duration
	// Collect measures; its ctx ends at the timeout and it must return
	// then. An error gives an unknown result saying so.
	Collect func(ctx context.Context) (wire.Result, error)
}

// Do runs the collector. One that ignores its context past the timeout is
// abandoned (it cannot be killed) and reported as timed out, so it cannot
// stop the queue.
func (c Collector) Do(ctx context.Context, x *Executor) wire.Result {
	timeout := roundTimeout(c.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type outcome struct {
		res wire.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := c.Collect(ctx)
		done <- outcome{res, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		// A collector that honours ctx returns at once; wait a moment for
		// it, then give up on it.
		select {
		case o = <-done:
		case <-time.After(collectorGrace):
			if ctx.Err() == context.DeadlineExceeded {
				x.logger.Warn("collector ignores its context; abandoned", "timeout", timeout)
			}
			return timedOut(timeout)
		}
	}
	if o.err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return timedOut(timeout)
		}
		return wire.Result{ExitStatus: 3, Message: fmt.Sprintf("collector failed: %v", o.err)}
	}
	return o.res
}

// collectorGrace is how long a collector may take to return after its
// context ends before it is abandoned.
const collectorGrace = 100 * time.Millisecond

func timedOut(timeout time.Duration) wire.Result {
	return wire.Result{ExitStatus: 3, Message: fmt.Sprintf("timed out after %s", timeout)}
}

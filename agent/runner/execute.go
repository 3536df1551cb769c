package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// DefaultTimeout bounds a run whose Execution has no Timeout: long enough for
// a slow check over the network, short enough that one hung plugin does not
// hold up the queue of a host for long.
const DefaultTimeout = 10 * time.Second

// DefaultOutputCap is how much of a plugin's stdout (and, separately, of its
// stderr) is kept: far more than any Nagios, Munin or JSON plugin prints,
// small enough that a runaway plugin cannot grow the agent.
const DefaultOutputCap = 64 << 10

// drainGrace is how long the output pipes may stay open after the plugin's
// process group is gone: only a process that left the group (setsid) can
// hold them, and it must not hold up the queue.
const drainGrace = 500 * time.Millisecond

// Execution is one plugin process to run.
type Execution struct {
	// Path is the executable, an absolute path; it is not looked up in PATH.
	Path string
	// Args are the arguments after the program name.
	Args []string
	// Env is the whole environment, as "KEY=value"; nil means Env(nil). The
	// agent's own environment is never passed on.
	Env []string
	// Dir is the working directory; empty means the directory of Path.
	Dir string
	// Timeout bounds the run; zero means DefaultTimeout.
	Timeout time.Duration
}

// Output is what one Execution produced.
type Output struct {
	// Stdout and Stderr hold at most the executor's output cap each.
	Stdout, Stderr []byte
	// ExitCode is the exit status, or -1 when the process was killed by a
	// signal or did not start.
	ExitCode int
	// Signal is the signal that ended the process, when one did (the
	// runner's SIGKILL on timeout, or a crash of the plugin); zero otherwise.
	Signal syscall.Signal
	// TimedOut is set when the run hit its timeout and its process group
	// was killed.
	TimedOut bool
	// Truncated is set when stdout or stderr was longer than the cap; the
	// rest was read and dropped.
	Truncated bool
	// Duration is from start until the plugin's main process ended.
	Duration time.Duration
	// PID is the plugin's process id, which is also its process group id;
	// zero when it did not start.
	PID int
	// Err is set when the process could not start (a missing executable,
	// a bad working directory) or when ctx was cancelled (it then wraps
	// ctx.Err()). A non-zero exit status is not an error.
	Err error
}

// Executor runs plugin processes: each in a process group of its own, as an
// unprivileged user when the agent is root, with stdin from /dev/null,
// capped output and a timeout after which the whole group is killed. When
// the main process ends, whatever is left of its group (background children,
// grandchildren) is killed too, so no plugin process outlives its run.
//
// An Executor is safe for use by several goroutines, but the runner calls it
// from one goroutine so that plugins never overlap.
type Executor struct {
	logger    *slog.Logger
	outputCap int
	cred      *syscall.Credential // nil: run as the agent's own user
}

// NewExecutor returns an Executor keeping up to outputCap bytes of each
// output stream (zero means DefaultOutputCap). When the agent runs as root,
// plugins run as the named user (empty means "nobody") with its group and
// supplementary groups; an unknown user, or one that is root itself, is an
// error, since plugins must never run as root. Otherwise plugins run as the
// agent's own user and the name is ignored.
//
// On Linux NewExecutor makes the agent a child subreaper, so that a plugin's
// orphaned descendants are reparented to the agent rather than to init (which
// in a container may never reap them) and can be killed and reaped with the
// plugin's group.
func NewExecutor(userName string, outputCap int, logger *slog.Logger) (*Executor, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if outputCap < 0 {
		return nil, fmt.Errorf("negative output cap %d", outputCap)
	}
	x := &Executor{logger: logger, outputCap: cmp.Or(outputCap, DefaultOutputCap)}
	if os.Geteuid() == 0 {
		cred, err := LookupCredential(cmp.Or(userName, "nobody"))
		if err != nil {
			return nil, fmt.Errorf("plugin user: %w", err)
		}
		x.cred = cred
	}
	if err := becomeSubreaper(); err != nil {
		// Not fatal: plugins are still killed, only their orphans may
		// linger as zombies where init does not reap.
		logger.Warn("cannot become child subreaper", "err", err)
	}
	return x, nil
}

// Execute runs e and returns its output. It returns when the plugin's main
// process has ended and its process group is gone, at the latest shortly
// after the timeout or ctx's end.
func (x *Executor) Execute(ctx context.Context, e Execution) Output {
	start := time.Now()
	out := Output{ExitCode: -1}
	timeout := cmp.Or(e.Timeout, DefaultTimeout)
	if err := ctx.Err(); err != nil {
		out.Err = fmt.Errorf("run %s: %w", e.Path, err)
		return out
	}
	cmd, stdout, stderr, err := x.start(e)
	if err != nil {
		out.Err = err
		out.Duration = time.Since(start)
		return out
	}
	pgid := cmd.Process.Pid
	out.PID = pgid

	type captured struct {
		b         []byte
		truncated bool
	}
	readAll := func(f *os.File, c chan<- captured) {
		b, t := capture(f, x.outputCap)
		c <- captured{b, t}
	}
	outc, errc := make(chan captured, 1), make(chan captured, 1)
	go readAll(stdout, outc)
	go readAll(stderr, errc)
	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var werr error
	select {
	case werr = <-waitc:
	case <-timer.C:
		out.TimedOut = true
		killGroup(pgid)
		werr = <-waitc
	case <-ctx.Done():
		out.Err = fmt.Errorf("run %s: %w", e.Path, ctx.Err())
		killGroup(pgid)
		werr = <-waitc
	}
	out.Duration = time.Since(start)
	if ps := cmd.ProcessState; ps != nil {
		out.ExitCode = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			out.Signal = ws.Signal()
		}
	}
	var exitErr *exec.ExitError
	if werr != nil && !errors.As(werr, &exitErr) && out.Err == nil {
		out.Err = fmt.Errorf("wait %s: %w", e.Path, werr)
	}
	x.clearGroup(pgid)

	// The group is gone, so the pipes are at EOF, unless a process that
	// left the group still holds them.
	deadline := time.Now().Add(drainGrace)
	stdout.SetReadDeadline(deadline)
	stderr.SetReadDeadline(deadline)
	o, se := <-outc, <-errc
	stdout.Close()
	stderr.Close()
	out.Stdout, out.Stderr = o.b, se.b
	out.Truncated = o.truncated || se.truncated
	return out
}

// start starts e's process and returns it with the read ends of its stdout
// and stderr.
func (x *Executor) start(e Execution) (*exec.Cmd, *os.File, *os.File, error) {
	env := e.Env
	if env == nil {
		env = Env(nil)
	}
	stdin, err := os.Open(os.DevNull)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	defer stdin.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, nil, nil, fmt.Errorf("stderr pipe: %w", err)
	}
	var cmd *exec.Cmd
	for attempt := 0; ; attempt++ {
		cmd = &exec.Cmd{
			Path:   e.Path,
			Args:   append([]string{e.Path}, e.Args...),
			Env:    env,
			Dir:    cmp.Or(e.Dir, filepath.Dir(e.Path)),
			Stdin:  stdin,
			Stdout: outW,
			Stderr: errW,
			SysProcAttr: &syscall.SysProcAttr{
				Setpgid:    true,
				Credential: x.cred,
			},
		}
		err = cmd.Start()
		// ETXTBSY: a plugin file just written may still be open for
		// writing in a child forked elsewhere in the agent between its
		// fork and exec; that lasts microseconds.
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || attempt == 3 {
			break
		}
		time.Sleep(time.Duration(10<<attempt) * time.Millisecond)
	}
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, nil, nil, fmt.Errorf("start %s: %w", e.Path, err)
	}
	return cmd, outR, errR, nil
}

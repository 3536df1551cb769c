package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/prophasis/prophasis/store"
)

// CommandConfig configures a command: a program run once per alert with
// the Alert's JSON on stdin, without a shell. It is the way to add SMS,
// phone calls or anything else.
type CommandConfig struct {
	// Path is the program, an absolute path.
	Path string `json:"path" yaml:"path"`
	// Args are its arguments, passed as they are.
	Args []string `json:"args,omitempty" yaml:"args,omitempty"`
	// Env names the server's environment variables the program gets
	// (PATH, HOME, a provider's API key); it gets no others besides the
	// PROPHASIS_ALERT_* ones.
	Env []string `json:"env,omitempty" yaml:"env,omitempty"`
	// Timeout bounds one run; 0 means 30 s, at most 10 m. At the timeout
	// the program's whole process group is killed.
	Timeout store.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// Limits of commands.
const (
	defaultCommandTimeout = 30 * time.Second
	maxCommandTimeout     = 10 * time.Minute
	maxCommandArgs        = 64
	maxCommandArgLen      = 4096
	// maxStderr is how much of the program's stderr an error quotes.
	maxStderr = 512
	// commandWaitDelay is how long after the kill the output pipes may
	// stay open (a grandchild that left the process group holds them).
	commandWaitDelay = 2 * time.Second
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks the settings.
func (c CommandConfig) Validate() error {
	if c.Path == "" {
		return errors.New("path is required")
	}
	if !filepath.IsAbs(c.Path) || strings.ContainsRune(c.Path, 0) {
		return fmt.Errorf("path %q must be absolute (commands run without a shell or a search path)", c.Path)
	}
	if len(c.Args) > maxCommandArgs {
		return fmt.Errorf("args: %d arguments; the limit is %d", len(c.Args), maxCommandArgs)
	}
	for i, a := range c.Args {
		if len(a) > maxCommandArgLen || strings.ContainsRune(a, 0) {
			return fmt.Errorf("args[%d] must be at most %d bytes without NUL", i, maxCommandArgLen)
		}
	}
	for _, e := range c.Env {
		if !envNameRE.MatchString(e) {
			return fmt.Errorf("env: %q is not an environment variable name", e)
		}
		if strings.HasPrefix(e, "PROPHASIS_ALERT_") {
			return fmt.Errorf("env: %s is set by the command module itself", e)
		}
	}
	_, err := timeoutOr("timeout", c.Timeout, defaultCommandTimeout, maxCommandTimeout)
	return err
}

// Command is the command notifier.
type Command struct {
	cfg     CommandConfig
	timeout time.Duration
}

// NewCommand validates c and returns its notifier. The program need not
// exist yet; running it then fails, without retries.
func NewCommand(c CommandConfig) (*Command, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("command: %w", err)
	}
	t, _ := timeoutOr("timeout", c.Timeout, defaultCommandTimeout, maxCommandTimeout)
	return &Command{cfg: c, timeout: t}, nil
}

// Payload implements Payloader: the program's stdin.
func (c *Command) Payload(a Alert) ([]byte, error) { return json.Marshal(a) }

// Notify implements Notifier: exit status 0 is success; anything else,
// including the timeout, is an error worth retrying, quoting the start of
// stderr. A program that cannot be started is not retried.
func (c *Command) Notify(ctx context.Context, a Alert) (bool, error) {
	in, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("command: encode alert: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.cfg.Path, c.cfg.Args...)
	cmd.Stdin = bytes.NewReader(in)
	stderr := &headWriter{max: maxStderr}
	cmd.Stderr = stderr
	cmd.Stdout = &headWriter{max: 0} // read and dropped, so the program never blocks on a full pipe
	cmd.Env = c.env(a)
	cmd.Dir = "/"
	// Its own process group, killed whole: a shell script's children die
	// with it instead of outliving the timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = commandWaitDelay
	err = cmd.Run()
	if err == nil {
		return false, nil
	}
	what := "command " + filepath.Base(c.cfg.Path)
	if cmd.ProcessState == nil { // never started
		return false, fmt.Errorf("%s: %w", what, err)
	}
	msg := strings.TrimSpace(printable(stderr.buf.Bytes(), maxStderr))
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("%s: killed after %s", what, store.Duration(c.timeout))
	case ctx.Err() != nil:
		return false, fmt.Errorf("%s: %w", what, ctx.Err())
	default:
		err = fmt.Errorf("%s: %s", what, cmd.ProcessState)
	}
	if msg != "" {
		err = fmt.Errorf("%w: stderr: %s", err, msg)
	}
	return true, err
}

// env is the program's environment: the allowed variables of the server's,
// then facts of the alert for programs that only want a line of text.
func (c *Command) env(a Alert) []string {
	var out []string
	for _, k := range c.cfg.Env {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return append(out,
		"PROPHASIS_ALERT_ID="+a.ID,
		"PROPHASIS_ALERT_STATUS="+a.Status,
		"PROPHASIS_ALERT_STATE="+a.State,
		"PROPHASIS_ALERT_TITLE="+a.Title(),
	)
}

// headWriter keeps the first max bytes written and drops the rest.
type headWriter struct {
	max int
	buf bytes.Buffer
}

func (w *headWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

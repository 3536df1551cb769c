package pluginout

import (
	"fmt"
	"strings"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// Exit statuses of a result, as Nagios defines them and wire.Result.ExitStatus
// carries them.
const (
	StatusOK       = 0
	StatusWarning  = 1
	StatusCritical = 2
	StatusUnknown  = 3
)

// Limits every parser applies, so one misbehaving plugin cannot make a result
// the server refuses or a spool entry of unbounded size.
const (
	// MaxMetrics bounds the metrics of one result; further ones are dropped
	// and noted.
	MaxMetrics = 1000
	// MaxMessage bounds a result's message in bytes (before notes).
	MaxMessage = 4096
	// MaxNotes is how many notes [Parsed.Result] spells out; the rest are
	// counted.
	MaxNotes = 5
)

// Output is one finished plugin process as the runner hands it over.
type Output struct {
	// Stdout is what the plugin printed, at most the runner's cap (64 KiB);
	// it may be anything, binary garbage included.
	Stdout []byte
	// Stderr is the plugin's error output (also capped); parsers use its
	// first line only to explain a failure.
	Stderr []byte
	// ExitCode is the process's exit code; -1 when it was killed by a signal.
	ExitCode int
	// TimedOut says the runner killed the plugin at its timeout; parsers
	// then return [TimedOut] without reading the output.
	TimedOut bool
	// Timeout is the limit that was hit, for the message; zero if unknown.
	Timeout time.Duration
	// Truncated says output beyond the cap was dropped; parsers then add the
	// note "output truncated". Leave it false when the caller notes the
	// truncation itself (agent/runner's Plugin task does).
	Truncated bool
}

// Parsed is what a parser makes of a plugin run: the fields of a wire.Result
// that come from the plugin itself. The runner adds host, plugin, check,
// timestamp and duration.
type Parsed struct {
	// Message is the plugin's message, one line, valid UTF-8.
	Message string
	// ExitStatus is StatusOK .. StatusUnknown.
	ExitStatus int
	// Value is the plugin's main value, nil when it has none.
	Value *float64
	// Metrics are the extra values, named by the Prometheus rules
	// ([ValidName]), every value finite.
	Metrics []wire.Metric
	// Notes say what was wrong with the output but did not spoil the result
	// (a perfdata item skipped, output truncated). [Parsed.Result] appends
	// them to the message.
	Notes []string
}

// Result returns a wire.Result holding p's fields, with the notes appended to
// the message in parentheses. The caller fills in the rest.
func (p Parsed) Result() wire.Result {
	msg := p.Message
	if len(p.Notes) > 0 {
		notes := p.Notes
		more := 0
		if len(notes) > MaxNotes {
			more = len(notes) - MaxNotes
			notes = notes[:MaxNotes]
		}
		n := strings.Join(notes, "; ")
		if more > 0 {
			n += fmt.Sprintf("; %d more", more)
		}
		if msg != "" {
			msg += " "
		}
		msg += "(" + n + ")"
	}
	return wire.Result{
		Value:      p.Value,
		Message:    msg,
		Metrics:    p.Metrics,
		ExitStatus: p.ExitStatus,
	}
}

// TimedOut returns the result of a run the runner killed at its timeout:
// unknown, whatever the plugin printed before, since a partial output cannot
// be trusted.
func TimedOut(out Output) Parsed {
	msg := "plugin timed out"
	if out.Timeout > 0 {
		msg = fmt.Sprintf("plugin timed out after %s", out.Timeout)
	}
	return Parsed{Message: msg, ExitStatus: StatusUnknown}
}

// CommonNotes returns the notes every kind adds for out: output truncated.
func CommonNotes(out Output) []string {
	if out.Truncated {
		return []string{"output truncated"}
	}
	return nil
}

// StderrLine returns the first non-blank line of out.Stderr as clean text
// (at most 200 bytes), or "" when there is none; parsers add it to the message
// of a failed run.
func StderrLine(out Output) string {
	return FirstLine(out.Stderr, 200)
}

package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/prophasis/prophasis/wire"
)

// DefaultSyslogTailBytes is how much of the end of the syslog file the
// syslog collector reads: 64 KiB is some hundreds of lines, minutes to hours
// of a normal host's log, read in well under a millisecond.
const DefaultSyslogTailBytes = 64 << 10

// syslogPaths are tried in order: Debian/Ubuntu's rsyslog file, then Red
// Hat's and the BSD-style one.
var syslogPaths = []string{"var/log/syslog", "var/log/messages"}

// syslogShownLines is how many of the last error lines the message quotes,
// and syslogLineMax how long each may be.
const (
	syslogShownLines = 3
	syslogLineMax    = 200
)

// errorWords mark an error line in a log without severities: rsyslog's
// default format does not write the priority. Matched case-insensitively.
var errorWords = []string{
	"error", "fail", "crit", "alert", "emerg", "panic", "fatal", "segfault",
	"out of memory", "oom-kill", "call trace", "i/o error", "denied",
}

// IsErrorLine reports whether a syslog line looks like an error: a
// "<PRI>" prefix with severity err (3) or worse, or one of the typical words
// (error, failed, critical, panic, segfault, out of memory...).
func IsErrorLine(line string) bool {
	return isErrorLine([]byte(line), nil)
}

// isErrorLine is IsErrorLine on bytes; scratch is reused for the lower-case
// copy, so scanning a window of the log allocates nothing per line.
func isErrorLine(line, scratch []byte) bool {
	if len(line) > 2 && line[0] == '<' {
		if end := bytes.IndexByte(line[:min(len(line), 5)], '>'); end > 1 {
			if pri, err := strconv.Atoi(string(line[1:end])); err == nil && pri >= 0 {
				return pri%8 <= 3
			}
		}
	}
	lower := scratch[:0]
	for _, c := range line {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower = append(lower, c)
	}
	for _, w := range errorWords {
		if bytes.Contains(lower, []byte(w)) {
			return true
		}
	}
	return false
}

// ErrorLines returns the error lines of a log excerpt. When partial is true
// the excerpt starts mid-file, and its first (probably cut) line is dropped.
func ErrorLines(b []byte, partial bool) []string {
	if partial {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		} else {
			b = nil
		}
	}
	var out []string
	scratch := make([]byte, 0, 256)
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		line = bytes.TrimRight(line, "\r")
		if len(line) > 0 && isErrorLine(line, scratch) {
			out = append(out, string(line))
		}
	}
	return out
}

// syslogCollector reports the error lines at the end of the syslog file; its
// value is their count, its message quotes the last few. Without a syslog
// file (a journald-only system) it reports no value and says so: reading
// the binary journal, or running journalctl, is out of scope for a
// collector that must stay small and start no process.
type syslogCollector struct {
	env  env
	tail int
}

func (*syslogCollector) Name() string { return "syslog" }

func (c *syslogCollector) Collect(context.Context) (Collected, error) {
	for _, p := range syslogPaths {
		b, partial, err := readTail(c.env.path(p), c.tail)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Collected{}, fmt.Errorf("read %s: %w", p, err)
		}
		lines := ErrorLines(b, partial)
		col := Collected{
			Value:   ptr(float64(len(lines))),
			Metrics: []wire.Metric{gauge("error_lines", "", float64(len(lines)))},
		}
		if len(lines) == 0 {
			col.Message = fmt.Sprintf("no error lines in the last %s of /%s", humanBytes(float64(len(b))), p)
			return col, nil
		}
		shown := lines[max(0, len(lines)-syslogShownLines):]
		quoted := make([]string, len(shown))
		for i, l := range shown {
			quoted[i] = truncate(sanitizeLine(l), syslogLineMax)
		}
		col.Message = fmt.Sprintf("%d error lines in the last %s of /%s; last: %s",
			len(lines), humanBytes(float64(len(b))), p, strings.Join(quoted, " | "))
		return col, nil
	}
	return Collected{Message: "no syslog file found (/var/log/syslog, /var/log/messages)"}, nil
}

// sanitizeLine replaces control characters, so a log line cannot break the
// message's layout or a terminal.
func sanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// readTail reads at most n bytes from the end of a file; partial says
// whether the file was longer.
func readTail(path string, n int) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	off := max(st.Size()-int64(n), 0)
	buf := make([]byte, min(st.Size(), int64(n)))
	m, err := f.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return nil, false, err
	}
	return buf[:m], off > 0, nil
}

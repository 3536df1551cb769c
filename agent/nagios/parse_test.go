package nagios

import (
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/agent/pluginout"
)

func TestParse(t *testing.T) {
	f := func(stdout string, code int, wantMsg string, wantStatus int, wantMetrics string) {
		t.Helper()
		p := Parse(pluginout.Output{Stdout: []byte(stdout), ExitCode: code})
		if p.Message != wantMsg || p.ExitStatus != wantStatus || show(p.Metrics) != wantMetrics {
			t.Errorf("Parse(%q, %d) = %q, %d,\n%s\nwant %q, %d,\n%s", stdout, code,
				p.Message, p.ExitStatus, show(p.Metrics), wantMsg, wantStatus, wantMetrics)
		}
	}
	f("OK: all fine\n", 0, "OK: all fine", 0, "")
	f("WARNING - 3 users | users=3;2;5;0\n", 1, "WARNING - 3 users", 1, "users 3\nusers_warn 2\nusers_crit 5\nusers_min 0")
	f("CRITICAL: bad\r\n", 2, "CRITICAL: bad", 2, "")
	f("UNKNOWN: no idea", 3, "UNKNOWN: no idea", 3, "")
	f("", 0, "plugin printed nothing", 0, "")
	f(" \n\n", 2, "plugin printed nothing", 2, "")
	f("sh: check_foo: not found\n", 127, "plugin exited with code 127, not a Nagios status: sh: check_foo: not found", 3, "")
	f("", -1, "plugin was killed by a signal: plugin printed nothing", 3, "")
	f("OK | a=1 b=2\n", 4, "plugin exited with code 4, not a Nagios status: OK", 3, "a 1\nb 2")
	f("|a=1", 0, "", 0, "a 1")
	// Long output: perfdata after the first '|' of a later line, through the end.
	f("DISK OK - free space | /=1B\n/var is fine\n/home is fine | /var=2B\n/home=3B\n", 0,
		"DISK OK - free space", 0, "path{label=\"/\"} 1 bytes\npath{label=\"/var\"} 2 bytes\npath{label=\"/home\"} 3 bytes")
	f("OK\nlong text\nmore | a=1\nb=2c", 0, "OK", 0, "a 1\nb 2 counter")
	// Binary garbage: a clean one-line message, no metrics, no panic.
	f("\xff\xfe\x00OK\x07 | \xff=1\n", 0, "\uFFFD\uFFFD OK", 0, "_{label=\"\uFFFD\"} 1")
}

func TestParseValueAndNotes(t *testing.T) {
	p := Parse(pluginout.Output{Stdout: []byte("PROCS OK: 70 processes | a=U procs=70;;;0; junk\n"), Truncated: true})
	if p.Value == nil || *p.Value != 70 {
		t.Fatalf("value %v, want 70 (the first readable item)", p.Value)
	}
	if len(p.Notes) != 3 || p.Notes[0] != "output truncated" {
		t.Fatalf("notes %q, want truncation and two unreadable items", p.Notes)
	}
	r := p.Result()
	if !strings.HasPrefix(r.Message, "PROCS OK: 70 processes (output truncated; perfdata \"a\": value unknown (U); ") {
		t.Fatalf("result message %q does not carry the notes", r.Message)
	}
	if r.ExitStatus != 0 || len(r.Metrics) != 2 || *r.Value != 70 {
		t.Fatalf("result %+v", r)
	}

	if p := Parse(pluginout.Output{Stdout: []byte("OK: fine\n")}); p.Value != nil {
		t.Fatalf("value %v without perfdata, want nil", *p.Value)
	}
	p = Parse(pluginout.Output{Stdout: []byte("OK: par"), TimedOut: true, Timeout: 10 * time.Second})
	if p.ExitStatus != 3 || p.Message != "plugin timed out after 10s" {
		t.Fatalf("timed out run: %+v", p)
	}
	p = Parse(pluginout.Output{Stderr: []byte("\ncheck_x: cannot open /proc\n"), ExitCode: 3})
	if p.Message != "plugin printed nothing; stderr: check_x: cannot open /proc" {
		t.Fatalf("message %q does not quote stderr", p.Message)
	}
	long := strings.Repeat("x", 10000)
	if p := Parse(pluginout.Output{Stdout: []byte(long)}); len(p.Message) > pluginout.MaxMessage {
		t.Fatalf("message of %d bytes, above the limit", len(p.Message))
	}
}

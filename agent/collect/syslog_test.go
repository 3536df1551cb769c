//go:build linux

package collect

import (
	"strings"
	"testing"
)

func TestIsErrorLine(t *testing.T) {
	f := func(line string, want bool) {
		t.Helper()
		if got := IsErrorLine(line); got != want {
			t.Errorf("IsErrorLine(%q) = %v, want %v", line, got, want)
		}
	}
	f("<3>Nov 21 kernel: something", true)    // err
	f("<0>1 2026-11-21T00:00Z h app", true)   // emerg
	f("<30>daemon notice", false)             // daemon.info
	f("<27>daemon thing", true)               // daemon.err
	f("<14>1 h app error in the text", false) // the priority rules over words
	f("Nov 21 00:00:01 h kernel: EXT4-fs error (device sda2)", true)
	f("Nov 21 00:00:01 h sshd[1]: Failed password for root", true)
	f("Nov 21 00:00:01 h kernel: Out of memory: Killed process 4321", true)
	f("Nov 21 00:00:01 h kernel: app[12]: segfault at 0 ip 0", true)
	f("Nov 21 00:00:01 h CRON[2]: (root) CMD (true)", false)
	f("Nov 21 00:00:01 h systemd[1]: Started Session 4 of user alice.", false)
	f("<x>text", false)
	f("<", false)
	f("", false)
}

func TestErrorLinesPartial(t *testing.T) {
	in := []byte("error: half a line\nok line\nreal error here\nfatal: last, no newline")
	if got := ErrorLines(in, true); len(got) != 2 || got[0] != "real error here" {
		t.Errorf("partial: %q", got)
	}
	if got := ErrorLines(in, false); len(got) != 3 {
		t.Errorf("whole: %q", got)
	}
	if got := ErrorLines([]byte("error without newline"), true); len(got) != 0 {
		t.Errorf("a partial excerpt of one cut line: %q", got)
	}
}

func TestSyslogTail(t *testing.T) {
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("old error that falls out of the window\n")
	for range 100 {
		b.WriteString("Nov 21 00:00:01 h systemd[1]: Started something.\n")
	}
	b.WriteString("Nov 21 00:00:02 h app[3]: ERROR " + strings.Repeat("x", 300) + "\x1b[31m\n")
	b.WriteString("Nov 21 00:00:03 h app[3]: fatal: the end\n")
	writeFile(t, root, "var/log/messages", b.String())
	r := NewRegistry(Options{Root: root, SyslogTailBytes: 1024})
	col := collect(t, r, "syslog")
	if *col.Value != 2 {
		t.Errorf("value %v, want 2 (the old error is outside the window): %q", *col.Value, col.Message)
	}
	if !strings.HasPrefix(col.Message, "2 error lines in the last 1.0 KiB of /var/log/messages; last: Nov 21 00:00:02 h app[3]: ERROR xxx") ||
		!strings.HasSuffix(col.Message, "x… | Nov 21 00:00:03 h app[3]: fatal: the end") || strings.Contains(col.Message, "\x1b") {
		t.Errorf("message %q", col.Message)
	}
	// /var/log/syslog is preferred; a clean one reports zero.
	writeFile(t, root, "var/log/syslog", "Nov 21 00:00:01 h systemd[1]: Started something.\n")
	col = collect(t, r, "syslog")
	if *col.Value != 0 || col.Message != "no error lines in the last 49 B of /var/log/syslog" {
		t.Errorf("%v %q", *col.Value, col.Message)
	}
}

func TestSyslogUnreadable(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "var/log/syslog/not-a-file", "")
	c, _ := NewRegistry(Options{Root: root}).Lookup("syslog")
	if _, err := c.Collect(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "read var/log/syslog: ") {
		t.Errorf("syslog is a directory: error %v", err)
	}
}

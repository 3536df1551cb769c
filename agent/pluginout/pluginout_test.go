package pluginout

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	f := func(in string, max int, want string) {
		t.Helper()
		if got := Text([]byte(in), max); got != want {
			t.Errorf("Text(%q, %d) = %q, want %q", in, max, got, want)
		}
	}
	f("  OK: fine \r", 100, "OK: fine")
	f("a\tb\x00c\nd", 100, "a b c d")
	f("\xff\xfeok", 100, "\uFFFD\uFFFDok")
	f("abcdef", 4, "a…")
	f("éééé", 7, "éé…") // never cut inside a rune
	f("abc", 2, "ab")
	f("ééé", 1, "")
	f("", 10, "")
}

func TestFirstLine(t *testing.T) {
	if got := FirstLine([]byte("\n  \r\nsecond line\nthird"), 100); got != "second line" {
		t.Fatalf("FirstLine = %q", got)
	}
	if got := FirstLine([]byte(" \n\t"), 100); got != "" {
		t.Fatalf("FirstLine of blanks = %q", got)
	}
}

func TestNames(t *testing.T) {
	for _, s := range []string{"a", "_", "load1", "A_b_9", strings.Repeat("x", MaxNameLen)} {
		if !ValidName(s) {
			t.Errorf("ValidName(%q) = false", s)
		}
	}
	for _, s := range []string{"", "1a", "a-b", "a b", "a:b", "é", strings.Repeat("x", MaxNameLen+1)} {
		if ValidName(s) {
			t.Errorf("ValidName(%q) = true", s)
		}
	}
	if ValidLabelName("__name__") || !ValidLabelName("_x") {
		t.Errorf("ValidLabelName: __ must be refused, _x accepted")
	}
	f := func(in, want string) {
		t.Helper()
		got := SanitizeName(in)
		if got != want || !ValidName(got) {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
	f("load1", "load1")
	f("time taken", "time_taken")
	f("load (1m)", "load_1m")
	f("1min", "_1min")
	f("/var/log", "var_log")
	f("rta-ms", "rta_ms")
	f("__x__", "__x__")
	f("", "_")
	f("///", "_")
	f("naïve", "na_ve")
	f(strings.Repeat("ab", MaxNameLen), strings.Repeat("ab", MaxNameLen/2))
}

func TestResult(t *testing.T) {
	v := 2.0
	p := Parsed{Message: "OK", ExitStatus: 1, Value: &v, Notes: []string{"a", "b", "c", "d", "e", "f", "g"}}
	r := p.Result()
	if r.Message != "OK (a; b; c; d; e; 2 more)" || r.ExitStatus != 1 || r.Value != &v {
		t.Fatalf("Result = %+v", r)
	}
	if r := (Parsed{Notes: []string{"output truncated"}}).Result(); r.Message != "(output truncated)" {
		t.Fatalf("Result without message = %q", r.Message)
	}
	if r := (Parsed{Message: "fine"}).Result(); r.Message != "fine" {
		t.Fatalf("Result without notes = %q", r.Message)
	}
	if p := TimedOut(Output{Timeout: 1500 * time.Millisecond}); p.ExitStatus != StatusUnknown || p.Message != "plugin timed out after 1.5s" {
		t.Fatalf("TimedOut = %+v", p)
	}
	if n := CommonNotes(Output{Truncated: true}); len(n) != 1 {
		t.Fatalf("CommonNotes = %q", n)
	}
	if s := StderrLine(Output{Stderr: []byte("\nerr: \xff" + strings.Repeat("x", 500))}); len(s) > 200 || !utf8.ValidString(s) || !strings.HasPrefix(s, "err: \uFFFD") {
		t.Fatalf("StderrLine = %q", s)
	}
}

package manifest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// goodJSON is the package doc's example, without the comments.
const goodJSON = `{
  "manifest_version": 1,
  "name": "disk",
  "version": "1.2.0",
  "description": "Disk usage per mount",
  "author": "Jane Doe <jane@example.com>",
  "license": "MIT",
  "homepage": "https://example.com/disk",
  "kind": "exec",
  "entrypoint": "bin/disk.sh",
  "args": ["-p", "${mount}", "$$HOME"],
  "platforms": ["linux/amd64", "linux/arm64"],
  "interval": "1m",
  "timeout": "10s",
  "parameters": [
    {"name": "mount", "type": "string", "default": "/", "description": "the mount point"},
    {"name": "warn", "type": "float", "default": 85.5},
    {"name": "count", "type": "int", "default": 3},
    {"name": "verbose", "type": "bool", "default": false},
    {"name": "grace", "type": "duration", "default": "1d"},
    {"name": "token", "type": "string", "required": true}
  ],
  "history": 10,
  "classifier": "classifier.lua",
  "trend_rules": [
    {"name": "fill", "selector": "prophasis_disk_used_percent", "window": "6h",
     "interval": "5m", "expr": "timeleft(window, 100) < duration(\"24h\") ? \"critical\" : \"ok\""}
  ],
  "graphs": [
    {"metric": "value", "unit": "percent", "help": "used space", "chart": "gauge", "min": 0, "max": 100},
    {"metric": "state", "chart": "state"}
  ]
}`

func mustParse(t *testing.T, s string) Manifest {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseAndValidateGood(t *testing.T) {
	m := mustParse(t, goodJSON)
	if err := m.Validate(); err != nil {
		t.Fatalf("valid manifest refused:\n%v", err)
	}
	if m.Name != "disk" || len(m.Parameters) != 6 || m.Graphs[0].Max == nil || *m.Graphs[0].Max != 100 {
		t.Fatalf("decoded wrongly: %+v", m)
	}
	if got := m.IntervalDuration(); got != time.Minute {
		t.Errorf("IntervalDuration = %s", got)
	}
	if got := (Manifest{}).TimeoutDuration(); got != DefaultTimeout {
		t.Errorf("default TimeoutDuration = %s", got)
	}
	if got := (Manifest{}).HistoryN(); got != DefaultHistory {
		t.Errorf("default HistoryN = %d", got)
	}
	d := Defaults(m)
	want := map[string]string{"mount": "/", "warn": "85.5", "count": "3", "verbose": "false", "grace": "1d"}
	if len(d) != len(want) {
		t.Fatalf("Defaults = %v, want %v", d, want)
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("Defaults[%s] = %q, want %q", k, d[k], v)
		}
	}
	args, err := Substitute(m.Args, d)
	if err != nil || strings.Join(args, " ") != "-p / $HOME" {
		t.Fatalf("Substitute = %q, %v", args, err)
	}
}

func TestParseErrors(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.60q) = %v, want an error containing %q", in, err, want)
		}
	}
	f(``, "empty")
	f(`{"name": "x", "colour": "red"}`, `unknown field "colour"`)
	f(`{"parameters": [{"name": "x", "type": "int", "dflt": 1}]}`, `unknown field "dflt"`)
	f(`{"name": 5}`, "name: line 1: must be a string")
	f(`{"history": "ten"}`, "history: line 1: must be an integer")
	f(`[1]`, "must be a JSON object")
	f("{\n\"name\": \"x\",\n}", "invalid JSON at line 3")
	f(`{"name": "x"`, "unexpected end")
	f(`{} {}`, "unexpected data after")
	f("{\"name\": \"a\",\n \"name\": \"b\"}", `field "name" appears twice (line 2)`)
	f(`{"parameters": [{"name": "a", "type": "int", "name": "b"}]}`, `field "name" appears twice`)
	f(`{"graphs": [{"metric": "value", "chart": "line", "min": 0, "min": 1}]}`, `field "min" appears twice`)
	f(`{"name": "`+strings.Repeat("a", MaxBytes)+`"}`, "more than 262144")
}

func TestParseNoFalseDuplicates(t *testing.T) {
	// The same key in sibling objects, and keys whose values are arrays
	// and objects, are not duplicates.
	in := `{"parameters": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}],
	  "args": ["name", "name"], "graphs": [{"metric": "value", "chart": "line"}], "name": "x"}`
	if _, err := Parse([]byte(in)); err != nil {
		t.Fatal(err)
	}
}

func TestValidateErrors(t *testing.T) {
	f := func(edit func(m *Manifest), want string) {
		t.Helper()
		m := mustParse(t, goodJSON)
		edit(&m)
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want an error containing %q", err, want)
		}
	}
	f(func(m *Manifest) { m.ManifestVersion = 2 }, "manifest_version 2")
	f(func(m *Manifest) { m.Name = "" }, "manifest: name: required")
	f(func(m *Manifest) { m.Name = "-x" }, `name "-x"`)
	f(func(m *Manifest) { m.Name = strings.Repeat("a", 65) }, "name")
	f(func(m *Manifest) { m.Version = "1.2" }, `manifest: version "1.2": not a semantic version (MAJOR.MINOR.PATCH)`)
	f(func(m *Manifest) { m.Version = "v1.2.0" }, `version "v1.2.0"`)
	f(func(m *Manifest) { m.Version = "01.2.0" }, `version "01.2.0"`)
	f(func(m *Manifest) { m.Description = " " }, "description: required")
	f(func(m *Manifest) { m.Description = "a\x01b" }, "description: must not contain control")
	f(func(m *Manifest) { m.License = "MIT OR" }, `license "MIT OR"`)
	f(func(m *Manifest) { m.License = "my license" }, `license "my license"`)
	f(func(m *Manifest) { m.Homepage = "ftp://x" }, `homepage "ftp://x"`)
	f(func(m *Manifest) { m.Kind = "python" }, `kind "python": must be one of exec, nagios, munin, builtin`)
	f(func(m *Manifest) { m.Kind = "" }, `kind: required`)
	f(func(m *Manifest) { m.Entrypoint = "../x.sh" }, `entrypoint "../x.sh"`)
	f(func(m *Manifest) { m.Entrypoint = "" }, `entrypoint: required`)
	f(func(m *Manifest) { m.Entrypoint = "/usr/lib/../x" }, `entrypoint "/usr/lib/../x": an absolute path must be clean`)
	f(func(m *Manifest) { m.Kind, m.Entrypoint = "builtin", "bin/x" }, `collector's name`)
	f(func(m *Manifest) { m.Args = []string{"${nope}"} }, `args[0] "${nope}": ${nope}: no such parameter`)
	f(func(m *Manifest) { m.Args = []string{"$HOME"} }, `args[0] "$HOME"`)
	f(func(m *Manifest) { m.Args = []string{"${mount"} }, `without a closing`)
	f(func(m *Manifest) { m.Args = make([]string, 65) }, "65 arguments")
	f(func(m *Manifest) { m.Platforms = []string{"linux"} }, `platforms[0] "linux"`)
	f(func(m *Manifest) { m.Platforms = []string{"linux/amd64", "linux/amd64"} }, `platforms[1] "linux/amd64": listed twice`)
	f(func(m *Manifest) { m.Interval = "soon" }, `interval "soon"`)
	f(func(m *Manifest) { m.Interval = "100ms" }, `interval "100ms": must be between`)
	f(func(m *Manifest) { m.Timeout = "2h" }, `timeout "2h"`)
	f(func(m *Manifest) { m.Timeout = "-1s" }, `timeout "-1s": must not be negative`)
	f(func(m *Manifest) { m.History = 1001 }, "history 1001")
	f(func(m *Manifest) { m.History = -1 }, "history -1")
	f(func(m *Manifest) { m.Classifier = "/etc/x.lua" }, `classifier "/etc/x.lua"`)
	f(func(m *Manifest) { m.Parameters[0].Name = "Mount" }, `parameters[0].name "Mount"`)
	f(func(m *Manifest) { m.Parameters[1].Name = "mount" }, `parameters[1].name "mount": declared twice`)
	f(func(m *Manifest) { m.Parameters[0].Type = "text" }, `parameters[0].type "text"`)
	f(func(m *Manifest) { m.Parameters[2].Default = json.Number("1.5") }, `parameters[2].default of "count": "1.5" is not an integer`)
	f(func(m *Manifest) { m.Parameters[2].Default = "3" }, `parameters[2].default of "count": is a string, but the type is int`)
	f(func(m *Manifest) { m.Parameters[3].Default = 1 }, `is a number, but the type is bool`)
	f(func(m *Manifest) { m.Parameters[4].Default = "soon" }, `parameters[4].default of "grace": "soon" is not a duration`)
	f(func(m *Manifest) { m.Parameters[0].Default = []any{} }, `must be a JSON string, number or boolean`)
	f(func(m *Manifest) { m.TrendRules[0].Name = "" }, `trend_rules[0].name ""`)
	f(func(m *Manifest) { m.TrendRules = append(m.TrendRules, m.TrendRules[0]) }, `trend_rules[1].name "fill": used twice`)
	f(func(m *Manifest) { m.Name = strings.Repeat("n", 64); m.TrendRules[0].Name = strings.Repeat("r", 64) }, `would be longer than 128 bytes`)
	f(func(m *Manifest) { m.TrendRules[0].Window = "0s" }, `trend_rules[0].window "0s"`)
	f(func(m *Manifest) { m.TrendRules[0].Interval = "x" }, `trend_rules[0].interval "x"`)
	f(func(m *Manifest) { m.TrendRules[0].Expr = "" }, `trend_rules[0].expr: required`)
	f(func(m *Manifest) { m.TrendRules[0].Selector = "" }, `trend_rules[0].selector: required`)
	f(func(m *Manifest) { m.Graphs[0].Metric = "used percent" }, `graphs[0].metric "used percent"`)
	f(func(m *Manifest) { m.Graphs[1].Metric = "value" }, `graphs[1].metric "value": has two graphs`)
	f(func(m *Manifest) { m.Graphs[0].Chart = "pie" }, `graphs[0].chart "pie": must be one of line, stacked, gauge, state`)
	f(func(m *Manifest) { m.Graphs[0].Unit = "Per Cent" }, `graphs[0].unit "Per Cent"`)
	f(func(m *Manifest) { m.Graphs[0].Max = nil }, `graphs[0]: a gauge needs both min and max`)
	f(func(m *Manifest) { x := -1.0; m.Graphs[0].Max = &x }, `graphs[0]: min 0 must be less than max -1`)
}

func TestValidateJoinsAll(t *testing.T) {
	err := Manifest{}.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("Validate of an empty manifest = %v, want joined errors", err)
	}
	// name, version, description, kind, entrypoint
	if n := len(joined.Unwrap()); n != 5 {
		t.Fatalf("%d problems, want 5:\n%v", n, err)
	}
	for _, e := range joined.Unwrap() {
		if !strings.HasPrefix(e.Error(), "manifest: ") {
			t.Errorf("%q does not start with manifest:", e)
		}
	}
}

func TestEntrypointInPackage(t *testing.T) {
	for _, c := range []struct {
		kind, ep, want string
		ok             bool
	}{
		{"exec", "./bin/x.sh", "bin/x.sh", true},
		{"nagios", "/usr/lib/nagios/plugins/check_disk", "", false},
		{"builtin", "cpu", "", false},
		{"exec", "../x", "", false},
	} {
		got, ok := Manifest{Kind: c.kind, Entrypoint: c.ep}.EntrypointInPackage()
		if got != c.want || ok != c.ok {
			t.Errorf("EntrypointInPackage(%s, %s) = %q, %v", c.kind, c.ep, got, ok)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	// Ascending, from semver.org's precedence example and more.
	order := []string{"not-a-version", "0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0", "99999999999999999999.0.0"}
	for i, a := range order {
		for j, b := range order {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := CompareVersions(a, b); got != want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
	if CompareVersions("1.0.0+build.1", "1.0.0+build.2") != 0 {
		t.Error("build metadata must be ignored")
	}
	for _, bad := range []string{"1", "1.2", "1.2.3.4", "v1.2.3", "1.2.03", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b", "1.2.3-a_b", " 1.2.3"} {
		if ValidVersion(bad) {
			t.Errorf("ValidVersion(%q) = true", bad)
		}
	}
	for _, good := range []string{"0.0.0", "1.2.3-0", "1.2.3-rc.1+sha.5114f85", "10.20.30-x-y-z.--"} {
		if !ValidVersion(good) {
			t.Errorf("ValidVersion(%q) = false", good)
		}
	}
}

func TestParameterCheck(t *testing.T) {
	f := func(typ, value string, ok bool) {
		t.Helper()
		err := Parameter{Name: "p", Type: typ}.Check(value)
		if (err == nil) != ok {
			t.Errorf("Check(%s, %q) = %v, want ok=%v", typ, value, err, ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "parameter p: ") {
			t.Errorf("error %q does not name the parameter", err)
		}
	}
	f("string", "anything", true)
	f("string", "a\x00b", false)
	f("string", strings.Repeat("a", 1025), false)
	f("int", "-42", true)
	f("int", "4.2", false)
	f("int", "99999999999999999999", false)
	f("float", "4.2e3", true)
	f("float", "NaN", false)
	f("float", "Inf", false)
	f("bool", "true", true)
	f("bool", "1", false)
	f("duration", "1d12h", true)
	f("duration", "5", false)
	f("blob", "x", false)
}

func TestSubstitute(t *testing.T) {
	p := map[string]string{"a": "1", "b": "x y"}
	got, err := Substitute([]string{"${a}", "-${b}-", "$$", "$${a}", "plain"}, p)
	if err != nil || strings.Join(got, "|") != "1|-x y-|$|${a}|plain" {
		t.Fatalf("Substitute = %q, %v", got, err)
	}
	for _, bad := range []string{"${c}", "$", "$a", "${a"} {
		if _, err := Substitute([]string{"ok", bad}, p); err == nil || !strings.Contains(err.Error(), "args[1]") {
			t.Errorf("Substitute(%q) = %v, want an error naming args[1]", bad, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	f := func(in string, want time.Duration, ok bool) {
		t.Helper()
		got, err := ParseDuration(in)
		if (err == nil) != ok || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s ok=%v", in, got, err, want, ok)
		}
	}
	f("30s", 30*time.Second, true)
	f("2d", 48*time.Hour, true)
	f("1d12h", 36*time.Hour, true)
	f("1.5d", 36*time.Hour, true)
	f("d", 0, false)
	f("1e3d", 0, false)
	f("1d-1h", 0, false)
	f("-1s", 0, false)
	f("", 0, false)
	f("99999999999d", 0, false)
}

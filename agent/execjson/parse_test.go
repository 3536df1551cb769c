package execjson

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/wire"
)

func ptr(v float64) *float64 { return &v }

func TestParse(t *testing.T) {
	f := func(stdout string, code int, want pluginout.Parsed) {
		t.Helper()
		got := Parse(pluginout.Output{Stdout: []byte(stdout), ExitCode: code})
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q, %d) =\n%#v\nwant\n%#v", stdout, code, got, want)
		}
	}
	f(`{"value": 3.5, "message": "3 jobs queued"}`, 0, pluginout.Parsed{Value: ptr(3.5), Message: "3 jobs queued"})
	f(`{"value": null}`, 0, pluginout.Parsed{})
	f("  {}\n", 0, pluginout.Parsed{})
	f(`{"value": -1e-3, "status": "critical"}`, 0, pluginout.Parsed{Value: ptr(-0.001), ExitStatus: 2})
	// Without "status" the exit code is the verdict, as for Nagios plugins.
	f(`{"message": "meh"}`, 1, pluginout.Parsed{Message: "meh", ExitStatus: 1})
	f(`{"message": "bad"}`, 2, pluginout.Parsed{Message: "bad", ExitStatus: 2})
	f(`{"message": "odd"}`, 9, pluginout.Parsed{Message: "odd", ExitStatus: 3, Notes: []string{"exit code 9 is no status"}})
	// "status" wins over the exit code.
	f(`{"status": "ok"}`, 2, pluginout.Parsed{ExitStatus: 0})
	f(`{"status": "warning"}`, 0, pluginout.Parsed{ExitStatus: 1})
	f(`{"status": "unknown"}`, 0, pluginout.Parsed{ExitStatus: 3})
	// Metrics as an object keep their order.
	f(`{"metrics": {"queued": 3, "failed": 0, "age": -2.5e2}}`, 0, pluginout.Parsed{Metrics: []wire.Metric{
		{Name: "queued", Value: 3}, {Name: "failed", Value: 0}, {Name: "age", Value: -250}}})
	// Or as a list, with labels, units and counters.
	f(`{"metrics": [{"name": "used", "labels": {"mount": "/var"}, "value": 10, "unit": "bytes"},
		{"name": "used", "labels": {"mount": "/"}, "value": 20, "unit": "bytes"},
		{"name": "requests", "value": 7, "counter": true, "labels": {}}]}`, 0, pluginout.Parsed{Metrics: []wire.Metric{
		{Name: "used", Labels: map[string]string{"mount": "/var"}, Value: 10, Unit: "bytes"},
		{Name: "used", Labels: map[string]string{"mount": "/"}, Value: 20, Unit: "bytes"},
		{Name: "requests", Value: 7, Counter: true}}})
	f(`{"metrics": null, "message": "multi\nline\ttext"}`, 0, pluginout.Parsed{Message: "multi line text"})
}

func TestParseRefuses(t *testing.T) {
	f := func(stdout string, code int, wantMsg string) {
		t.Helper()
		got := Parse(pluginout.Output{Stdout: []byte(stdout), ExitCode: code, Stderr: []byte("Traceback (most recent call last):\n")})
		if got.ExitStatus != 3 || got.Message != wantMsg || got.Value != nil || got.Metrics != nil {
			t.Errorf("Parse(%q, %d) = %d %q, want unknown %q", stdout, code, got.ExitStatus, got.Message, wantMsg)
		}
	}
	f("", 0, "plugin printed nothing")
	f("", 1, "plugin exited with code 1; plugin printed nothing; stderr: Traceback (most recent call last):")
	f("OK: all fine\n", 0, `plugin output is not a JSON object: "OK: all fine\n"`)
	f("\xff\xfe{", 0, "plugin output is not a JSON object: \"\ufffd{\"")
	f(strings.Repeat("x", 300), 0, `plugin output is not a JSON object: "`+strings.Repeat("x", 200)+`"`)
	f(`{"value": 1`, 0, `plugin output is not a JSON object: "{\"value\": 1"`)
	f(`[1, 2]`, 0, `plugin output is not a JSON object: "[1, 2]"`)
	f(`null`, 0, `plugin output is not a JSON object: "null"`)
	f(`{"value": 1} {"value": 2}`, 0, "invalid plugin output: more after the JSON object")
	f(`{"value": 1} trailing`, 0, "invalid plugin output: more after the JSON object")
	f(`{"value": 1, "extra": true}`, 0, `invalid plugin output: unknown field "extra"`)
	f(`{"Value": 1, "valeu": 2}`, 0, `invalid plugin output: unknown field "valeu"`)
	f(`{"value": "3"}`, 0, `invalid plugin output: field "value": string is not a number`)
	f(`{"value": 1e400}`, 0, `invalid plugin output: field "value": number 1e400 out of range`)
	f(`{"value": NaN}`, 0, `plugin output is not a JSON object: "{\"value\": NaN}"`)
	f(`{"message": 5}`, 0, `invalid plugin output: field "message": number is not a string`)
	f(`{"status": "OK"}`, 0, `invalid plugin output: status "OK" is none of ok, warning, critical, unknown`)
	f(`{"metrics": 5}`, 0, `invalid plugin output: "metrics" is neither an object nor a list`)
	f(`{"metrics": {"a b": 1}}`, 0, `invalid plugin output: metric name "a b" is not [a-zA-Z_][a-zA-Z0-9_]* (at most 200 bytes)`)
	f(`{"metrics": {"a": 1, "a": 2}}`, 0, "invalid plugin output: metric a repeated")
	f(`{"metrics": {"a": "1"}}`, 0, "invalid plugin output: metric a: value is not a number")
	f(`{"metrics": {"a": null}}`, 0, "invalid plugin output: metric a: value is not a number")
	f(`{"metrics": {"a": 1e999}}`, 0, "invalid plugin output: metric a: value 1e999 out of range")
	f(`{"metrics": [{"name": "a"}]}`, 0, "invalid plugin output: metric a has no value")
	f(`{"metrics": [{"name": "a", "value": 1, "help": "x"}]}`, 0, `invalid plugin output: metrics: unknown field "help"`)
	f(`{"metrics": [{"name": "9a", "value": 1}]}`, 0, `invalid plugin output: metric 0: name "9a" is not [a-zA-Z_][a-zA-Z0-9_]* (at most 200 bytes)`)
	f(`{"metrics": [{"name": "a", "value": 1, "labels": {"__name__": "x"}}]}`, 0, `invalid plugin output: metric a: label name "__name__" is not [a-zA-Z_][a-zA-Z0-9_]* or starts with __`)
	f(`{"metrics": [{"name": "a", "value": 1, "unit": "Bytes"}]}`, 0, `invalid plugin output: metric a: unit "Bytes" is not a lowercase word such as seconds, bytes, percent`)
	f(`{"metrics": [{"name": "a", "value": 1, "labels": {"x": "1", "y": "2"}}, {"name": "a", "value": 2, "labels": {"y": "2", "x": "1"}}]}`, 0,
		"invalid plugin output: metric a repeated with the same labels")
	f(`{"metrics": [{"name": "a", "value": 1, "labels": {"x": 1}}]}`, 0, `invalid plugin output: metrics: field "labels": number is not a string`)
	f(`{"value": 1, "x": 1}`, 2, `plugin exited with code 2; invalid plugin output: unknown field "x"; stderr: Traceback (most recent call last):`)
}

func TestParseLimits(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"metrics": {`)
	for i := range pluginout.MaxMetrics + 1 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`"m` + strings.Repeat("x", i%3) + itoa(i) + `": 1`)
	}
	sb.WriteString("}}")
	p := Parse(pluginout.Output{Stdout: []byte(sb.String())})
	if p.ExitStatus != 3 || p.Message != "invalid plugin output: more than 1000 metrics" {
		t.Fatalf("%d metrics: %d %q, want refused", pluginout.MaxMetrics+1, p.ExitStatus, p.Message)
	}

	sb.Reset()
	sb.WriteString(`{"metrics": [`)
	for i := range pluginout.MaxMetrics + 1 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"name": "m", "labels": {"i": "` + itoa(i) + `"}, "value": 1}`)
	}
	sb.WriteString("]}")
	p = Parse(pluginout.Output{Stdout: []byte(sb.String())})
	if p.ExitStatus != 3 || p.Message != "invalid plugin output: more than 1000 metrics" {
		t.Fatalf("%d listed metrics: %d %q, want refused", pluginout.MaxMetrics+1, p.ExitStatus, p.Message)
	}

	p = Parse(pluginout.Output{Stdout: []byte(`{"message": "` + strings.Repeat("é", 5000) + `"}`)})
	if p.ExitStatus != 0 || len(p.Message) > pluginout.MaxMessage || !strings.HasSuffix(p.Message, "…") {
		t.Fatalf("long message: %d bytes, status %d", len(p.Message), p.ExitStatus)
	}

	p = Parse(pluginout.Output{Stdout: []byte(`{"value": 1, "mess`), Truncated: true})
	if p.ExitStatus != 3 || len(p.Notes) != 1 || p.Notes[0] != "output truncated" {
		t.Fatalf("truncated output: %+v", p)
	}
	p = Parse(pluginout.Output{Stdout: []byte(`{"value": 1}`), TimedOut: true, Timeout: time.Minute})
	if p.ExitStatus != 3 || p.Message != "plugin timed out after 1m0s" || p.Value != nil {
		t.Fatalf("timed out: %+v", p)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

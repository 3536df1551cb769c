package execjson

import (
	"errors"
	"math"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prophasis/prophasis/agent/pluginout"
)

// run runs an exec plugin from testdata as the runner would.
func run(t *testing.T, path string, env ...string) pluginout.Parsed {
	t.Helper()
	cmd := exec.Command(path)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("run %s: %v", path, err)
		}
		code = exit.ExitCode()
	}
	return Parse(pluginout.Output{Stdout: []byte(stdout.String()), Stderr: []byte(stderr.String()), ExitCode: code})
}

func TestRealExecPlugin(t *testing.T) {
	p := run(t, "testdata/loadavg.sh")
	if p.ExitStatus != 0 || !strings.HasPrefix(p.Message, "load ") || p.Value == nil || len(p.Notes) != 0 {
		t.Fatalf("loadavg.sh: %+v", p)
	}
	if len(p.Metrics) != 3 || p.Metrics[0].Name != "load1" || p.Metrics[0].Value != *p.Value || p.Metrics[2].Name != "load15" {
		t.Fatalf("loadavg.sh metrics %+v, want load1, load5, load15 with load1 the value", p.Metrics)
	}
	if p := run(t, "testdata/loadavg.sh", "WARN=-1"); p.ExitStatus != 1 {
		t.Fatalf("loadavg.sh above its threshold: status %d, want warning", p.ExitStatus)
	}
	p = run(t, "testdata/broken.sh")
	if p.ExitStatus != 3 || p.Message != "plugin exited with code 2; plugin printed nothing; stderr: cannot connect to the queue" {
		t.Fatalf("broken.sh: %+v", p)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"value": 3.5, "message": "ok", "status": "ok", "metrics": {"a": 1, "b": -2e10}}`,
		`{"metrics": [{"name": "used", "labels": {"mount": "/var"}, "value": 10, "unit": "bytes", "counter": true}]}`,
		`{"value": null, "message": "\u00e9\ud800"}`,
		`{"value": 1e400}`, `{"metrics": {"a": 1, "a": 2}}`, "OK: not json", "\xff{",
	} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, stdout []byte, code int) {
		p := Parse(pluginout.Output{Stdout: stdout, ExitCode: code})
		if p.ExitStatus < 0 || p.ExitStatus > 3 || !utf8.ValidString(p.Message) || len(p.Message) > pluginout.MaxMessage {
			t.Fatalf("status %d message %q", p.ExitStatus, p.Message)
		}
		if p.Value != nil && (math.IsNaN(*p.Value) || math.IsInf(*p.Value, 0)) {
			t.Fatalf("value %v", *p.Value)
		}
		if len(p.Metrics) > pluginout.MaxMetrics {
			t.Fatalf("%d metrics", len(p.Metrics))
		}
		for _, m := range p.Metrics {
			if !pluginout.ValidName(m.Name) || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
				t.Fatalf("metric %+v", m)
			}
			for k, v := range m.Labels {
				if !pluginout.ValidLabelName(k) || !utf8.ValidString(v) {
					t.Fatalf("label %q=%q", k, v)
				}
			}
		}
	})
}

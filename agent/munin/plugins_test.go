package munin

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/wire"
)

// pluginDir is where Debian's munin-plugins-core (pulled in by munin-node)
// puts the plugins; .ci/run installs them.
const pluginDir = DefaultLibDir + "/plugins"

// runOnce runs one real Munin plugin with the environment Env gives.
func runOnce(t *testing.T, name string, env []string, args ...string) pluginout.Output {
	t.Helper()
	cmd := exec.Command(pluginDir+"/"+name, args...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("run %s %v: %v", name, args, err)
		}
		code = exit.ExitCode()
	}
	return pluginout.Output{Stdout: []byte(stdout.String()), Stderr: []byte(stderr.String()), ExitCode: code}
}

// run runs a real plugin's config and fetch as the runner does, and parses
// them.
func run(t *testing.T, name string) (pluginout.Parsed, Config) {
	t.Helper()
	if _, err := os.Stat(pluginDir + "/" + name); err != nil {
		t.Fatalf("Munin plugin %s is missing: install Debian's munin-node and munin-plugins-core (%v)", name, err)
	}
	env := Env(DefaultLibDir, t.TempDir(), name)
	config := runOnce(t, name, env, "config")
	fetch := runOnce(t, name, env)
	if config.ExitCode != 0 || fetch.ExitCode != 0 {
		t.Fatalf("%s: config exit %d (stderr %q), fetch exit %d (stderr %q)", name,
			config.ExitCode, config.Stderr, fetch.ExitCode, fetch.Stderr)
	}
	p, cfg := Parse(config, fetch)
	t.Logf("%s: message %q, status %d, %d metrics, %d graphs, notes %q", name, p.Message, p.ExitStatus, len(p.Metrics), len(cfg.Graphs), p.Notes)
	if len(p.Notes) != 0 {
		t.Errorf("%s: notes %q on a real plugin's output", name, p.Notes)
	}
	return p, cfg
}

func metric(t *testing.T, p pluginout.Parsed, name string) wire.Metric {
	t.Helper()
	for _, m := range p.Metrics {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no metric %s in %+v", name, p.Metrics)
	return wire.Metric{}
}

func TestRealLoad(t *testing.T) {
	p, cfg := run(t, "load")
	if len(cfg.Graphs) != 1 || cfg.Graphs[0].Title != "Load average" || cfg.Graphs[0].Category != "system" {
		t.Fatalf("config %+v, want one graph titled Load average in system", cfg)
	}
	if f := cfg.Graphs[0].Field("load"); f == nil || f.Label != "load" || f.Counter() {
		t.Fatalf("field load %+v, want a gauge labelled load", f)
	}
	m := metric(t, p, "load")
	if m.Counter || m.Value < 0 || len(m.Labels) != 0 {
		t.Fatalf("load metric %+v", m)
	}
	if p.ExitStatus != 0 || !strings.HasPrefix(p.Message, "load: ") || p.Value == nil || *p.Value != m.Value {
		t.Fatalf("result %q status %d value %v, want ok, load: N, the value", p.Message, p.ExitStatus, p.Value)
	}
}

func TestRealCPU(t *testing.T) {
	p, cfg := run(t, "cpu")
	g := cfg.Graph("")
	if g == nil || g.Title != "CPU usage" || g.VLabel == "" {
		t.Fatalf("config %+v, want the CPU usage graph", cfg)
	}
	for _, name := range []string{"user", "system", "idle"} {
		if f := g.Field(name); f == nil || f.Type != "DERIVE" || f.Label != name {
			t.Errorf("field %s: %+v, want DERIVE labelled %s", name, f, name)
		}
		if m := metric(t, p, name); !m.Counter || m.Value < 0 {
			t.Errorf("metric %+v, want a non-negative counter", m)
		}
	}
	if metric(t, p, "idle").Value == 0 {
		t.Errorf("idle CPU time is 0")
	}
	if p.ExitStatus != 0 || p.Message != "CPU usage: "+itoa(len(p.Metrics))+" values" || p.Value != nil {
		t.Fatalf("message %q status %d value %v", p.Message, p.ExitStatus, p.Value)
	}
}

func TestRealDF(t *testing.T) {
	p, cfg := run(t, "df")
	g := cfg.Graph("")
	if g == nil || g.Title != "Disk usage in percent" || g.Category != "disk" {
		t.Fatalf("config %+v", cfg)
	}
	// Some field is the root file system, labelled "/", with Munin's default
	// thresholds, and its value is a percentage.
	var root *Field
	for i := range g.Fields {
		if g.Fields[i].Label == "/" {
			root = &g.Fields[i]
		}
	}
	if root == nil || root.Warning != "92" || root.Critical != "98" {
		t.Fatalf("no field labelled / with warning 92, critical 98 in %+v", g.Fields)
	}
	m := metric(t, p, root.Name)
	if m.Value <= 0 || m.Value > 100 || m.Counter {
		t.Fatalf("usage of / = %+v, want a percentage above 0", m)
	}
	want := 0
	if m.Value > 98 {
		want = 2
	} else if m.Value > 92 {
		want = 1
	}
	if p.ExitStatus < want {
		t.Fatalf("status %d with / at %v%%, want at least %d", p.ExitStatus, m.Value, want)
	}
}

func TestRealMemory(t *testing.T) {
	p, cfg := run(t, "memory")
	g := cfg.Graph("")
	if g == nil || g.Title != "Memory usage" || g.VLabel != "Bytes" || !strings.Contains(g.Args, "--base 1024") {
		t.Fatalf("config %+v", cfg)
	}
	if f := g.Field("free"); f == nil || f.Label != "unused" {
		t.Fatalf("field free %+v, want labelled unused", f)
	}
	if m := metric(t, p, "free"); m.Value <= 0 {
		t.Fatalf("free memory %+v", m)
	}
	if m := metric(t, p, "apps"); m.Value <= 0 || m.Counter {
		t.Fatalf("apps memory %+v", m)
	}
	if p.ExitStatus != 0 || !strings.HasPrefix(p.Message, "Memory usage: ") {
		t.Fatalf("message %q status %d", p.Message, p.ExitStatus)
	}
}

// TestRealMultigraph runs buddyinfo, a multigraph plugin (one graph and one
// per memory zone), which refuses to run without MUNIN_CAP_MULTIGRAPH from
// Env.
func TestRealMultigraph(t *testing.T) {
	p, cfg := run(t, "buddyinfo")
	if len(cfg.Graphs) < 2 {
		t.Fatalf("%d graphs, want several", len(cfg.Graphs))
	}
	graphs := map[string]bool{}
	for _, m := range p.Metrics {
		if m.Labels["graph"] == "" {
			t.Fatalf("metric %+v of a multigraph plugin has no graph label", m)
		}
		if cfg.Graph(m.Labels["graph"]) == nil {
			t.Fatalf("metric %+v names a graph the config lacks", m)
		}
		graphs[m.Labels["graph"]] = true
	}
	if g := cfg.Graph("buddyinfo"); g == nil || g.Title != "Memory fragmentation" {
		t.Fatalf("no graph buddyinfo titled Memory fragmentation in %+v", cfg)
	}
	if !graphs["buddyinfo"] {
		t.Fatalf("no values of graph buddyinfo")
	}
	if len(graphs) < 2 || !strings.HasSuffix(p.Message, " values") || !strings.Contains(p.Message, " graphs, ") {
		t.Fatalf("%d graphs with values, message %q", len(graphs), p.Message)
	}
}

func itoa(n int) string { return formatValue(float64(n)) }

package std_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/agent/collect"
	"github.com/prophasis/prophasis/agent/execjson"
	"github.com/prophasis/prophasis/agent/nagios"
	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/agent/runner"
	"github.com/prophasis/prophasis/plugins/manifest"
	"github.com/prophasis/prophasis/plugins/pkg"
	"github.com/prophasis/prophasis/plugins/std"
	"github.com/prophasis/prophasis/rules/classify"
)

// issuePlugins is the standard library issue 6 asks for.
var issuePlugins = []string{
	"cpu", "memory", "swap", "load", "disk", "diskio", "network", "uptime",
	"users", "processes", "process", "systemd", "journal", "http", "tcp",
	"dns", "ntp", "mdraid", "smart",
}

// pluginDirs lists the plugin directories beside this file.
func pluginDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	return dirs
}

func TestEveryIssuePluginIsHere(t *testing.T) {
	got := pluginDirs(t)
	want := slices.Clone(issuePlugins)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("plugin directories %v, want %v", got, want)
	}
	// The embedded tree the server ships holds the same directories.
	entries, err := fs.ReadDir(std.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	var embedded []string
	for _, e := range entries {
		if e.IsDir() {
			embedded = append(embedded, e.Name())
		}
	}
	if !slices.Equal(embedded, want) {
		t.Errorf("embedded directories %v, want %v", embedded, want)
	}
	for _, name := range want {
		files := []string{manifest.FileName, "classifier.lua", "README.md", "tests/history.json"}
		if m := readManifest(t, name); m.Kind == "exec" {
			files = append(files, m.Entrypoint)
		}
		for _, f := range files {
			if _, err := fs.Stat(std.FS, name+"/"+f); err != nil {
				t.Errorf("embedded %s/%s: %v", name, f, err)
			}
		}
	}
}

// readManifest decodes dir/manifest.json strictly.
func readManifest(t *testing.T, dir string) manifest.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, manifest.FileName))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m manifest.Manifest
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s/manifest.json: %v", dir, err)
	}
	if _, err := dec.Token(); err == nil {
		t.Fatalf("%s/manifest.json: more after the object", dir)
	}
	return m
}

var (
	paramName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	argRef    = regexp.MustCompile(`\$\{([^}]*)\}`)
	metricRe  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

func TestManifests(t *testing.T) {
	names := collect.Names()
	for _, dir := range pluginDirs(t) {
		t.Run(dir, func(t *testing.T) {
			m := readManifest(t, dir)
			if m.ManifestVersion != manifest.Version {
				t.Errorf("manifest_version %d, want %d", m.ManifestVersion, manifest.Version)
			}
			if m.Name != dir {
				t.Errorf("name %q, want the directory's name %q", m.Name, dir)
			}
			if m.Version != "1.0.0" || m.License != "Apache-2.0" || m.Author != "Prophasis" || m.Description == "" {
				t.Errorf("version %q license %q author %q description %q: want 1.0.0, Apache-2.0, Prophasis and a description",
					m.Version, m.License, m.Author, m.Description)
			}
			if !slices.Equal(m.Platforms, []string{"linux/amd64", "linux/arm64"}) {
				t.Errorf("platforms %v", m.Platforms)
			}
			if m.Classifier != "classifier.lua" {
				t.Errorf("classifier %q, want classifier.lua", m.Classifier)
			}
			if m.History < 1 || m.History > 1000 {
				t.Errorf("history %d out of 1..1000", m.History)
			}
			iv, err := time.ParseDuration(m.Interval)
			if err != nil || iv <= 0 {
				t.Errorf("interval %q: %v", m.Interval, err)
			}
			to, err := time.ParseDuration(m.Timeout)
			if err != nil || to <= 0 || to > time.Hour || to > iv {
				t.Errorf("timeout %q (interval %q): want a duration up to the interval and 1h (%v)", m.Timeout, m.Interval, err)
			}
			for _, f := range []string{"README.md", "tests/history.json", m.Classifier} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
			params := map[string]manifest.Parameter{}
			for _, p := range m.Parameters {
				if !paramName.MatchString(p.Name) || !slices.Contains(manifest.ParamTypes, p.Type) || p.Description == "" {
					t.Errorf("parameter %+v: bad name, type or no description", p)
				}
				if p.Default == nil && !p.Required {
					t.Errorf("parameter %s has neither a default nor required", p.Name)
				}
				if _, dup := params[p.Name]; dup {
					t.Errorf("parameter %s twice", p.Name)
				}
				params[p.Name] = p
			}
			for _, a := range m.Args {
				for _, ref := range argRef.FindAllStringSubmatch(a, -1) {
					if _, ok := params[ref[1]]; !ok {
						t.Errorf("argument %q names no parameter %q", a, ref[1])
					}
				}
			}
			switch m.Kind {
			case "builtin":
				if !slices.Contains(names, m.Entrypoint) {
					t.Errorf("entrypoint %q is none of the agent's collectors %v", m.Entrypoint, names)
				}
				if len(m.Args) > 0 || len(m.Parameters) > 0 {
					t.Errorf("a builtin collector takes no arguments or parameters")
				}
			case "exec":
				if filepath.IsAbs(m.Entrypoint) || strings.Contains(m.Entrypoint, "..") || !strings.HasPrefix(m.Entrypoint, "bin/") {
					t.Fatalf("entrypoint %q: want a script under bin/", m.Entrypoint)
				}
				fi, err := os.Stat(filepath.Join(dir, m.Entrypoint))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o755 {
					t.Errorf("%s mode %v, want 0755", m.Entrypoint, fi.Mode().Perm())
				}
				b, _ := os.ReadFile(filepath.Join(dir, m.Entrypoint))
				if !bytes.HasPrefix(b, []byte("#!/bin/sh\n")) {
					t.Errorf("%s does not start with #!/bin/sh", m.Entrypoint)
				}
			case "nagios":
				if !strings.HasPrefix(m.Entrypoint, "/usr/lib/nagios/plugins/") {
					t.Errorf("entrypoint %q: want a Debian monitoring-plugins program", m.Entrypoint)
				}
			default:
				t.Errorf("kind %q", m.Kind)
			}
			graphs := map[string]bool{}
			for _, g := range m.Graphs {
				if !slices.Contains(manifest.Charts, g.Chart) || g.Help == "" {
					t.Errorf("graph %+v: chart not one of %v, or no help", g, manifest.Charts)
				}
				if g.Metric != "value" && g.Metric != "state" && !metricRe.MatchString(g.Metric) {
					t.Errorf("graph metric %q", g.Metric)
				}
				if g.Chart == "gauge" && (g.Min == nil || g.Max == nil) {
					t.Errorf("gauge %s needs min and max", g.Metric)
				}
				if graphs[g.Metric] {
					t.Errorf("graph %s twice", g.Metric)
				}
				graphs[g.Metric] = true
			}
			if !graphs["value"] {
				t.Errorf("no graph hint for the value")
			}
			for _, r := range m.TrendRules {
				if r.Name == "" || r.Selector == "" || r.Expr == "" {
					t.Errorf("trend rule %+v incomplete", r)
				}
				if _, err := time.ParseDuration(r.Window); err != nil {
					t.Errorf("trend rule %s window: %v", r.Name, err)
				}
			}
		})
	}
}

// fixture reads dir/tests/history.json with the package format's reader.
func fixture(t *testing.T, dir string) []pkg.FixtureResult {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "tests", "history.json"))
	if err != nil {
		t.Fatal(err)
	}
	fx, err := pkg.ParseFixture(b)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return fx
}

// readPackage packs dir as `prophasis plugin pack` would and reads it back.
func readPackage(t *testing.T, dir string) *pkg.Package {
	t.Helper()
	p, err := pkg.ReadDir(dir)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return p
}

// TestPackages packs every plugin and lints it: no error and no warning.
func TestPackages(t *testing.T) {
	for _, dir := range pluginDirs(t) {
		t.Run(dir, func(t *testing.T) {
			p := readPackage(t, dir)
			for _, f := range pkg.Lint(p) {
				// One stacked graph of a labelled metric (CPU time by
				// mode, processes by state) stacks its series; the
				// linter counts graphs, not series.
				if f.Severity == pkg.SeverityWarning && strings.Contains(f.Message, "the only stacked graph") &&
					(dir == "cpu" || dir == "processes") {
					continue
				}
				t.Errorf("lint: %s", f)
			}
		})
	}
}

// TestClassifiers compiles every classifier and replays its fixture as the
// rules engine does (pkg.RunFixture: the last history results, newest
// first, states[1] "unknown" and the earlier results' states as the
// classifier returned them); every result must get the state it expects.
func TestClassifiers(t *testing.T) {
	for _, dir := range pluginDirs(t) {
		t.Run(dir, func(t *testing.T) {
			m := readManifest(t, dir)
			src, err := os.ReadFile(filepath.Join(dir, m.Classifier))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := classify.Compile(m.Name, string(src)); err != nil {
				t.Fatal(err)
			}
			fx := fixture(t, dir)
			if len(fx) < 2 {
				t.Fatalf("tests/history.json has %d results", len(fx))
			}
			seen := map[string]bool{}
			for i, r := range fx {
				if r.Expect == "" || r.ExitCode == nil || r.Timestamp == 0 {
					t.Errorf("result %d: want expect, exit_code and timestamp in every result", i)
				}
				if i > 0 && r.Timestamp <= fx[i-1].Timestamp {
					t.Errorf("result %d: timestamps must grow", i)
				}
				seen[r.Expect] = true
			}
			steps, err := pkg.RunFixture(readPackage(t, dir), fx)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range steps {
				if s.Error != "" {
					t.Errorf("result %d: %s", i, s.Error)
				}
				if !s.OK {
					v := "null"
					if s.Value != nil {
						v = strconv.FormatFloat(*s.Value, 'g', -1, 64)
					}
					t.Errorf("result %d (value %s, %q, exit %d): %s, want %s", i, v, s.Message, s.ExitCode, s.State, s.Expect)
				}
			}
			// Every fixture shows the plugin fine and something wrong.
			if !seen["ok"] || len(seen) < 2 {
				t.Errorf("fixture expects only %v: want ok and at least one other state", seen)
			}
		})
	}
}

// ran is one run of a plugin on this machine, parsed by the agent's parser.
type ran struct {
	pluginout.Parsed
	out runner.Output
}

func (r ran) String() string {
	v := "null"
	if r.Value != nil {
		v = strconv.FormatFloat(*r.Value, 'g', -1, 64)
	}
	return fmt.Sprintf("status %d value %s message %q metrics %v (stdout %q stderr %q)",
		r.ExitStatus, v, r.Message, r.Metrics, r.out.Stdout, r.out.Stderr)
}

// metric returns the value of the metric called name with the given
// labels (a subset), and whether there is one.
func (r ran) metric(name string, labels ...string) (float64, bool) {
next:
	for _, m := range r.Metrics {
		if m.Name != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if m.Labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return m.Value, true
	}
	return 0, false
}

// run runs the plugin in dir on this machine as the agent would: through
// the agent's executor (as nobody when the test runs as root), with the
// parameters' defaults overridden by params as PROPHASIS_PARAM_* and
// ${name} in the arguments, and its output read by the agent's parser for
// the kind.
func run(t *testing.T, dir string, params map[string]string) ran {
	t.Helper()
	m := readManifest(t, dir)
	values := map[string]string{}
	for _, p := range m.Parameters {
		switch d := p.Default.(type) {
		case nil:
		case string:
			values[p.Name] = d
		case float64:
			values[p.Name] = strconv.FormatFloat(d, 'g', -1, 64)
		default:
			values[p.Name] = fmt.Sprint(d)
		}
	}
	for k, v := range params {
		if !slices.ContainsFunc(m.Parameters, func(p manifest.Parameter) bool { return p.Name == k }) {
			t.Fatalf("%s has no parameter %s", dir, k)
		}
		values[k] = v
	}
	for _, p := range m.Parameters {
		if _, ok := values[p.Name]; !ok && p.Required {
			t.Fatalf("%s: required parameter %s not given", dir, p.Name)
		}
	}
	args := make([]string, len(m.Args))
	for i, a := range m.Args {
		a = strings.ReplaceAll(a, "$$", "\x00")
		a = argRef.ReplaceAllStringFunc(a, func(ref string) string { return values[ref[2:len(ref)-1]] })
		args[i] = strings.ReplaceAll(a, "\x00", "$")
	}
	path := m.Entrypoint
	if m.Kind == "exec" {
		abs, err := filepath.Abs(filepath.Join(dir, m.Entrypoint))
		if err != nil {
			t.Fatal(err)
		}
		path = abs
	}
	timeout, err := time.ParseDuration(m.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	x, err := runner.NewExecutor("", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := x.Execute(context.Background(), runner.Execution{Path: path, Args: args, Env: runner.Env(values), Timeout: timeout})
	if out.Err != nil || out.TimedOut || out.Signal != 0 {
		t.Fatalf("%s: run failed: err %v, timed out %v, signal %v; stderr %q", dir, out.Err, out.TimedOut, out.Signal, out.Stderr)
	}
	po := pluginout.Output{Stdout: out.Stdout, Stderr: out.Stderr, ExitCode: out.ExitCode, Truncated: out.Truncated}
	var p pluginout.Parsed
	switch m.Kind {
	case "exec":
		p = execjson.Parse(po)
		// The agent accepts what it can; the standard library is
		// stricter: its scripts print valid output, always.
		if strings.Contains(p.Message, "invalid plugin output") || strings.Contains(p.Message, "not a JSON object") ||
			strings.Contains(p.Message, "printed nothing") || len(p.Notes) > 0 {
			t.Fatalf("%s: bad output: %s; notes %v; stdout %q stderr %q", dir, p.Message, p.Notes, out.Stdout, out.Stderr)
		}
		if len(bytes.TrimSpace(out.Stderr)) > 0 {
			t.Errorf("%s wrote to stderr: %q", dir, out.Stderr)
		}
	case "nagios":
		p = nagios.Parse(po)
		if len(p.Notes) > 0 {
			t.Errorf("%s: notes %v", dir, p.Notes)
		}
	default:
		t.Fatalf("%s is %s, not run", dir, m.Kind)
	}
	if out.ExitCode != p.ExitStatus {
		t.Errorf("%s: exit code %d but status %d", dir, out.ExitCode, p.ExitStatus)
	}
	r := ran{Parsed: p, out: out}
	t.Logf("%s %v: %v", dir, params, r)
	return r
}

// classifyRun classifies one run as the first result the plugin ever had.
func classifyRun(t *testing.T, dir string, r ran) string {
	t.Helper()
	e := r.ExitStatus
	steps, err := pkg.RunFixture(readPackage(t, dir), []pkg.FixtureResult{{
		Timestamp: time.Now().UnixMilli(), Value: r.Value, Message: r.Message, ExitCode: &e,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if steps[0].Error != "" {
		t.Errorf("%s: classifier: %s", dir, steps[0].Error)
	}
	return steps[0].State
}

// wantStatus fails unless r has the exit status and its message matches re.
func wantStatus(t *testing.T, r ran, status int, re string) {
	t.Helper()
	if r.ExitStatus != status {
		t.Errorf("status %d, want %d: %v", r.ExitStatus, status, r)
	}
	if !regexp.MustCompile(re).MatchString(r.Message) {
		t.Errorf("message %q does not match %q", r.Message, re)
	}
}

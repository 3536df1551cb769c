package pkg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/prophasis/prophasis/plugins/manifest"
	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/trend"
)

// Severity says whether a Finding stops a package: errors do (pack and
// the registry refuse), warnings are advice.
type Severity string

// The severities of findings.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is one thing Lint found: its severity, the rule (a short name:
// "manifest", "classifier", "trend-rule", "readme", "license", "graphs",
// "platforms", "entrypoint", "timeout", "parameters", "tests") and a
// message naming the field or file.
type Finding struct {
	Severity Severity
	Rule     string
	Message  string
}

// String formats the finding as lint prints it: severity, rule, message.
func (f Finding) String() string {
	return fmt.Sprintf("%-7s %-10s %s", f.Severity, f.Rule, f.Message)
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == SeverityError })
}

// Units the dashboards know; another unit is shown as written.
var knownUnits = []string{"percent", "ratio", "bytes", "bits", "seconds", "milliseconds", "bytes_per_second",
	"bits_per_second", "count", "per_second", "celsius", "volts", "watts", "amperes", "hertz", "rpm", "days", "state"}

// Lint checks a package with every rule and returns the findings, errors
// first. It compiles the classifier and runs it over an empty history and a
// one-result history, compiles the trend rules, and replays every
// tests/*.json fixture, each expectation unmet being an error.
func Lint(p *Package) []Finding {
	l := &linter{p: p, m: p.Manifest}
	if err := p.Manifest.Validate(); err != nil {
		for _, e := range splitErrors(err) {
			l.add(SeverityError, "manifest", "%s", e.Error())
		}
	}
	l.classifier()
	l.trendRules()
	l.docs()
	l.graphs()
	l.runtime()
	l.fixtures()
	sort.SliceStable(l.out, func(i, j int) bool { return l.out[i].Severity == SeverityError && l.out[j].Severity != SeverityError })
	return l.out
}

// Findings turns an error from Read, Pack or ReadDir into error findings,
// one per problem (a manifest's problems are joined).
func Findings(err error) []Finding {
	var out []Finding
	for _, e := range splitErrors(err) {
		rule := "package"
		if strings.Contains(e.Error(), "manifest: ") {
			rule = "manifest"
		}
		out = append(out, Finding{SeverityError, rule, e.Error()})
	}
	return out
}

// splitErrors splits err into its one-line problems: joined errors print
// one per line, and a wrapped join ("invalid plugin package: manifest.json:
// manifest: name: ...") lends its first line's context to the others.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) == 1 {
		return []error{err}
	}
	prefix := ""
	if i := strings.Index(lines[0], "manifest: "); i > 0 {
		prefix = lines[0][:i]
	}
	out := []error{errors.New(lines[0])}
	for _, l := range lines[1:] {
		if l != "" {
			out = append(out, errors.New(prefix+l))
		}
	}
	return out
}

type linter struct {
	p   *Package
	m   manifest.Manifest
	out []Finding
}

func (l *linter) add(s Severity, rule, format string, args ...any) {
	l.out = append(l.out, Finding{s, rule, fmt.Sprintf(format, args...)})
}

func (l *linter) classifier() {
	src, name := l.p.Classifier, l.m.Classifier
	if src == "" {
		if l.m.Kind == "exec" {
			l.add(SeverityWarning, "classifier", "no classifier: the default for %s plugins judges the exit status only, never the value", l.m.Kind)
		}
		src, name = classify.DefaultSource(l.m.Kind), "default classifier"
	}
	cls, err := classify.Compile(name, src)
	if err != nil {
		l.add(SeverityError, "classifier", "%v", err)
		return
	}
	ctx := context.Background()
	one := classify.History{Values: []float64{1}, Messages: []string{""}, Timestamps: []int64{FixtureStart},
		States: []classify.State{classify.Unknown}, ExitStatuses: []int{0}}
	if _, err := cls.Classify(ctx, one); err != nil {
		l.add(SeverityError, "classifier", "fails on a history of one result (value 1, exit code 0): %v", err)
	}
	missing := classify.History{Values: []float64{math.NaN()}, Messages: []string{"timed out"}, Timestamps: []int64{FixtureStart},
		States: []classify.State{classify.Unknown}, ExitStatuses: []int{3}}
	if _, err := cls.Classify(ctx, missing); err != nil {
		l.add(SeverityWarning, "classifier", "fails on a result without a value (a run that timed out, exit code 3): %v (test isMissing(values[1]))", err)
	}
	if _, err := cls.Classify(ctx, classify.History{}); err != nil {
		l.add(SeverityWarning, "classifier", "fails on an empty history (n == 0): %v (start with: if n == 0 then return \"unknown\" end)", err)
	}
}

func (l *linter) trendRules() {
	for i, r := range l.m.TrendRules {
		window, err1 := manifest.ParseDuration(r.Window)
		var interval, _ = manifest.ParseDuration(r.Interval)
		if err1 != nil {
			continue // Validate reported it
		}
		if _, err := trend.Compile(trend.Rule{Name: l.m.Name + "." + r.Name, Selector: r.Selector, Window: window, Interval: interval, Expr: r.Expr}, nil); err != nil {
			l.add(SeverityError, "trend-rule", "trend_rules[%d]: %v", i, err)
		}
		if r.Interval == "" {
			l.add(SeverityWarning, "trend-rule", "trend_rules[%d] %q: no interval: say how often it runs (like 5m)", i, r.Name)
		}
	}
}

func (l *linter) docs() {
	switch {
	case l.p.Readme == "":
		l.add(SeverityWarning, "readme", "no %s: say what the plugin measures, its parameters, its states and what to do about them", ReadmeFile)
	case len(strings.TrimSpace(l.p.Readme)) < 100:
		l.add(SeverityWarning, "readme", "%s is very short (%d bytes): say what the plugin measures and what its states mean", ReadmeFile, len(strings.TrimSpace(l.p.Readme)))
	}
	if l.m.License == "" {
		l.add(SeverityWarning, "license", "no license in %s: others cannot tell whether they may share it (MIT, Apache-2.0, GPL-2.0-or-later)", manifest.FileName)
	}
	for i, p := range l.m.Parameters {
		if p.Required && p.Default != nil {
			l.add(SeverityWarning, "parameters", "parameters[%d] %q: required with a default: the default makes required meaningless", i, p.Name)
		}
		if p.Description == "" {
			l.add(SeverityWarning, "parameters", "parameters[%d] %q: no description", i, p.Name)
		}
	}
}

func (l *linter) graphs() {
	if len(l.m.Graphs) == 0 {
		l.add(SeverityWarning, "graphs", "no graph hints: dashboards fall back to a line chart of the value")
	}
	for i, g := range l.m.Graphs {
		switch {
		case g.Metric == "state" && g.Chart != "state" && g.Chart != "":
			l.add(SeverityWarning, "graphs", "graphs[%d]: the state series is best shown as chart \"state\", not %q", i, g.Chart)
		case g.Metric != "state" && g.Chart == "state":
			l.add(SeverityWarning, "graphs", "graphs[%d] %q: chart \"state\" is for the state series; a value wants line, stacked or gauge", i, g.Metric)
		}
		if g.Metric != "state" && g.Unit == "" {
			l.add(SeverityWarning, "graphs", "graphs[%d] %q: no unit (percent, bytes, seconds, ...)", i, g.Metric)
		}
		if g.Unit != "" && !slices.Contains(knownUnits, g.Unit) {
			l.add(SeverityWarning, "graphs", "graphs[%d] %q: unit %q is not one the dashboards know (%s); it is shown as written", i, g.Metric, g.Unit, strings.Join(knownUnits, ", "))
		}
		if g.Unit == "percent" && g.Max != nil && *g.Max > 100 {
			l.add(SeverityWarning, "graphs", "graphs[%d] %q: max %g for a percentage", i, g.Metric, *g.Max)
		}
		if g.Help == "" && g.Metric != "state" {
			l.add(SeverityWarning, "graphs", "graphs[%d] %q: no help text", i, g.Metric)
		}
		if g.Metric != "value" && g.Metric != "state" && strings.HasPrefix(g.Metric, "prophasis_") {
			l.add(SeverityWarning, "graphs", "graphs[%d] %q: name the metric as the plugin returns it; the server adds prophasis_%s_", i, g.Metric, l.m.Name)
		}
	}
}

func (l *linter) runtime() {
	ep, inPkg := l.m.EntrypointInPackage()
	if inPkg && l.m.Kind != "builtin" {
		head := l.p.entryHead
		switch {
		case bytes.HasPrefix(head, []byte("#!")):
		case bytes.HasPrefix(head, []byte("\x7fELF")):
			if len(l.m.Platforms) == 0 {
				l.add(SeverityWarning, "platforms", "entrypoint %q is a compiled program but platforms is empty: list the OS/ARCH it was built for", ep)
			}
		default:
			l.add(SeverityError, "entrypoint", "entrypoint %q starts with neither a \"#!\" line nor an ELF header: the agent cannot run it", ep)
		}
	}
	if l.m.Timeout != "" && l.m.Interval != "" && l.m.TimeoutDuration() >= l.m.IntervalDuration() {
		l.add(SeverityWarning, "timeout", "timeout %s is not shorter than interval %s: one slow run delays the next", l.m.Timeout, l.m.Interval)
	}
}

func (l *linter) fixtures() {
	if len(l.p.Fixtures) == 0 {
		l.add(SeverityWarning, "tests", "no %s/*.json fixtures: record results with the states you expect (see prophasis plugin test)", TestsDir)
		return
	}
	names := make([]string, 0, len(l.p.Fixtures))
	for n := range l.p.Fixtures {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fx, err := ParseFixture(l.p.Fixtures[name])
		if err != nil {
			l.add(SeverityError, "tests", "%s: %v", name, err)
			continue
		}
		steps, err := RunFixture(l.p, fx)
		if errors.Is(err, ErrFixtureAborted) {
			l.add(SeverityError, "tests", "%s: %v", name, err)
			return // another fixture would stop the same way
		}
		if err != nil {
			continue // the classifier rule reported it
		}
		expects := 0
		for i, s := range steps {
			if s.Expect != "" {
				expects++
			}
			if !s.OK {
				got := s.State
				if got == "" {
					got = "not classified (older than the newest result)"
				}
				l.add(SeverityError, "tests", "%s: result %d: expected %s, the classifier said %s%s", name, i, s.Expect, got, errSuffix(s.Error))
			}
		}
		if expects == 0 {
			l.add(SeverityWarning, "tests", "%s: no result has an \"expect\": the fixture tests nothing", name)
		}
	}
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}

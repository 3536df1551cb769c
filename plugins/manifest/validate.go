package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Limits of a manifest. The name, argument and description bounds are the
// store's, so a valid manifest makes a valid plugin.
const (
	MaxNameLen     = 64
	MaxDescription = 1024
	MaxArgs        = 64
	MaxArgLen      = 1024
	MaxParameters  = 64
	MaxTrendRules  = 32
	MaxGraphs      = 64
	MaxPlatforms   = 32
	MaxHistory     = 1000
	DefaultHistory = 10
	maxShortText   = 256
	maxExprLen     = 4096
	// maxStoreName is the store\'s bound on names: a trend rule is stored
	// as "<plugin>.<rule>".
	maxStoreName = 128
)

var (
	// nameRE is store.NamePattern, capped at MaxNameLen.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	// collectorRE names a builtin collector.
	collectorRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	// metricRE is a Prometheus metric name part.
	metricRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]{0,127}$`)
	// unitRE is a unit: lower case words joined by '_'.
	unitRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	// licenseRE is an SPDX license expression's alphabet; tokens are
	// checked one by one.
	licenseTokenRE = regexp.MustCompile(`^(LicenseRef-)?[A-Za-z0-9][A-Za-z0-9.+-]*$`)
)

// KnownOS and KnownArch are the GOOS and GOARCH values a platform may name.
var (
	KnownOS   = []string{"linux", "darwin", "freebsd", "openbsd", "netbsd", "dragonfly", "illumos", "solaris", "aix", "windows"}
	KnownArch = []string{"amd64", "arm64", "386", "arm", "ppc64", "ppc64le", "riscv64", "s390x", "mips", "mipsle", "mips64", "mips64le", "loong64"}
)

// Validate checks every field and returns all the problems at once, joined
// with errors.Join, each naming its field and value:
//
//	manifest: version "1.2": not a semantic version (MAJOR.MINOR.PATCH)
//
// A nil error means the manifest is valid.
func (m Manifest) Validate() error {
	v := &validator{}
	v.header(m)
	v.entrypoint(m)
	for i, a := range m.Args {
		if len(a) > MaxArgLen || strings.ContainsRune(a, 0) {
			v.addf("args[%d]: must be at most %d bytes without NUL", i, MaxArgLen)
			continue
		}
		_, err := substitute(a, func(name string) (string, bool) {
			return "", slices.ContainsFunc(m.Parameters, func(p Parameter) bool { return p.Name == name })
		})
		if err != nil {
			v.addf("args[%d] %q: %v", i, a, err)
		}
	}
	if len(m.Args) > MaxArgs {
		v.addf("args: %d arguments, more than %d", len(m.Args), MaxArgs)
	}
	v.platforms(m.Platforms)
	v.durations(m)
	v.parameters(m.Parameters)
	if m.History < 0 || m.History > MaxHistory {
		v.addf("history %d: must be between 1 and %d (0 or absent means %d)", m.History, MaxHistory, DefaultHistory)
	}
	if m.Classifier != "" {
		if _, err := packagePath(m.Classifier); err != nil {
			v.addf("classifier %q: %v", m.Classifier, err)
		}
	}
	v.trendRules(m)
	v.graphs(m.Graphs)
	return errors.Join(v.errs...)
}

// validator collects problems.
type validator struct{ errs []error }

func (v *validator) addf(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("manifest: "+format, args...))
}

// text checks a free-text field: at most max bytes, no control characters
// but newlines and tabs.
func (v *validator) text(field, s string, max int) {
	if len(s) > max {
		v.addf("%s: %d bytes, more than %d", field, len(s), max)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }) {
		v.addf("%s: must not contain control characters", field)
	}
}

func (v *validator) header(m Manifest) {
	if m.ManifestVersion != 0 && m.ManifestVersion != Version {
		v.addf("manifest_version %d: this Prophasis reads version %d", m.ManifestVersion, Version)
	}
	switch {
	case m.Name == "":
		v.addf("name: required")
	case !nameRE.MatchString(m.Name):
		v.addf("name %q: must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", m.Name, MaxNameLen)
	}
	switch {
	case m.Version == "":
		v.addf("version: required (a semantic version like 1.0.0)")
	case !ValidVersion(m.Version):
		v.addf("version %q: not a semantic version (MAJOR.MINOR.PATCH)", m.Version)
	}
	if strings.TrimSpace(m.Description) == "" {
		v.addf("description: required (one sentence: what the plugin measures)")
	}
	v.text("description", m.Description, MaxDescription)
	v.text("author", m.Author, maxShortText)
	if m.License != "" {
		v.license(m.License)
	}
	if m.Homepage != "" {
		u, err := url.Parse(m.Homepage)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(m.Homepage) > 1024 {
			v.addf("homepage %q: must be an http(s) URL", m.Homepage)
		}
	}
	if !slices.Contains(Kinds, m.Kind) {
		if m.Kind == "" {
			v.addf("kind: required (one of %s)", strings.Join(Kinds, ", "))
		} else {
			v.addf("kind %q: must be one of %s", m.Kind, strings.Join(Kinds, ", "))
		}
	}
}

// license checks an SPDX license expression's shape: identifiers joined
// by AND, OR and WITH, with parentheses. Whether an identifier is on the
// SPDX list is not checked.
func (v *validator) license(l string) {
	s := strings.NewReplacer("(", " ", ")", " ").Replace(l)
	tokens := strings.Fields(s)
	ok := len(tokens) > 0 && len(l) <= maxShortText && strings.Count(l, "(") == strings.Count(l, ")")
	for i, t := range tokens {
		op := t == "AND" || t == "OR" || t == "WITH"
		if op == (i%2 == 0) || !op && !licenseTokenRE.MatchString(t) {
			ok = false
		}
	}
	if len(tokens)%2 == 0 {
		ok = false
	}
	if !ok {
		v.addf("license %q: must be an SPDX license identifier or expression (MIT, Apache-2.0, GPL-2.0-or-later OR MIT)", l)
	}
}

// packagePath checks p is a relative path inside the package and returns
// it clean.
func packagePath(p string) (string, error) {
	c := path.Clean(strings.TrimPrefix(p, "./"))
	if p == "" || !fs.ValidPath(c) || c == "." || strings.ContainsAny(p, "\\\x00") || slices.Contains(strings.Split(p, "/"), "..") {
		return "", errors.New("must be a relative path inside the package, without '..'")
	}
	return c, nil
}

// EntrypointInPackage reports whether the entrypoint names a file of the
// package (rather than a program on the host or a builtin collector), and
// returns its clean path.
func (m Manifest) EntrypointInPackage() (string, bool) {
	if m.Kind == "builtin" || strings.HasPrefix(m.Entrypoint, "/") {
		return "", false
	}
	p, err := packagePath(m.Entrypoint)
	return p, err == nil
}

func (v *validator) entrypoint(m Manifest) {
	e := m.Entrypoint
	switch {
	case e == "":
		v.addf("entrypoint: required (a file in the package, an absolute path on the host, or for builtin the collector's name)")
	case m.Kind == "builtin":
		if !collectorRE.MatchString(e) {
			v.addf("entrypoint %q: a builtin plugin's entrypoint is a collector's name (lower case letters, digits, '_')", e)
		}
	case strings.HasPrefix(e, "/"):
		if path.Clean(e) != e || strings.ContainsAny(e, "\\\x00") || len(e) > 1024 {
			v.addf("entrypoint %q: an absolute path must be clean (no '..', '//', trailing '/')", e)
		}
	default:
		if _, err := packagePath(e); err != nil {
			v.addf("entrypoint %q: %v, or an absolute path on the host", e, err)
		}
	}
}

func (v *validator) platforms(ps []string) {
	if len(ps) > MaxPlatforms {
		v.addf("platforms: %d entries, more than %d", len(ps), MaxPlatforms)
	}
	seen := map[string]bool{}
	for i, p := range ps {
		goos, arch, ok := strings.Cut(p, "/")
		switch {
		case !ok || !slices.Contains(KnownOS, goos) || !slices.Contains(KnownArch, arch):
			v.addf("platforms[%d] %q: must be OS/ARCH as Go spells them (linux/amd64, linux/arm64, freebsd/amd64)", i, p)
		case seen[p]:
			v.addf("platforms[%d] %q: listed twice", i, p)
		}
		seen[p] = true
	}
}

func (v *validator) durations(m Manifest) {
	if m.Interval != "" {
		d, err := ParseDuration(m.Interval)
		switch {
		case err != nil:
			v.addf("interval %q: %v", m.Interval, err)
		case d < MinInterval || d > MaxInterval:
			v.addf("interval %q: must be between %s and %s", m.Interval, MinInterval, "31d")
		}
	}
	if m.Timeout != "" {
		d, err := ParseDuration(m.Timeout)
		switch {
		case err != nil:
			v.addf("timeout %q: %v", m.Timeout, err)
		case d <= 0 || d > MaxTimeout:
			v.addf("timeout %q: must be more than 0 and at most %s", m.Timeout, MaxTimeout)
		}
	}
}

func (v *validator) parameters(ps []Parameter) {
	if len(ps) > MaxParameters {
		v.addf("parameters: %d parameters, more than %d", len(ps), MaxParameters)
	}
	seen := map[string]bool{}
	for i, p := range ps {
		field := fmt.Sprintf("parameters[%d]", i)
		switch {
		case !paramNameRE.MatchString(p.Name):
			v.addf("%s.name %q: must match %s (lower case; it becomes PROPHASIS_PARAM_<NAME>)", field, p.Name, paramNameRE)
		case seen[p.Name]:
			v.addf("%s.name %q: declared twice", field, p.Name)
		}
		seen[p.Name] = true
		if !slices.Contains(ParamTypes, p.Type) {
			v.addf("%s.type %q: must be one of %s", field, p.Type, strings.Join(ParamTypes, ", "))
		} else if p.Default != nil {
			if _, err := p.defaultString(); err != nil {
				v.addf("%s.default of %q: %v", field, p.Name, err)
			}
		}
		v.text(field+".description", p.Description, MaxDescription)
	}
}

func (v *validator) trendRules(m Manifest) {
	rs := m.TrendRules
	if len(rs) > MaxTrendRules {
		v.addf("trend_rules: %d rules, more than %d", len(rs), MaxTrendRules)
	}
	seen := map[string]bool{}
	for i, r := range rs {
		field := fmt.Sprintf("trend_rules[%d]", i)
		switch {
		case !nameRE.MatchString(r.Name):
			v.addf("%s.name %q: must be 1 to %d letters, digits, '_', '.' or '-'", field, r.Name, MaxNameLen)
		case seen[r.Name]:
			v.addf("%s.name %q: used twice", field, r.Name)
		case len(m.Name)+1+len(r.Name) > maxStoreName:
			v.addf("%s.name %q: the server's name %q would be longer than %d bytes", field, r.Name, m.Name+"."+r.Name, maxStoreName)
		}
		seen[r.Name] = true
		if strings.TrimSpace(r.Selector) == "" {
			v.addf("%s.selector: required (a PromQL selector like prophasis_value{plugin=\"disk\"})", field)
		}
		v.text(field+".selector", r.Selector, maxExprLen)
		if d, err := ParseDuration(r.Window); err != nil || d <= 0 {
			v.addf("%s.window %q: must be a positive duration (like 6h)", field, r.Window)
		}
		if r.Interval != "" {
			if d, err := ParseDuration(r.Interval); err != nil || d <= 0 {
				v.addf("%s.interval %q: must be a positive duration (like 5m)", field, r.Interval)
			}
		}
		if strings.TrimSpace(r.Expr) == "" {
			v.addf("%s.expr: required (an expression yielding a state)", field)
		}
		v.text(field+".expr", r.Expr, maxExprLen)
		v.text(field+".description", r.Description, MaxDescription)
	}
}

func (v *validator) graphs(gs []Graph) {
	if len(gs) > MaxGraphs {
		v.addf("graphs: %d graphs, more than %d", len(gs), MaxGraphs)
	}
	seen := map[string]bool{}
	for i, g := range gs {
		field := fmt.Sprintf("graphs[%d]", i)
		switch {
		case g.Metric == "":
			v.addf(`%s.metric: required ("value", "state" or a metric the plugin returns)`, field)
		case !metricRE.MatchString(g.Metric):
			v.addf("%s.metric %q: must be \"value\", \"state\" or a metric name (letters, digits, '_')", field, g.Metric)
		case seen[g.Metric]:
			v.addf("%s.metric %q: has two graphs", field, g.Metric)
		}
		seen[g.Metric] = true
		if g.Unit != "" && !unitRE.MatchString(g.Unit) {
			v.addf("%s.unit %q: must be lower case letters, digits and '_' (percent, bytes, seconds)", field, g.Unit)
		}
		v.text(field+".help", g.Help, maxShortText)
		if !slices.Contains(Charts, g.Chart) {
			v.addf("%s.chart %q: must be one of %s", field, g.Chart, strings.Join(Charts, ", "))
		}
		for _, b := range []struct {
			name string
			p    *float64
		}{{"min", g.Min}, {"max", g.Max}} {
			if b.p != nil && (math.IsNaN(*b.p) || math.IsInf(*b.p, 0)) {
				v.addf("%s.%s: must be a finite number", field, b.name)
			}
		}
		if g.Min != nil && g.Max != nil && !(*g.Min < *g.Max) {
			v.addf("%s: min %g must be less than max %g", field, *g.Min, *g.Max)
		}
		if g.Chart == "gauge" && (g.Min == nil || g.Max == nil) {
			v.addf("%s: a gauge needs both min and max", field)
		}
	}
}

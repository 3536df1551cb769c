package munin

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/wire"
)

// Parse reads the two runs of a Munin plugin, "PLUGIN config" and the fetch,
// into the result's fields and the graphs' metadata. It never fails: a run it
// cannot make sense of yields an unknown result that says why. See the
// package documentation for names, status and message.
func Parse(config, fetch pluginout.Output) (pluginout.Parsed, Config) {
	var notes []string
	var cfg Config
	switch {
	case config.TimedOut:
		notes = append(notes, "config timed out, no metadata")
	case config.ExitCode != 0:
		notes = append(notes, failure("config failed", config)+", no metadata")
	default:
		var cnotes []string
		cfg, cnotes = ParseConfig(config.Stdout)
		notes = append(notes, cnotes...)
	}
	notes = append(notes, pluginout.CommonNotes(config)...)

	if fetch.TimedOut {
		p := pluginout.TimedOut(fetch)
		p.Notes = notes
		return p, cfg
	}
	if fetch.ExitCode != 0 {
		return pluginout.Parsed{
			Message:    failure("fetch failed", fetch),
			ExitStatus: pluginout.StatusUnknown,
			Notes:      notes,
		}, cfg
	}
	values, fnotes := ParseFetch(fetch.Stdout)
	p := Build(cfg, values)
	p.Notes = append(append(append(notes, pluginout.CommonNotes(fetch)...), fnotes...), p.Notes...)
	return p, cfg
}

// failure says why a run failed: its exit code and first stderr line.
func failure(what string, out pluginout.Output) string {
	msg := fmt.Sprintf("%s with exit code %d", what, out.ExitCode)
	if e := pluginout.StderrLine(out); e != "" {
		msg += ": " + e
	}
	return msg
}

// Build makes a result's fields of a fetch's values and the plugin's config:
// metrics, status, message and, for a single value, the value. Values of
// fields the config does not name are gauges.
func Build(cfg Config, values []Value) pluginout.Parsed {
	if len(values) == 0 {
		return pluginout.Parsed{Message: "plugin printed no values", ExitStatus: pluginout.StatusUnknown}
	}
	p := pluginout.Parsed{ExitStatus: pluginout.StatusOK}
	var alarms []string
	graphs := map[string]bool{}
	for _, v := range values {
		graphs[v.Graph] = true
		f := Field{Name: v.Field, Type: "GAUGE"}
		if g := cfg.Graph(v.Graph); g != nil {
			if cf := g.Field(v.Field); cf != nil {
				f = *cf
			}
		}
		m := wire.Metric{Name: pluginout.SanitizeName(v.Field), Value: v.Value, Counter: f.Counter()}
		if v.Graph != "" || m.Name != v.Field {
			m.Labels = map[string]string{}
			if v.Graph != "" {
				m.Labels["graph"] = v.Graph
			}
			if m.Name != v.Field {
				m.Labels["field"] = v.Field
			}
		}
		p.Metrics = append(p.Metrics, m)

		if f.Counter() || f.Cdef != "" {
			continue
		}
		status, alarm := check(f, v.Value)
		if status > p.ExitStatus {
			p.ExitStatus = status
		}
		if alarm != "" {
			alarms = append(alarms, alarm)
		}
	}
	switch {
	case len(alarms) > 0:
		if len(alarms) > 3 {
			alarms = append(alarms[:3], fmt.Sprintf("%d more", len(alarms)-3))
		}
		p.Message = strings.Join(alarms, "; ")
	case len(values) == 1:
		v := values[0]
		p.Message = fieldLabel(cfg, v) + ": " + formatValue(v.Value)
	case len(graphs) > 1:
		p.Message = fmt.Sprintf("%d graphs, %d values", len(graphs), len(values))
	default:
		title := "plugin"
		if g := cfg.Graph(values[0].Graph); g != nil && g.Title != "" {
			title = g.Title
		}
		p.Message = fmt.Sprintf("%s: %d values", title, len(values))
	}
	if len(values) == 1 {
		v := values[0].Value
		p.Value = &v
	}
	p.Message = pluginout.Text([]byte(p.Message), pluginout.MaxMessage)
	return p
}

// fieldLabel is the name to show for a value: the field's label, else its
// name.
func fieldLabel(cfg Config, v Value) string {
	if g := cfg.Graph(v.Graph); g != nil {
		if f := g.Field(v.Field); f != nil && f.Label != "" {
			return f.Label
		}
	}
	return v.Field
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// check compares a gauge's value with its critical and warning ranges and
// says which it is outside.
func check(f Field, v float64) (status int, alarm string) {
	label := f.Label
	if label == "" {
		label = f.Name
	}
	for _, t := range []struct {
		spec   string
		status int
		name   string
	}{{f.Critical, pluginout.StatusCritical, "critical"}, {f.Warning, pluginout.StatusWarning, "warning"}} {
		lo, hi, ok := parseRange(t.spec)
		if !ok {
			continue
		}
		if lo != nil && v < *lo {
			return t.status, fmt.Sprintf("%s: %s below %s %s", label, formatValue(v), t.name, formatValue(*lo))
		}
		if hi != nil && v > *hi {
			return t.status, fmt.Sprintf("%s: %s above %s %s", label, formatValue(v), t.name, formatValue(*hi))
		}
	}
	return pluginout.StatusOK, ""
}

// parseRange reads a Munin warning or critical range: "max", ":max", "min:"
// or "min:max". ok is false when spec is empty or unreadable.
func parseRange(spec string) (lo, hi *float64, ok bool) {
	if spec == "" {
		return nil, nil, false
	}
	num := func(s string) (*float64, bool) {
		if s == "" {
			return nil, true
		}
		v, ok := parseValue(s)
		if !ok || strings.Contains(s, ":") {
			return nil, false
		}
		return &v, true
	}
	loS, hiS, isRange := strings.Cut(spec, ":")
	if !isRange {
		hiS, loS = loS, ""
	}
	lo, okLo := num(loS)
	hi, okHi := num(hiS)
	if !okLo || !okHi || lo == nil && hi == nil {
		return nil, nil, false
	}
	return lo, hi, true
}

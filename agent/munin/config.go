package munin

import (
	"fmt"
	"strings"

	"github.com/prophasis/prophasis/agent/pluginout"
)

// maxText bounds one metadata text (a title, a label, an info line).
const maxText = 1024

// Config is what a plugin's "config" run says about its graphs: the metadata
// the server shows graphs with.
type Config struct {
	// Graphs in the order the plugin printed them; a plain plugin has one,
	// named "".
	Graphs []Graph
}

// Graph is one Munin graph.
type Graph struct {
	// Name is the multigraph name, "" for a plain plugin.
	Name     string
	Title    string // graph_title
	VLabel   string // graph_vlabel: what the vertical axis shows
	Args     string // graph_args, RRDtool options such as --base 1024 -l 0
	Category string // graph_category
	Info     string // graph_info
	// Fields in the order the plugin first named them.
	Fields []Field
}

// Field is one data source of a graph.
type Field struct {
	// Name is the field as the plugin names it.
	Name string
	// Type is GAUGE (the default), COUNTER, DERIVE or ABSOLUTE.
	Type string
	// Label, Info, Cdef, Min, Max, Warning and Critical are the field's
	// attributes as printed.
	Label, Info, Cdef, Min, Max, Warning, Critical string
}

// Counter reports whether the field's values only grow (COUNTER, DERIVE,
// ABSOLUTE), so graphs show their rate.
func (f Field) Counter() bool { return f.Type != "GAUGE" }

// Graph returns the graph called name, or nil.
func (c *Config) Graph(name string) *Graph {
	for i := range c.Graphs {
		if c.Graphs[i].Name == name {
			return &c.Graphs[i]
		}
	}
	return nil
}

// Field returns the field called name, or nil.
func (g *Graph) Field(name string) *Field {
	for i := range g.Fields {
		if g.Fields[i].Name == name {
			return &g.Fields[i]
		}
	}
	return nil
}

// ParseConfig reads the output of "PLUGIN config". It never fails: lines it
// cannot read are skipped and counted in notes. Values printed with the
// config (Munin's dirtyconfig) are ignored; the fetch run gives them.
func ParseConfig(b []byte) (Config, []string) {
	var (
		cfg      Config
		notes    []string
		current  = -1 // index of the graph lines go to
		fields   int
		unread   int
		badTypes []string
		tooMany  bool
	)
	graph := func() *Graph {
		if current < 0 {
			cfg.Graphs = append(cfg.Graphs, Graph{})
			current = 0
		}
		return &cfg.Graphs[current]
	}
	for _, line := range lines(b) {
		key, value := splitLine(line)
		switch {
		case key == "multigraph":
			name := pluginout.Text([]byte(value), maxText)
			if name == "" {
				unread++
				continue
			}
			current = -1
			for i := range cfg.Graphs {
				if cfg.Graphs[i].Name == name {
					current = i
				}
			}
			if current < 0 {
				if len(cfg.Graphs) >= pluginout.MaxMetrics {
					tooMany = true
					current = len(cfg.Graphs) - 1
					continue
				}
				cfg.Graphs = append(cfg.Graphs, Graph{Name: name})
				current = len(cfg.Graphs) - 1
			}
		case strings.HasPrefix(key, "graph_"):
			g := graph()
			text := pluginout.Text([]byte(value), maxText)
			switch key {
			case "graph_title":
				g.Title = text
			case "graph_vlabel":
				g.VLabel = text
			case "graph_args":
				g.Args = text
			case "graph_category":
				g.Category = text
			case "graph_info":
				g.Info = text
			}
		case strings.Contains(key, "."):
			name, attr, _ := strings.Cut(key, ".")
			if !validField(name) {
				unread++
				continue
			}
			g := graph()
			f := g.Field(name)
			if f == nil {
				if fields >= pluginout.MaxMetrics {
					tooMany = true
					continue
				}
				fields++
				g.Fields = append(g.Fields, Field{Name: name, Type: "GAUGE"})
				f = &g.Fields[len(g.Fields)-1]
			}
			text := pluginout.Text([]byte(value), maxText)
			switch attr {
			case "label":
				f.Label = text
			case "type":
				t := strings.ToUpper(text)
				switch t {
				case "GAUGE", "COUNTER", "DERIVE", "ABSOLUTE":
					f.Type = t
				default:
					badTypes = append(badTypes, name)
				}
			case "info":
				f.Info = text
			case "cdef":
				f.Cdef = text
			case "min":
				f.Min = text
			case "max":
				f.Max = text
			case "warning":
				f.Warning = text
			case "critical":
				f.Critical = text
			}
		case key == "graph", key == "host_name", key == "update_rate", key == "create_args":
			// Munin-master settings with no bearing on the values.
		default:
			unread++
		}
	}
	if unread > 0 {
		notes = append(notes, fmt.Sprintf("%d config lines unreadable", unread))
	}
	if len(badTypes) > 0 {
		notes = append(notes, fmt.Sprintf("unknown field type of %s, read as GAUGE", strings.Join(badTypes, ", ")))
	}
	if tooMany {
		notes = append(notes, fmt.Sprintf("config has more than %d fields or graphs, the rest ignored", pluginout.MaxMetrics))
	}
	return cfg, notes
}

// lines splits output into lines without their line ends, dropping blank
// lines and # comments.
func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// splitLine cuts a line into its key (up to the first blank) and value.
func splitLine(line string) (key, value string) {
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return line, ""
	}
	return line[:i], strings.TrimSpace(line[i+1:])
}

// validField reports whether s can be a Munin field name: Munin's own rule is
// [a-zA-Z_][a-zA-Z0-9_]*, but plugins in the wild print other characters too;
// those are accepted and sanitised into metric names, as long as the name is
// valid UTF-8 without control characters and of bounded length.
func validField(s string) bool {
	return s != "" && len(s) <= pluginout.MaxNameLen && pluginout.Text([]byte(s), pluginout.MaxNameLen) == s && !strings.ContainsAny(s, " ")
}

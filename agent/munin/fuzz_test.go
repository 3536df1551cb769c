package munin

import (
	"math"
	"testing"
	"unicode/utf8"

	"github.com/prophasis/prophasis/agent/pluginout"
)

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(dfConfig))
	f.Add([]byte("multigraph a\ngraph_title A\nx.type DERIVE\nx.label \xffx\nmultigraph\nmultigraph.label m\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, _ := ParseConfig(b)
		fields := 0
		for _, g := range cfg.Graphs {
			for _, s := range []string{g.Name, g.Title, g.VLabel, g.Args, g.Category, g.Info} {
				if !utf8.ValidString(s) || len(s) > maxText {
					t.Fatalf("graph text %q", s)
				}
			}
			for _, fl := range g.Fields {
				fields++
				switch fl.Type {
				case "GAUGE", "COUNTER", "DERIVE", "ABSOLUTE":
				default:
					t.Fatalf("field %q has type %q", fl.Name, fl.Type)
				}
				if !utf8.ValidString(fl.Name) || !utf8.ValidString(fl.Label) {
					t.Fatalf("field %q label %q not UTF-8", fl.Name, fl.Label)
				}
			}
		}
		if fields > pluginout.MaxMetrics || len(cfg.Graphs) > pluginout.MaxMetrics {
			t.Fatalf("%d fields, %d graphs above the limit", fields, len(cfg.Graphs))
		}
	})
}

func FuzzParseFetch(f *testing.F) {
	f.Add([]byte("load.value 0.52\n"), []byte("load.label load\nload.warning 1:2\nload.critical :3\n"))
	f.Add([]byte("multigraph a\nx.value 1\nmultigraph b\nx.value U\ny.value 1700000000:2\n"), []byte("multigraph a\nx.type COUNTER\n"))
	f.Add([]byte("a-b.value NaN\n\xff.value 1\n"), []byte("a-b.critical x:y\n"))
	f.Fuzz(func(t *testing.T, fetch, config []byte) {
		values, _ := ParseFetch(fetch)
		if len(values) > pluginout.MaxMetrics {
			t.Fatalf("%d values above the limit", len(values))
		}
		for _, v := range values {
			if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
				t.Fatalf("value %v of %q", v.Value, v.Field)
			}
		}
		p, _ := Parse(pluginout.Output{Stdout: config}, pluginout.Output{Stdout: fetch})
		if p.ExitStatus < 0 || p.ExitStatus > 3 || !utf8.ValidString(p.Message) || p.Message == "" {
			t.Fatalf("status %d message %q", p.ExitStatus, p.Message)
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

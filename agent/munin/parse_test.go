package munin

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/wire"
)

const dfConfig = `graph_title Disk usage in percent
graph_args --upper-limit 100 -l 0
graph_vlabel %
graph_scale no
graph_category disk
_dev_vda.label /
_dev_vda.warning 92
_dev_vda.critical 98
_dev_shm.label /dev/shm
_dev_shm.warning 92
_dev_shm.critical :98
`

func TestParseConfig(t *testing.T) {
	cfg, notes := ParseConfig([]byte(dfConfig + "junk line\n# a comment\n\nhost_name foo\n"))
	want := Config{Graphs: []Graph{{
		Title: "Disk usage in percent", VLabel: "%", Args: "--upper-limit 100 -l 0", Category: "disk",
		Fields: []Field{
			{Name: "_dev_vda", Type: "GAUGE", Label: "/", Warning: "92", Critical: "98"},
			{Name: "_dev_shm", Type: "GAUGE", Label: "/dev/shm", Warning: "92", Critical: ":98"},
		},
	}}}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("ParseConfig:\n%+v\nwant\n%+v", cfg, want)
	}
	if len(notes) != 1 || notes[0] != "1 config lines unreadable" {
		t.Fatalf("notes %q, want one unreadable line", notes)
	}

	cfg, notes = ParseConfig([]byte(`multigraph if_eth0
graph_title eth0 traffic
down.label received
down.type DERIVE
down.cdef down,8,*
up.type counter
multigraph if_eth0.errors
graph_title eth0 errors
rcvd.type ABSOLUTE
odd.type FLOAT
multigraph.label not a multigraph line but a field
multigraph if_eth0
graph_info back to the first graph
`))
	want = Config{Graphs: []Graph{
		{Name: "if_eth0", Title: "eth0 traffic", Info: "back to the first graph", Fields: []Field{
			{Name: "down", Type: "DERIVE", Label: "received", Cdef: "down,8,*"},
			{Name: "up", Type: "COUNTER"},
		}},
		{Name: "if_eth0.errors", Title: "eth0 errors", Fields: []Field{
			{Name: "rcvd", Type: "ABSOLUTE"},
			{Name: "odd", Type: "GAUGE"},
			{Name: "multigraph", Type: "GAUGE", Label: "not a multigraph line but a field"},
		}},
	}}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("ParseConfig multigraph:\n%+v\nwant\n%+v", cfg, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "odd") {
		t.Fatalf("notes %q, want one on the unknown type of odd", notes)
	}
}

func TestParseFetch(t *testing.T) {
	f := func(in string, want []Value, wantNotes ...string) {
		t.Helper()
		got, notes := ParseFetch([]byte(in))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseFetch(%q) = %+v, want %+v", in, got, want)
		}
		if !reflect.DeepEqual(notes, wantNotes) {
			t.Errorf("ParseFetch(%q) notes %q, want %q", in, notes, wantNotes)
		}
	}
	f("load.value 0.52\n", []Value{{Field: "load", Value: 0.52}})
	f("a.value 1\r\nb.value -2.5e3\nc.value 1700000000:7\n", []Value{{Field: "a", Value: 1}, {Field: "b", Value: -2500}, {Field: "c", Value: 7}})
	f("a.value U\nb.value 2\n", []Value{{Field: "b", Value: 2}}, "value unknown (U): a")
	f("a.value NaN\nb.value inf\nc.value 0x10\nd.value 1e999\ne.value\nf.value 3\n", []Value{{Field: "f", Value: 3}}, "5 fetch lines unreadable")
	f("garbage\n.value 1\na.extinfo some text\na.value 1\na.value 2\n", []Value{{Field: "a", Value: 1}}, "3 fetch lines unreadable")
	f("multigraph g1\nx.value 1\n\nmultigraph g1.sub\nx.value 2\n", []Value{{Graph: "g1", Field: "x", Value: 1}, {Graph: "g1.sub", Field: "x", Value: 2}})
	f("", nil)
}

func TestParse(t *testing.T) {
	ok := func(s string) pluginout.Output { return pluginout.Output{Stdout: []byte(s)} }
	f := func(config, fetch pluginout.Output, wantMsg string, wantStatus int, wantNotes int) pluginout.Parsed {
		t.Helper()
		p, _ := Parse(config, fetch)
		if p.Message != wantMsg || p.ExitStatus != wantStatus || len(p.Notes) != wantNotes {
			t.Errorf("Parse(%q, %q) = %q, status %d, notes %q; want %q, %d, %d notes",
				config.Stdout, fetch.Stdout, p.Message, p.ExitStatus, p.Notes, wantMsg, wantStatus, wantNotes)
		}
		return p
	}
	// A single value is the message and the result's value.
	p := f(ok("graph_title Load average\nload.label load\n"), ok("load.value 0.52\n"), "load: 0.52", 0, 0)
	if p.Value == nil || *p.Value != 0.52 {
		t.Errorf("value %v, want 0.52", p.Value)
	}
	if want := []wire.Metric{{Name: "load", Value: 0.52}}; !reflect.DeepEqual(p.Metrics, want) {
		t.Errorf("metrics %+v, want %+v", p.Metrics, want)
	}
	// Thresholds: critical beats warning; ranges both ways.
	f(ok(dfConfig), ok("_dev_vda.value 50\n_dev_shm.value 10\n"), "Disk usage in percent: 2 values", 0, 0)
	f(ok(dfConfig), ok("_dev_vda.value 93\n_dev_shm.value 10\n"), "/: 93 above warning 92", 1, 0)
	f(ok(dfConfig), ok("_dev_vda.value 93\n_dev_shm.value 99\n"), "/: 93 above warning 92; /dev/shm: 99 above critical 98", 2, 0)
	f(ok("t.warning 10:20\nt.critical 5:\n"), ok("t.value 7\n"), "t: 7 below warning 10", 1, 0)
	f(ok("t.warning 10:20\nt.critical 5:\n"), ok("t.value 4\n"), "t: 4 below critical 5", 2, 0)
	// Counters and cdef'd fields are not checked: Munin compares their rate.
	p = f(ok("c.type DERIVE\nc.critical 10\nd.cdef d,8,*\nd.critical 1\n"), ok("c.value 100\nd.value 100\n"), "plugin: 2 values", 0, 0)
	if !p.Metrics[0].Counter || p.Metrics[1].Counter || p.Value != nil {
		t.Errorf("metrics %+v value %v: want c a counter, d not, no value", p.Metrics, p.Value)
	}
	// Multigraph: the graph name is a label.
	p = f(ok("multigraph a\nx.type COUNTER\nmultigraph b\nx.label X\n"), ok("multigraph a\nx.value 1\nmultigraph b\nx.value 2\n"), "2 graphs, 2 values", 0, 0)
	want := []wire.Metric{
		{Name: "x", Labels: map[string]string{"graph": "a"}, Value: 1, Counter: true},
		{Name: "x", Labels: map[string]string{"graph": "b"}, Value: 2},
	}
	if !reflect.DeepEqual(p.Metrics, want) {
		t.Errorf("multigraph metrics %+v, want %+v", p.Metrics, want)
	}
	// Field names that are no Prometheus names are sanitised, the original kept.
	p = f(ok(""), ok("1st-field.value 3\n"), "1st-field: 3", 0, 0)
	if want := []wire.Metric{{Name: "_1st_field", Labels: map[string]string{"field": "1st-field"}, Value: 3}}; !reflect.DeepEqual(p.Metrics, want) {
		t.Errorf("metrics %+v, want %+v", p.Metrics, want)
	}
	// Failures.
	f(ok("load.label load\n"), pluginout.Output{ExitCode: 1, Stderr: []byte("cannot read /proc/loadavg\n")},
		"fetch failed with exit code 1: cannot read /proc/loadavg", 3, 0)
	f(ok(""), pluginout.Output{TimedOut: true, Timeout: 5 * time.Second}, "plugin timed out after 5s", 3, 0)
	f(ok(""), ok(""), "plugin printed no values", 3, 0)
	f(ok(""), ok("a.value U\n"), "plugin printed no values", 3, 1)
	f(ok(""), ok("\xff\x00garbage\n"), "plugin printed no values", 3, 1)
	// A failed config keeps the values, as gauges.
	p = f(pluginout.Output{ExitCode: 2, Stderr: []byte("oops")}, ok("load.value 1\n"), "load: 1", 0, 1)
	if p.Notes[0] != "config failed with exit code 2: oops, no metadata" {
		t.Errorf("note %q", p.Notes[0])
	}
	f(pluginout.Output{TimedOut: true}, ok("load.value 1\n"), "load: 1", 0, 1)
}

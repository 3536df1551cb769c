// Package munin reads the output of unchanged Munin plugins into the fields
// of a result, plus the graph metadata Munin keeps beside the values. The
// agent's runner imports it; it imports only wire and agent/pluginout.
//
// The runner runs a plugin twice, as munin-node does: "PLUGIN config", read
// by [ParseConfig], then "PLUGIN" (fetch), read by [ParseFetch]; [Parse]
// takes both runs and returns the result's fields and the [Config]. [Env] is
// the environment the plugins expect from munin-node.
//
// # Metrics
//
// Each FIELD.value line becomes a metric named after the field (sanitised to
// the Prometheus rules when needed, with the original kept as field="..."). A
// multigraph plugin ("multigraph NAME" lines split the output into several
// graphs) labels each metric graph="NAME"; a plain plugin adds no label.
// Fields of type COUNTER, DERIVE or ABSOLUTE are counters (Counter: true), so
// graphs show them as rates; GAUGE, the default, is a plain value. Munin has
// no units, so metrics have none; graph_vlabel says what the axis means. A
// value of U (unknown) is skipped and noted. A plugin with a single value
// reports it as the result's value too.
//
// # Metadata
//
// graph_title, graph_vlabel, graph_args, graph_category, graph_info and, per
// field, label, type, cdef, info, min, max, warning and critical are kept in
// the returned [Config], one [Graph] per graph, for the server to title and
// label graphs with. cdef is kept, not evaluated.
//
// # Status and message
//
// The exit status is ok unless: the fetch failed (non-zero exit, timeout, no
// values at all) → unknown, with the exit code and first stderr line; or a
// GAUGE value without a cdef is outside its field's critical range → critical,
// else outside its warning range → warning. Ranges are Munin's: "max",
// ":max", "min:" or "min:max". Counters are not checked, since Munin compares
// their rate, which needs the previous run. A failed config run does not spoil
// the result: its values are kept as gauges, and a note says so.
//
// The message names the fields out of range ("/: 99.1 above critical 98"),
// else gives the single value ("load: 0.52"), else sums up
// ("CPU usage: 9 values", "meminfo: 12 graphs, 80 values").
package munin

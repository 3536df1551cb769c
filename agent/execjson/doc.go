// Package execjson reads the output of "exec" plugins: any executable that
// prints one JSON object, the simplest way to write a plugin in any language.
// The agent's runner imports it; it imports only wire, agent/pluginout and
// the standard library.
//
// The object:
//
//	{
//	  "value":   3.5,                 // number or null; optional
//	  "message": "3 jobs queued",     // optional
//	  "metrics": {"queued": 3, "failed": 0},
//	  "status":  "warning"            // ok|warning|critical|unknown; optional
//	}
//
// "metrics" is either an object of name → number, kept in the order printed,
// or a list of {"name", "labels", "value", "unit", "counter"} objects for
// metrics with labels (name and value required). Names and label names follow
// the Prometheus rules ([a-zA-Z_][a-zA-Z0-9_]*, label names not starting with
// "__"); a unit is a lowercase word (seconds, bytes, percent).
//
// Reading is strict, so a plugin's author sees a mistake on the first run
// rather than a quietly missing metric: an unknown field, a value of the wrong
// type, a bad name, a metric repeated, more than pluginout.MaxMetrics
// metrics, anything after the object, or output that is not JSON at all
// makes the result unknown, its message naming the problem (and quoting the
// first 200 bytes of output that is not JSON). JSON cannot carry NaN or
// infinities, and numbers too large for a float64 are refused, so every value
// is finite.
//
// Status. "status" is the plugin's verdict when present. Without it, the exit
// code is, as for Nagios plugins: 0 ok, 1 warning, 2 critical, 3 unknown, any
// other code unknown with a note. A non-zero exit without a valid object is
// unknown, and the message gives the code and the first stderr line.
package execjson

// Package nagios reads the output of unchanged Nagios plugins (the
// monitoring-plugins check_* family and anything written to the Nagios plugin
// API, https://nagios-plugins.org/doc/guidelines.html#AEN200) into the fields
// of a result. The agent's runner imports it; it imports only wire and
// agent/pluginout.
//
// # Status and message
//
// Exit codes 0, 1, 2 and 3 are the plugin's own verdict (ok, warning,
// critical, unknown) and become the result's exit status. Any other code
// (127: command not found, -1: killed by a signal) is unknown, and the
// message says the code. The message is the first line of the output up to
// the first '|', trimmed, cleaned to valid UTF-8 and bounded; a plugin that
// printed nothing says so (with its first stderr line, if any).
//
// # Performance data
//
// Perfdata is everything after the first '|' of line one, plus, in the long
// output (lines two on), everything after the first '|' found there and all
// lines after it. Items are 'label'=value[UOM];[warn];[crit];[min];[max],
// separated by spaces; a label may be single-quoted, with spaces inside and
// a doubled single quote standing for one. See [ParsePerfdata].
//
// Metric names. A label that already is a Prometheus name (load1, procs,
// users) is the metric's name. A label starting with '/' is a path (check_disk
// reports one item per mount point): the metric is named "path" and labelled
// label="/var", so all mounts are one series family. Any other label (time
// taken, rta-ms) is sanitised to a name (time_taken) and also kept as
// label="...", so the original text is never lost.
//
// Units are normalised to base units: s, ms, us, ns → seconds; B, KB, MB, GB,
// TB, PB (and KiB … PiB) → bytes, in steps of 1024 as Nagios plugins mean
// them; % → unit "percent", value unchanged; c → a counter; no UOM → a plain
// value. A decimal comma (plugins run in some locales print 0,98) is read as
// a point. An unknown UOM keeps the value unscaled without a unit, and is
// noted. Thresholds, min and max are scaled like the value.
//
// Thresholds. warn, crit, min and max become extra metrics <name>_warn,
// <name>_crit, <name>_min and <name>_max (same labels) when they are numbers.
// A Nagios range (10:20, @10:20, 10:, ~:10) yields one number: its upper end
// when that is finite, else its lower end (10: alerts below 10, so 10 is the
// line to draw); ~: alone yields nothing. This keeps the common "alert above
// N" threshold exact and gives graphs one line per threshold.
//
// Malformed items (a value of U, NaN, Inf, garbage, an unbalanced quote, a
// value overflowing after scaling) are skipped and noted; the rest of the
// result stands. The result's value is the first item's value, so
// check_procs, check_users and check_load report procs, users and load1 as
// their main value.
package nagios

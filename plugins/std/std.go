// Package std is Prophasis's standard library of plugins, shipped with the
// server: one directory per plugin, each a plugin package's tree (see
// plugins/manifest) with manifest.json, classifier.lua, README.md,
// tests/history.json (a fixture the classifier must pass) and, for exec
// plugins, the script under bin/.
//
//	builtin  cpu memory load disk network uptime users processes
//	         (the agent's collectors; the package adds classifier, graphs, docs)
//	nagios   process (check_procs) tcp (check_tcp), Debian's monitoring-plugins
//	exec     swap diskio systemd journal http dns ntp mdraid smart (POSIX sh)
//
// FS holds the directories as they are in the source tree. go:embed does not
// keep file modes: every file in FS reads as 0444. Whoever packs a plugin
// from FS must restore the mode of its scripts: files under bin/ are
// executables and are packed 0755 (the rest 0644). The tests in this
// directory check each plugin's manifest, replay its fixture through its
// classifier, and run every exec and nagios plugin on the test machine.
package std

import "embed"

// FS holds the standard plugins, one directory per plugin at its root.
//
//go:embed cpu memory swap load disk diskio network uptime users processes
//go:embed process systemd journal http tcp dns ntp mdraid smart
var FS embed.FS
